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
    "command": ("信息中心", "Command centre"),
    "stats": ("统计", "Statistics"),
    "admin": ("管理", "Admin"),
    "menu": ("菜单", "Menu"),
    "left": ("剩余", "Time left"),
    "time_left": ("剩", "remaining"),
    "time_over": ("超时", "late by"),
    "unit_day": ("天", "d"),
    "unit_hour": ("小时", "h"),
    "unit_minute": ("分", "min"),
    "no_light": ("无灯", "no light"),
    "green": ("绿灯", "green"),
    "yellow": ("黄灯", "yellow"),
    "red": ("红灯", "red"),
    "street": ("街道", "Street"),
    "total_sum": ("合计", "Total"),
    "working_hours": ("工作时", "working hours"),
    "natural_hours": ("自然时", "natural hours"),
    "working_days": ("工作日", "working days"),
    "urgency_normal": ("一般", "normal"),
    "urgency_urgent": ("紧急", "urgent"),
    "urgency": ("紧急程度", "Urgency"),
    "limit": ("时限", "Limit"),
    "limit_unit": ("计时方式", "Unit"),
    "all_categories": ("全部类别 (默认)", "all categories (default)"),
    "latest_reports": ("最新上报", "Latest reports"),
    "street_ranking": ("本月街道排名", "Street ranking this month"),
    "rank": ("排名", "Rank"),
    "composite": ("综合指标值", "Composite"),
    "grade": ("等级", "Grade"),
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
    "photos": ("照片", "Photos"),
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
    "entry": ("案件录入", "Enter a case"),
    "entry_supervisor": ("网格员上报", "Patrol report"),
    "entry_hotline": ("热线来电录入", "Hotline call"),
    "caller_phone": ("来电号码", "Caller's phone"),
    "caller_name": ("来电人姓名", "Caller's name"),
    "callback": ("来电人希望回电", "The caller wishes to be called back"),
    "caller_history": ("来电人历史案件", "The caller's earlier cases"),
    "caller_history_hint": ("输入来电号码后显示", "Shown once the phone is typed"),
    "caller_history_none": ("没有该号码的历史案件", "No earlier cases from this phone"),
    "entered": ("已录入, 案件编号", "Entered. Case code"),
    "entry_again": ("继续录入", "Enter another"),
}


def lang_of(request: Request) -> str:
    return "en" if request.cookies.get("lang") == "en" else "zh"


def translator(lang: str):
    index = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = WORDS.get(key)
        return pair[index] if pair else key

    return t
