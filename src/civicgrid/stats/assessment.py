"""Assessment by subject (reference/assessment.md): the region, department and post tables, the
rankings built on them and the monthly assessment (月度考核).

Regions reuse the KPI report (closure and on-time rates are kpis.md's) with the population
counted by place; departments and posts fold each case's events (stats.subjects). The same
function serves the API, the CLI, the pages and the workbooks, so their numbers cannot differ.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from functools import lru_cache

from sqlalchemy.orm import Session

from civicgrid.auth import service as auth_service
from civicgrid.cases import queries as case_queries
from civicgrid.cases.calendar import WorkCalendar
from civicgrid.config import Settings, get_settings
from civicgrid.geo import queries as geo_queries
from civicgrid.kit.db import utcnow
from civicgrid.kit.errors import BadRequest
from civicgrid.kit.timefmt import iso_local
from civicgrid.org import queries as org_queries
from civicgrid.stats import hooks, kpi, subjects
from civicgrid.stats import service as stats_service
from civicgrid.stats.subjects import LEVELS, POSTS, SUBJECTS, SYSTEM, Rules, Tally

SYSTEM_NAME = "系统"


def check_subject(subject: str, level: str | None, post: str | None) -> str:
    """The table's name (region, department or a post); BadRequest naming the choices."""
    if subject not in SUBJECTS:
        raise BadRequest(
            f"subject 应为 {', '.join(SUBJECTS)}", f"subject must be one of {', '.join(SUBJECTS)}"
        )
    if subject == "region" and level not in LEVELS:
        raise BadRequest(
            f"区域评价的 level 应为 {', '.join(LEVELS)}",
            f"subject=region needs level, one of {', '.join(LEVELS)}",
        )
    if subject == "post" and post not in POSTS:
        raise BadRequest(
            f"岗位评价的 post 应为 {', '.join(POSTS)}",
            f"subject=post needs post, one of {', '.join(POSTS)}",
        )
    return subjects.table_of(subject, level, post)


def assessment(
    session: Session,
    *,
    subject: str,
    start: dt.datetime,
    end: dt.datetime,
    level: str | None = None,
    post: str | None = None,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
    fold_all: bool = False,
) -> dict:
    """The table of one subject for [start, end), cut off at min(end, now), exactly as
    assessment.md defines it: rows by key (each with its `rank`: 1 is the best composite,
    ties share a rank, null composites none) and the district's `total`.

    A post's acts are counted by the database from each event's reference (who it answers and
    its working wait, written with the event: cases.rows.act_reference); `fold_all` folds
    every case's events instead (the tests compare both ways)."""
    table = check_subject(subject, level, post)
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest("start 和 end 须带时区偏移", "start and end need a UTC offset")
    if end <= start:
        raise BadRequest("end 必须晚于 start", "end must be after start")
    settings = settings or get_settings()
    rules = Rules.of(settings)
    now = now or utcnow()
    cutoff = min(end, now)
    if subject == "region":
        rows, total = _regions(session, level, start, end, now, rules)
    elif subject == "department":
        rows, total = _departments(session, start, end, cutoff, rules, fold_all)
    else:
        rows, total = _posts(session, settings, post, start, cutoff, rules, fold_all)
    rank(rows)
    head = {"start": iso_local(start), "end": iso_local(end), "cutoff": iso_local(cutoff)}
    # both keys always (one of them null), so that every answer has the same shape
    which = {
        "level": level if subject == "region" else None,
        "post": post if subject == "post" else None,
    }
    return {**head, "subject": subject, **which, "table": table, "rows": rows, "total": total}


def rank(rows: list[dict], key: str = "composite") -> None:
    """Set each row's `rank` by `key`, best first; equal values share a rank; null: none."""
    values = sorted({r[key] for r in rows if r[key] is not None}, reverse=True)
    place, seen = {}, 0
    for value in values:
        place[value] = seen + 1
        seen += sum(1 for r in rows if r[key] == value)
    for row in rows:
        row["rank"] = place.get(row[key])


SEE_ALL = ("leader", "admin")


