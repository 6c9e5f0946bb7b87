"""User-facing words: Chinese first, English available (cookie `lang`)."""

from __future__ import annotations

from fastapi import Request

WORDS: dict[str, tuple[str, str]] = {
    "app": ("城市管理监督平台", "City management supervision"),
    "report": ("我要上报", "Report a problem"),
    "track": ("查询进度", "Track a report"),
    "console": ("工作台", "Console"),
    "board": ("指挥调度", "Dispatch board"),
    "directory": ("通讯录", "Directory"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "category": ("问题类别", "Category"),
    "category_search": (
        "搜索类别 (名称或拼音首字母, 如 bllj = 暴露垃圾)",
        "Search (name or pinyin initials)",
    ),
    "photo": ("照片", "Photo"),
    "location": ("位置", "Location"),
    "use_my_location": ("使用我的位置", "Use my location"),
    "tap_map": ("或在地图上点选位置", "or tap the map"),
    "address": ("地址", "Address"),
    "description": ("问题描述", "Description"),
    "phone": ("手机号 (选填, 仅工作人员可见)", "Phone (optional, staff only)"),
    "submit": ("提交", "Submit"),
    "submitted": ("已提交, 案件编号", "Submitted. Case code"),
    "track_link": ("查询链接 (请保存)", "Tracking link (keep it)"),
    "timeline": ("处理过程", "Timeline"),
    "state": ("状态", "State"),
    "unit": ("处置单位", "Unit"),
    "deadline": ("处置时限", "Deadline"),
    "rate": ("评价", "Rate"),
    "comment": ("意见", "Comment"),
    "thanks": ("感谢您的评价", "Thank you"),
    "queue": ("待办", "Queue"),
    "search": ("搜索", "Search"),
    "code": ("编号", "Code"),
    "reported_at": ("上报时间", "Reported"),
    "light": ("亮灯", "Light"),
    "actions": ("可执行操作", "Actions"),
    "note": ("说明", "Note"),
    "note_public": ("公开 (市民可见)", "Public (the citizen sees it)"),
    "photos": ("照片", "Photos"),
    "stage_report": ("处置前", "Before"),
    "stage_done": ("处置后", "After"),
    "stage_verify": ("核查", "Verification"),
    "rating": ("评价", "Rating"),
    "urges": ("督办", "Urges"),
    "by_citizen": ("市民", "Citizen"),
    "by_system": ("系统", "System"),
    "by_import": ("导入", "Import"),
    "no_cases": ("暂无案件", "No cases"),
    "people": ("人员", "People"),
    "org_tree": ("组织机构", "Organisation"),
    "illustrative": (
        "街道、社区和网格边界为示意",
        "Street, community and grid boundaries are illustrative",
    ),
    "counts_by_street": ("各街道在办案件", "Open cases by street"),
    "refreshed": ("自动刷新", "Refreshes itself"),
    "language": ("English", "中文"),
    "before": ("处置前", "Before"),
    "after": ("处置后", "After"),
    "contact": ("上报人", "Reporter"),
    "home": ("返回首页", "Home"),
    "track_how": (
        "请输入上报成功时得到的案件编号和查询码 (查询链接中 s= 之后的部分)。",
        "Enter the case code and the tracking secret you were given when you reported "
        "(the part after s= in the tracking link).",
    ),
    "track_secret": ("查询码", "Tracking secret"),
    "next_page": ("下一页", "Next page"),
    "first_page": ("第一页", "First page"),
    "total": ("共计", "Total"),
    "sort_by": ("排序", "Sort"),
    "sort_deadline": ("按期限", "By deadline"),
    "sort_reported": ("按上报时间", "By reported time"),
    "sort_light": ("按亮灯", "By light"),
    "search_all": ("在全部可见案件中的搜索结果", "Search results among all cases you may see"),
    "search_hint": ("编号/地址/描述", "code/address/words"),
    "search_hint_phone": ("编号/地址/描述/电话", "code/address/words/phone"),
}


def lang_of(request: Request) -> str:
    return "en" if request.cookies.get("lang") == "en" else "zh"


def translator(lang: str):
    index = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = WORDS.get(key)
        return pair[index] if pair else key

    return t
