"""Rankings and the monthly assessment (月度考核), from the exact KPIs."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy.orm import Session

from civicgrid.stats import service as stats_service

COLUMNS = [
    ("name", "单位"),
    ("registered", "立案数"),
    ("due", "应结案数"),
    ("closed", "结案数"),
    ("closure_rate", "结案率"),
    ("on_time", "按时完成数"),
    ("on_time_rate", "按时完成率"),
    ("extension_rate", "延期率"),
    ("rework_rate", "返工率"),
    ("satisfaction_rate", "满意率"),
    ("composite", "综合指标值"),
    ("grade", "等级"),
]


def ranking(
    session: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    group_by: str,
    now: dt.datetime | None = None,
) -> dict:
    """Groups (streets or units) ranked by the composite, best first; groups whose composite is
    null (nothing due yet) come last, unranked."""
    report = stats_service.kpis(session, start=start, end=end, group_by=group_by, now=now)
    rows = report["rows"]
    ranked = sorted(
        (r for r in rows if r["composite"] is not None), key=lambda r: (-r["composite"], r["key"])
    )
    unranked = sorted((r for r in rows if r["composite"] is None), key=lambda r: r["key"])
    place = 0
    previous = None
    for i, row in enumerate(ranked, start=1):
        if row["composite"] != previous:
            place = i
            previous = row["composite"]
        row["rank"] = place
    for row in unranked:
        row["rank"] = None
    return {**report, "rows": ranked + unranked}


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    from civicgrid.kit.errors import BadRequest
    from civicgrid.kit.timefmt import check_year, local_zone

    try:
        first = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=local_zone())
    except ValueError:
        raise BadRequest(
            "月份格式应为 年-月, 如 2026-03", "month must be YYYY-MM, e.g. 2026-03"
        ) from None
    check_year(first, "month", month)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return first, nxt


def percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def assessment_xlsx(report: dict, title: str) -> bytes:
    """The monthly assessment in the form districts publish it."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from civicgrid.kit.sheets import xlsx_append

    wb = Workbook()
    ws = wb.active
    ws.title = "月度考核"
    xlsx_append(ws, [title])
    ws["A1"].font = Font(bold=True, size=14)
    xlsx_append(
        ws,
        [
            f"统计期间: {report['start'][:10]} 至 {report['end'][:10]} (不含), "
            f"截止 {report['cutoff']}"
        ],
    )
    xlsx_append(ws, ["排名"] + [zh for _, zh in COLUMNS])
    for row in report["rows"]:
        xlsx_append(ws, [row["rank"]] + [row[key] for key, _ in COLUMNS])
    total = report["total"]
    xlsx_append(ws, ["合计", "全区"] + [total[key] for key, _ in COLUMNS[1:]])
    for cells in ws.iter_rows(min_row=4):
        for cell in cells:
            if isinstance(cell.value, float) and cell.column_letter != "L":
                cell.number_format = "0.0%"
            cell.alignment = Alignment(horizontal="center")
    for row in ws.iter_rows(min_row=4):
        composite = row[11]
        if isinstance(composite.value, float):
            composite.number_format = "0.00"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