def visible(report: dict, user, *, refuse: bool = True) -> dict | None:
    """What `user` may see of a table. Regions and departments: all of it. A post's table:
    leaders (and administrators) every row; a holder of the post their own row, with its rank,
    and the district's total; anyone else nothing: Forbidden (or None with refuse=False)."""
    from civicgrid.kit.errors import Forbidden

    if report["subject"] != "post" or user.has_role(*SEE_ALL):
        return report
    post = report["post"]
    if user.has_role(post):
        return {**report, "rows": [r for r in report["rows"] if r["key"] == user.username]}
    if not refuse:
        return None
    zh = subjects.SUBJECT_NAMES[post][0]
    raise Forbidden(
        f"{zh}仅限领导和本岗位人员查看",
        f"the {post} table is for leaders and the post's own people only",
    )


# --- regions ---------------------------------------------------------------------------------


def _regions(session, level, start, end, now, rules) -> tuple[list[dict], dict]:
    report = stats_service.kpis(session, start=start, end=end, group_by=level, now=now)
    cutoff = dt.datetime.fromisoformat(report["cutoff"])
    population = case_queries.population_by_place(session, level=level, start=start, cutoff=cutoff)
    grids = geo_queries.grids(session)
    column = {"grid": 0, "community": 1, "street": 2}[level]
    per_place: dict[str, int] = defaultdict(int)
    for grid in grids:
        if grid[column] is not None:
            per_place[grid[column]] += 1

    def counts(figures: dict, n_grids: int, public: int) -> dict:
        return {
            "registered": figures["registered"],
            "grids": n_grids,
            "public_registered": public,
            "closure_rate": figures["closure_rate"],
            "on_time_rate": figures["on_time_rate"],
        }

    rows = [
        {
            "key": r["key"],
            "name": r["name"],
            **subjects.region_row(
                counts(r, per_place.get(r["key"], 0), population.get(r["key"], (0, 0))[1]), rules
            ),
        }
        for r in report["rows"]
    ]
    public = sum(p for _n, p in population.values())
    total = subjects.region_row(counts(report["total"], len(grids), public), rules)
    return rows, total


# --- departments and posts: folded from the events ---------------------------------------------


def _folded(session, start, cutoff):
    """(case row, its events with `by`) for every case with an event in [start, cutoff)."""
    cases = case_queries.assessment_cases(session, start=start, cutoff=cutoff)
    by_id = {c.id: c for c in cases}
    events: dict[int, list] = defaultdict(list)
    for case_id, at, action, payload, by in case_queries.events_with_actors(
        session, list(by_id), cutoff=cutoff
    ):
        events[case_id].append((at, action, payload, by))
    for case_id, row in by_id.items():
        yield row, events[case_id]


def _departments(session, start, end, cutoff, rules, fold_all) -> tuple[list[dict], dict]:
    """Cases complete before the cut-off are counted by the database (department_complete);
    the rest of P is folded from the events; `fold_all` folds every case."""
    tallies: dict[str, Tally] = {}
    total = Tally()
    if fold_all:
        folded = (events for _row, events in _folded(session, start, cutoff))
    else:
        for unit, registered, due, handled, on_time, reworked in case_queries.department_complete(
            session, start=start, cutoff=cutoff
        ):
            tally = Tally(
                registered=registered,
                due_handle=due,
                handled=handled,
                handled_on_time=on_time,
                reworked=reworked,
            )
            total.add(tally)
            if unit is not None:
                tallies.setdefault(unit, Tally()).add(tally)
        for unit in case_queries.unit_keys_reported(session, start=start, cutoff=cutoff):
            tallies.setdefault(unit, Tally())
        ids = case_queries.department_to_fold(session, start=start, cutoff=cutoff)
        folded = _events_of(session, ids, cutoff)
    for events in folded:
        facts = kpi.case_facts([(at, a, p) for at, a, p, _by in events], start, end, cutoff)
        if not (facts.reported or facts.in_p):
            continue
        if facts.unit is not None and facts.unit not in tallies:
            tallies[facts.unit] = Tally()  # a row as in kpis.md: reported or registered
        if not facts.in_p:
            continue
        if facts.unit is None:
            total.registered += 1  # never dispatched: in the total's population only
            continue
        tally = subjects.department_facts(events, facts.effective, cutoff).tally()
        tallies[facts.unit].add(tally)
        total.add(tally)
    names = org_queries.names_by_code(session, set(tallies))
    rows = [
        {"key": key, "name": names.get(key, key), **subjects.department_row(tallies[key], rules)}
        for key in sorted(tallies)
    ]
    return rows, subjects.department_row(total, rules)


