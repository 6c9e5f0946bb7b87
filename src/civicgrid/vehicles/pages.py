"""Vehicle tracks' pages: the fleet (with the administrators' entry and import) and a
vehicle-day's playback."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicgrid.auth.deps import PageUser
from civicgrid.kit.db import utcnow
from civicgrid.kit.http import AppSettings, DbSession, RowId
from civicgrid.kit.timefmt import local_zone
from civicgrid.vehicles import queries, reports, service
from civicgrid.web.i18n import lang_of
from civicgrid.web.layout import render

router = APIRouter(include_in_schema=False)

# This domain's words (zh, en); the header's are web.i18n's.
WORDS: dict[str, tuple[str, str]] = {
    "title": ("车辆轨迹", "Vehicle tracks"),
    "fleet": ("车辆", "Fleet"),
    "plate": ("车牌号", "Plate"),
    "type": ("车辆类型", "Type"),
    "unit": ("所属单位", "Unit"),
    "capacity": ("容积 (m³)", "Capacity (m³)"),
    "terminal": ("终端号", "Terminal"),
    "last_seen": ("最后定位", "Last seen"),
    "never": ("从未定位", "never"),
    "ago_min": ("分钟前", "min ago"),
    "ago_hour": ("小时前", "h ago"),
    "ago_day": ("天前", "d ago"),
    "playback": ("轨迹回放", "Playback"),
    "day": ("日期", "Day"),
    "show": ("查看", "Show"),
    "add_vehicle": ("登记车辆", "Register a vehicle"),
    "import": ("从 Excel 导入", "Import from Excel"),
    "template": ("下载模板", "Download the template"),
    "save": ("保存", "Save"),
    "summary": ("概要", "Summary"),
    "distance": ("里程", "Distance"),
    "moving": ("行驶时长", "Moving"),
    "parked": ("停车时长", "Parked"),
    "max_speed": ("最高速度", "Max speed"),
    "avg_speed": ("平均速度", "Average speed"),
    "trips": ("行程", "Trips"),
    "stops": ("停车", "Stops"),
    "start": ("开始", "Start"),
    "end": ("结束", "End"),
    "arrival": ("到达", "Arrival"),
    "departure": ("离开", "Departure"),
    "duration": ("时长", "Duration"),
    "open": ("进行中", "open"),
    "play": ("播放", "Play"),
    "pause": ("暂停", "Pause"),
    "speed_factor": ("倍速 (1× = 每秒 1 分钟)", "Speed (1× = a minute a second)"),
    "follow": ("跟随车辆", "Follow the vehicle"),
    "print": ("打印", "Print"),
    "report_xlsx": ("下载报表 (xlsx)", "Report (xlsx)"),
    "no_fixes": ("当天没有定位数据", "No fixes on this day"),
    "fixes": ("定位点", "Fixes"),
    "saved": ("已保存", "Saved"),
    "failed": ("失败", "Failed"),
}


def words(request: Request) -> dict[str, str]:
    index = 1 if lang_of(request) == "en" else 0
    return {key: pair[index] for key, pair in WORDS.items()}


def _age(w: dict[str, str], when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return w["never"]
    minutes = max(0, int((now - when).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} {w['ago_min']}"
    if minutes < 1440:
        return f"{minutes // 60} {w['ago_hour']}"
    return f"{minutes // 1440} {w['ago_day']}"


@router.get("/vehicles", response_class=HTMLResponse)
def fleet(request: Request, session: DbSession, user: PageUser) -> HTMLResponse:
    """The fleet with each vehicle's last fix; administrators register and import here."""
    w = words(request)
    found = service.vehicles(session)
    units = service.unit_codes_by_id(session, {v.org_unit_id for v in found})
    last: dict[int, dt.datetime] = {}
    for item in queries.live_positions(session):
        if item["vehicle_id"] and (
            item["vehicle_id"] not in last or item["time"] > last[item["vehicle_id"]]
        ):
            last[item["vehicle_id"]] = item["time"]
    now = utcnow()
    rows = [
        {
            "id": v.id,
            "plate": v.plate,
            "type": v.type.name,
            "unit": units[v.org_unit_id][1],
            "capacity": v.capacity_m3,
            "last_seen": _age(w, last.get(v.id), now),
        }
        for v in found
    ]
    today = now.astimezone(local_zone()).date().isoformat()
    return render(
        request,
        "vehicles.html",
        user,
        w=w,
        rows=rows,
        today=today,
        is_admin=user.has_role("admin"),
        types=service.vehicle_types(session),
    )


@router.get("/vehicles/{vehicle_id}/playback", response_class=HTMLResponse)
def playback(
    request: Request,
    session: DbSession,
    user: PageUser,
    settings: AppSettings,
    vehicle_id: RowId,
    day: str | None = None,
) -> HTMLResponse:
    """A vehicle-day on the map: track, stops, trips, summary and play at 1×–20×."""
    vehicle = service.get_vehicle(session, vehicle_id)
    day = day or utcnow().astimezone(local_zone()).date().isoformat()
    reports.period(day, None, None)  # a bad day is a 400 here, not in the script
    return render(
        request,
        "playback.html",
        user,
        w=words(request),
        vehicle=vehicle,
        day=day,
        data={
            "vehicle": vehicle.id,
            "day": day,
            "tiles": settings.tile_url,
            "datum": settings.tile_datum,
            "words": words(request),
        },
    )