def _events_of(session, ids: list[int], cutoff):
    """Each case's events before the cut-off (with `by`), case by case."""
    events: dict[int, list] = defaultdict(list)
    for case_id, at, action, payload, by in case_queries.events_with_actors(
        session, ids, cutoff=cutoff
    ):
        events[case_id].append((at, action, payload, by))
    for case_id in ids:
        yield events[case_id]


def _posts(session, settings, post, start, cutoff, rules, fold_all) -> tuple[list[dict], dict]:
    grids = geo_queries.grids(session)
    supervisors_of = {code: responsible for code, _c, _s, responsible in grids}
    if fold_all:
        tallies = _posts_folded(session, settings, post, start, cutoff, rules, supervisors_of)
    else:
        tallies = _posts_counted(session, post, start, cutoff, rules, supervisors_of)
    people = auth_service.holders(session, post)
    if post == "supervisor":  # counted over population P, by the grids they are named for
        population = case_queries.population_by_place(
            session, level="grid", start=start, cutoff=cutoff
        )
        for code, responsible in supervisors_of.items():
            registered, public = population.get(code, (0, 0))
            for who in responsible:
                if who in people:
                    tallies[who].grid_registered += registered
                    tallies[who].missed += public
    keys = sorted(people) + ([SYSTEM] if SYSTEM in tallies and SYSTEM not in people else [])
    names = {**people, SYSTEM: SYSTEM_NAME}
    total = Tally()
    rows = []
    for key in keys:
        total.add(tallies[key])
        rows.append(
            {"key": key, "name": names[key], **subjects.post_row(post, tallies[key], rules)}
        )
    return rows, subjects.post_row(post, total, rules)


def _posts_counted(session, post, start, cutoff, rules, supervisors_of) -> dict[str, Tally]:
    """The post's tallies from the database's counts (cases.queries.post_acts)."""
    limit = {
        "operator": rules.registration_minutes,
        "dispatcher": rules.dispatch_minutes,
        "supervisor": rules.check_minutes,
    }[post]
    acts = case_queries.post_acts(
        session, post=post, start=start, cutoff=cutoff, limit_minutes=limit
    )
    tallies: dict[str, Tally] = defaultdict(Tally)
    if post == "operator":
        for who, n, on_time in acts["accepted"]:
            if who is not None:
                t = tallies[who]
                t.accepted, t.accepted_on_time, t.accepted_right = n, on_time, n
        for who, n in acts["rejected"]:
            if who in tallies:
                tallies[who].accepted_right -= n
    elif post == "dispatcher":
        for who, n, on_time in acts["dispatched"]:
            if who is not None:
                t = tallies[who]
                t.dispatches, t.dispatches_on_time = n, on_time
        for who, n in acts["returned"]:
            if who in tallies:
                tallies[who].dispatches_wrong += n
    else:
        for who, n in acts["reported"]:
            if who is not None:
                tallies[who].patrol_reported = n
        for who, n in acts["valid"]:
            if who is not None:
                tallies[who].patrol_valid = n
        done = dict(acts["done"])
        checked = {(grid, who): n for grid, who, n in acts["checked"]}
        for grid, responsible in supervisors_of.items():
            for who in responsible:
                tallies[who].checks_due += done.get(grid, 0)
                tallies[who].checks_on_time += checked.get((grid, who), 0)
    return tallies


def _posts_folded(session, settings, post, start, cutoff, rules, supervisors_of):
    """The post's tallies folded from every case's events (stats.subjects.post_facts)."""
    calendar = WorkCalendar.load(session, settings)

    @lru_cache(maxsize=65536)
    def limit(t: dt.datetime, minutes: int) -> dt.datetime:
        return calendar.add_working(t, dt.timedelta(minutes=minutes)).at

    tallies: dict[str, Tally] = defaultdict(Tally)
    for row, events in _folded(session, start, cutoff):
        facts = subjects.post_facts(
            events,
            source=row.source,
            grid_supervisors=supervisors_of.get(row.grid_code, ()) if post == "supervisor" else (),
            start=start,
            cutoff=cutoff,
            limit=limit,
            rules=rules,
        )
        for who, tally in getattr(facts, post).items():
            tallies[who].add(tally)
    return tallies


# --- rankings and the monthly assessment ---------------------------------------------------------

RANKED = {"street": ("region", "street", None), "unit": ("department", None, None)}


def ranking(
    session: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    group_by: str,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> dict:
    """Streets (the region table) or units (the department table) ranked by their composite,
    best first (WAVE2: the assessment replaces kpis.md's composite in the ranking). With the
    setting spotcheck_assessment_weight w > 0, a group with a spot-check score s for the month
    of `start` is ranked by (1 − w) × composite + w × s (`score`); others by the composite.
    Groups with a null composite come last, unranked. Unit rows carry `urged` (督办 cases)."""
    settings = settings or get_settings()
    subject, level, _ = RANKED[group_by]
    report = assessment(
        session,
        subject=subject,
        level=level,
        start=start,
        end=end,
        now=now,
        settings=settings,
    )
    weight = settings.spotcheck_assessment_weight
    spot = hooks.spotcheck_scores(session, start.strftime("%Y-%m"), group_by) if weight else {}
    urged = hooks.urged_cases(session, start, end) if group_by == "unit" else {}
    for row in report["rows"]:
        row["spotcheck_score"] = spot.get(row["key"])
        c, s = row["composite"], row["spotcheck_score"]
        row["score"] = c if c is None or s is None else (1 - weight) * c + weight * s
        if group_by == "unit":
            row["urged"] = urged.get(row["key"], 0)
    if group_by == "unit":
        report["total"]["urged"] = sum(urged.values())
    rank(report["rows"], "score")
    report["rows"].sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["key"]))
    report["group_by"] = group_by
    return report


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
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


# The monthly assessment's sheets: (sheet, subject, level, post)
SHEETS = (
    ("street", "region", "street", None),
    ("community", "region", "community", None),
    ("grid", "region", "grid", None),
    ("department", "department", None, None),
    ("supervisor", "post", None, "supervisor"),
    ("operator", "post", None, "operator"),
    ("dispatcher", "post", None, "dispatcher"),
)


def monthly(
    session: Session,
    *,
    month: str,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> list[dict]:
    """Every subject's table for the month, each ranked (best first) with its formulas."""
    settings = settings or get_settings()
    start, end = month_bounds(month)
    out = []
    for sheet, subject, level, post in SHEETS:
        if subject == "post":
            report = assessment(
                session,
                subject=subject,
                post=post,
                start=start,
                end=end,
                now=now,
                settings=settings,
            )
        else:
            report = (
                ranking(
                    session,
                    start=start,
                    end=end,
                    group_by=level or "unit",
                    now=now,
                    settings=settings,
                )
                if sheet in ("street", "department")
                else assessment(
                    session,
                    subject=subject,
                    level=level,
                    start=start,
                    end=end,
                    now=now,
                    settings=settings,
                )
            )
        report["rows"].sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["key"]))
        report["sheet"] = sheet
        report["formulas"] = formulas(report["table"], Rules.of(settings), settings)
        report["columns"] = columns(report["table"])
        extra = ["urged"] if sheet == "department" else []
        if sheet in ("street", "department") and settings.spotcheck_assessment_weight:
            extra += ["spotcheck_score", "score"]
        report["extra"] = extra
        out.append(report)
    return out


def _pct(w: float) -> str:
    return f"{w:g}"


def formulas(table: str, rules: Rules, settings: Settings) -> list[tuple[str, str]]:
    """The formulas of a table in both languages (zh, en), with the settings' weights."""
    w = rules.weights
    names = subjects.NAMES

    def term(weight, key, bad_rate=False):
        zh, en = names[key]
        if bad_rate:
            return f"{_pct(weight)} × (100 − {zh})", f"{_pct(weight)} × (100 − {en})"
        return f"{_pct(weight)} × {zh}", f"{_pct(weight)} × {en}"

    def bands(name: str) -> tuple[str, str]:
        def text(other: str) -> str:
            return "; ".join(
                f"≤ {b:g} → {s:g}" if b is not None else f"{other} → {s:g}"
                for b, s in rules.bands[name]
            )

        return text("其余"), text("else")

    if table == "region":
        terms = [
            term(w["region"]["public_report"], "public_report_rate", True),
            term(w["region"]["registered"], "registered_score"),
            term(w["region"]["closure"], "closure_rate"),
            term(w["region"]["on_time"], "on_time_rate"),
        ]
        band = ("网格平均立案数", "registered per grid"), bands("region")
    elif table == "department":
        terms = [
            term(w["department"]["registered"], "registered_score"),
            term(w["department"]["handle"], "handle_rate"),
            term(w["department"]["on_time_handle"], "on_time_handle_rate"),
            term(w["department"]["rework"], "rework_rate", True),
        ]
        band = ("立案数", "registered"), bands("department")
    elif table == "supervisor":
        terms = [
            term(w["supervisor"]["valid"], "valid_rate"),
            term(w["supervisor"]["missed"], "missed_rate", True),
            term(w["supervisor"]["check"], "check_rate"),
        ]
        band = None
    elif table == "operator":
        terms = [
            term(w["operator"]["accepted"], "accepted_score"),
            term(w["operator"]["accept_right"], "accept_right_rate"),
            term(w["operator"]["accept_on_time"], "accept_on_time_rate"),
        ]
        band = ("立案数", "accepted"), bands("operator")
    else:
        terms = [
            term(w["dispatcher"]["dispatch"], "dispatch_score"),
            term(w["dispatcher"]["dispatch_on_time"], "dispatch_on_time_rate"),
            term(w["dispatcher"]["dispatch_right"], "dispatch_right_rate"),
        ]
        band = ("派遣数", "dispatches"), bands("dispatcher")
    out = [
        (
            "综合指标值 = " + " + ".join(zh for zh, _ in terms) + " (比率按百分制)",
            "Composite = " + " + ".join(en for _, en in terms) + " (rates scored out of 100)",
        )
    ]
    if band is not None:
        (what_zh, what_en), (text_zh, text_en) = band
        out.append((f"{what_zh}分值: {text_zh}", f"{what_en} score: {text_en}"))
    limits = {
        "supervisor": (
            "按时核查: 处置反馈后 {n} 个工作分钟内核查",
            "checked within {n} working minutes",
        ),
        "operator": (
            "按时立案: 上报后 {n} 个工作分钟内立案",
            "accepted within {n} working minutes",
        ),
        "dispatcher": (
            "按时派遣: 立案或退回后 {n} 个工作分钟内派遣",
            "dispatched within {n} working minutes",
        ),
    }
    if table in limits:
        n = {
            "supervisor": rules.check_minutes,
            "operator": rules.registration_minutes,
            "dispatcher": rules.dispatch_minutes,
        }[table]
        zh, en = limits[table]
        out.append((zh.format(n=n), en.format(n=n)))
    if table in ("region", "department") and settings.spotcheck_assessment_weight:
        ws = _pct(settings.spotcheck_assessment_weight)
        out.append(
            (
                f"排名得分 = (1 − {ws}) × 综合指标值 + {ws} × 抽查得分 (有抽查时)",
                f"Ranking score = (1 − {ws}) × composite + {ws} × spot-check score (where checked)",
            )
        )
    out.append(
        (
            "等级 A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, 其余 E",
            "Grade A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, else E",
        )
    )
    return out


def percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def cell_text(key: str, value) -> str:
    """A figure as the pages print it."""
    if value is None:
        return "—"
    if key.endswith("_rate"):
        return percent(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def columns(table: str) -> list[str]:
    return [key for key, _zh, _en in subjects.TABLES[table]] + ["grade"]


def monthly_xlsx(reports: list[dict], month: str) -> bytes:
    """The monthly assessment: a sheet per subject, ranked, graded, formulas under each table."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from civicgrid.kit.sheets import xlsx_append

    wb = Workbook()
    wb.remove(wb.active)
    for report in reports:
        zh_title = subjects.SUBJECT_NAMES[report["sheet"]][0]
        ws = wb.create_sheet(zh_title)
        xlsx_append(ws, [f"{month} 数字城管{zh_title}"])
        ws["A1"].font = Font(bold=True, size=14)
        xlsx_append(
            ws,
            [
                f"统计期间: {report['start'][:10]} 至 {report['end'][:10]} (不含), "
                f"截止 {report['cutoff']}"
            ],
        )
        keys = columns(report["table"])
        extra = report["extra"]
        xlsx_append(
            ws,
            ["排名", "编码", "名称"]
            + [subjects.NAMES[k][0] for k in keys]
            + [subjects.EXTRA_NAMES[k][0] for k in extra],
        )
        for row in report["rows"]:
            xlsx_append(
                ws,
                [row["rank"], row["key"], row["name"]]
                + [row[k] for k in keys]
                + [row.get(k) for k in extra],
            )
        total = report["total"]
        xlsx_append(
            ws, ["合计", "total", "全区"] + [total[k] for k in keys] + [total.get(k) for k in extra]
        )
        for cells in ws.iter_rows(min_row=4):
            for cell in cells:
                cell.alignment = Alignment(horizontal="center")
        ws.append([])
        for zh, _en in report["formulas"]:
            xlsx_append(ws, [zh])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
