"""Spot checks' rules: sheets, sites, plans drawn by civicgrid-draw-v1 with commit-then-reveal,
the inspector's entries saved as they go, results whose failed items open cases (source
`spotcheck`, through citizen's one intake path, as vehicles' missed collection points do), and
the period's results per road, street, unit and contractor."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from statistics import fmean
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicgrid.cases.calendar import WorkCalendar
from civicgrid.cases.policy import Actor
from civicgrid.citizen import service as citizen_service
from civicgrid.config import Settings
from civicgrid.kit.db import utcnow
from civicgrid.kit.errors import AppError, BadRequest, Conflict, Invalid, NotFound
from civicgrid.kit.timefmt import local_zone
from civicgrid.media import service as media_service
from civicgrid.org import queries as org_queries
from civicgrid.spotchecks import draw, queries, sheets
from civicgrid.spotchecks.models import (
    SITE_KINDS,
    SpotCheck,
    SpotFailure,
    SpotPhoto,
    SpotPlan,
    SpotSheet,
    SpotSite,
)

# a check's photos stay in the store while it is open (no case refers to them yet)
media_service.keep_referenced(queries.photo_keys)


def _invalid(zh: str, en: str, field: str) -> Invalid:
    return Invalid(f"{zh} ({field})", f"{en} ({field})")


def from_draw_error(exc: draw.DrawError) -> AppError:
    """A period out of form or range is a 400 (as every date parameter); the rest 422."""
    if exc.field == "period":
        return BadRequest(f"{exc.zh} (period)", f"{exc.en} (period)")
    return _invalid(exc.zh, exc.en, exc.field or "plan")


# --- sheets ---------------------------------------------------------------------------------


def all_sheets(session: Session) -> list[dict]:
    own = [s.definition for s in session.scalars(select(SpotSheet).order_by(SpotSheet.code))]
    return [*sheets.BUILTIN.values(), *own]


def sheet(session: Session, code: str) -> dict:
    if code in sheets.BUILTIN:
        return sheets.BUILTIN[code]
    row = session.scalar(select(SpotSheet).where(SpotSheet.code == code))
    if row is None:
        raise NotFound(f"找不到评分表 {code}", f"score sheet {code} not found")
    return row.definition


def save_sheet(session: Session, definition: dict) -> dict:
    """A district's own sheet (the schema checked its shape); the shipped ones stay as shipped."""
    code = definition["code"]
    if code in sheets.BUILTIN:
        raise Conflict(
            f"评分表 {code} 为内置, 不能修改", f"sheet {code} is shipped; pick a new code"
        )
    row = session.scalar(select(SpotSheet).where(SpotSheet.code == code))
    if row is None:
        session.add(SpotSheet(code=code, definition=definition))
    else:
        row.definition = definition
    session.flush()
    return definition


# --- sites ----------------------------------------------------------------------------------


def save_site(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    grade: str,
    street: str,
    unit: str | None,
    contractor: str | None,
    lon: float,
    lat: float,
    active: bool = True,
) -> SpotSite:
    if kind not in SITE_KINDS:
        raise _invalid(f"类型须为 {SITE_KINDS}", f"kind is one of {SITE_KINDS}", "kind")
    units = org_queries.units_by_code(session, [c for c in (street, unit, contractor) if c])
    for field, value in (("street", street), ("unit", unit), ("contractor", contractor)):
        if value and value not in units:
            raise _invalid(f"找不到单位 {value}", f"org unit {value} not found", field)
    if contractor and units[contractor].kind != "contractor":
        raise _invalid(
            f"{contractor} 不是保洁公司 (类型 contractor)",
            f"{contractor} is not an org unit of kind contractor",
            "contractor",
        )
    site = session.scalar(select(SpotSite).where(SpotSite.code == code))
    if site is None:
        site = SpotSite(code=code)
        session.add(site)
    site.name, site.kind, site.grade = name, kind, grade
    site.street_id = units[street].id
    site.unit_id = units[unit].id if unit else None
    site.contractor_id = units[contractor].id if contractor else None
    site.lon, site.lat, site.active = lon, lat, active
    session.flush()
    return site


def unit_codes(session: Session, ids) -> dict[int, tuple[str, str]]:
    return org_queries.code_names_by_id(session, {i for i in ids if i is not None})


def strata_from_sites(session: Session, n: int, kind: str = "road") -> list[dict]:
    """One stratum per street and grade (`<street code>/<grade>`), its candidates the active
    sites' codes in code order, each drawing n."""
    found = [s for s in queries.sites(session) if s.active and s.kind == kind]
    streets = unit_codes(session, {s.street_id for s in found})
    groups: dict[str, list[str]] = defaultdict(list)
    for s in found:
        groups[f"{streets[s.street_id][0]}/{s.grade}"].append(s.code)
    return [{"id": k, "n": n, "candidates": groups[k]} for k in sorted(groups)]


# --- plans ----------------------------------------------------------------------------------


def _tz(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def period_end(period: str, settings: Settings) -> dt.datetime:
    last = draw.period_days(period)[-1]
    return dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), _tz(settings)).astimezone(
        dt.UTC
    )


def slots_for(session: Session, settings: Settings, period: str) -> list[str]:
    calendar = WorkCalendar.load(session, settings)
    return draw.period_slots(period, lambda d: calendar.is_workday(d)[0])


def create_plan(
    session: Session,
    settings: Settings,
    *,
    code: str,
    sheet_code: str,
    period: str,
    strata: list[dict] | None = None,
    n: int | None = None,
    slots: list[str] | None = None,
    seed: str | None = None,
    by: str | None = None,
    now: dt.datetime | None = None,
) -> SpotPlan:
    """Make a plan before its period begins: draw a fresh seed, publish only its commitment,
    and draw the checks now (kept from the units: only the inspectors see a day's checks).
    `seed` and `now` are for tests."""
    sheet(session, sheet_code)
    try:
        first = draw.period_days(period)[0]
    except draw.DrawError as exc:
        raise from_draw_error(exc) from exc
    start = dt.datetime.combine(first, dt.time(), _tz(settings))
    if (now or utcnow()) >= start:
        raise _invalid(
            f"期间 {period} 已开始: 抽样须在期间开始前确定并公布承诺值",
            f"the period {period} has begun: a plan is made (and its commitment published) "
            "before its period",
            "period",
        )
    if queries.plan_by_code(session, code) is not None:
        raise Conflict(f"计划 {code} 已存在", f"plan {code} exists already")
    if strata is None:
        if n is None:
            raise _invalid("须给出分层或每层数量 n", "give strata or n per stratum", "strata")
        strata = strata_from_sites(session, n)
    try:
        plan = draw.parse_plan({"id": code, "strata": strata})
        the_slots = draw.parse_slots(slots) if slots else slots_for(session, settings, period)
        seed = seed or draw.new_seed()
        drawn = draw.draw(plan, period, seed, the_slots)
    except draw.DrawError as exc:
        raise from_draw_error(exc) from exc
    known = queries.sites_by_code(session, {d.code for d in drawn})
    unknown = sorted({d.code for d in drawn} - set(known))
    if unknown:
        raise _invalid(
            f"候选编码不是已登记的抽查对象: {', '.join(unknown[:10])}",
            f"candidates that are not registered sites: {', '.join(unknown[:10])}",
            "strata",
        )
    row = SpotPlan(
        code=code,
        sheet=sheet_code,
        period=period,
        strata=plan.as_json()["strata"],
        slots=the_slots,
        seed=seed,
        commitment=draw.commitment(seed),
        period_end=period_end(period, settings),
        created_by=by,
    )
    session.add(row)
    session.flush()
    for d in drawn:
        session.add(
            SpotCheck(
                plan_id=row.id,
                stratum=d.stratum,
                site_code=d.code,
                slot=d.slot,
                day=dt.date.fromisoformat(d.slot[:10]),
                draw_key=d.key,
                entries={},
            )
        )
    session.flush()
    return row


def revealed(plan: SpotPlan, now: dt.datetime | None = None) -> bool:
    return (now or utcnow()) >= plan.period_end


def plan_for_draw(session: Session, code: str) -> draw.Plan | None:
    row = queries.plan_by_code(session, code)
    return None if row is None else draw.parse_plan({"id": row.code, "strata": row.strata})


def get_plan(session: Session, code: str) -> SpotPlan:
    row = queries.plan_by_code(session, code)
    if row is None:
        raise NotFound(f"找不到抽查计划 {code}", f"spot-check plan {code} not found")
    return row


def public_plan(plan: SpotPlan, now: dt.datetime | None = None) -> dict:
    """What anyone may see: the plan, its slots, the commitment, and the seed once the period
    has ended (then the drawn list can be re-run with `civicgrid spotcheck draw`)."""
    shown = revealed(plan, now)
    return {
        "code": plan.code,
        "sheet": plan.sheet,
        "period": plan.period,
        "algorithm": draw.ALGORITHM,
        "strata": plan.strata,
        "slots": plan.slots,
        "commitment": plan.commitment,
        "committed_at": plan.created_at,
        "period_end": plan.period_end,
        "seed": plan.seed if shown else None,
    }


def published_draw(session: Session, plan: SpotPlan, now: dt.datetime | None = None) -> str:
    if not revealed(plan, now):
        raise Conflict(
            f"计划 {plan.code} 的期间尚未结束, 种子与抽样结果在期满后公布",
            f"the period of plan {plan.code} has not ended: the seed and the draw come after it",
        )
    return drawn_text(session, plan)


def drawn_text(session: Session, plan: SpotPlan) -> str:
    """The draw's published form, re-run from the stored plan and seed."""
    the_plan = draw.parse_plan({"id": plan.code, "strata": plan.strata})
    return draw.render(plan.seed, draw.draw(the_plan, plan.period, plan.seed, plan.slots))


# --- checks ---------------------------------------------------------------------------------


def get_check(session: Session, check_id: int) -> SpotCheck:
    check = session.get(SpotCheck, check_id)
    if check is None:
        raise NotFound(f"找不到抽查 {check_id}", f"spot check {check_id} not found")
    return check


def sheet_of(session: Session, check: SpotCheck) -> dict:
    plan = session.get(SpotPlan, check.plan_id)
    return sheet(session, plan.sheet)


def _open(check: SpotCheck) -> None:
    if check.state == "done":
        raise Conflict(
            f"抽查 {check.id} 已完成, 不能再修改", f"spot check {check.id} is done already"
        )


ARRIVAL_BACKFILL = dt.timedelta(hours=12)  # an arrival kept on a phone while offline


def arrive(
    session: Session, check: SpotCheck, *, lon: float, lat: float, at: dt.datetime | None = None
) -> SpotCheck:
    """Record the arrival (GPS and time) once: a second arrival keeps the first."""
    _open(check)
    now = utcnow()
    if at is not None:
        if at.tzinfo is None:
            raise _invalid("到达时间须带时区", "the arrival time needs its UTC offset", "at")
        if at > now + dt.timedelta(minutes=2) or at < now - ARRIVAL_BACKFILL:
            raise _invalid(
                "到达时间须在 12 小时内且不晚于现在",
                "the arrival time is within the last 12 hours, not in the future",
                "at",
            )
    when = at or now
    if when.astimezone(local_zone()).date() < check.day:
        # a check is done in its drawn slot, not ahead of it: knowing the road early is what
        # the draw is there to prevent
        raise Conflict(
            f"抽查 {check.id} 的时段是 {check.slot}, 尚未到来",
            f"spot check {check.id} is drawn for {check.slot}, which has not come yet",
        )
    if check.arrived_at is None:
        check.arrived_at = when
        check.arrival_lon, check.arrival_lat = lon, lat
        check.state = "in_progress"
    session.flush()
    return check


def set_weather(session: Session, check: SpotCheck, weather: dict) -> SpotCheck:
    """Keep the weather; a sheet with the dry-day rule (CJJ/T 126) refuses a wet day."""
    _open(check)
    definition = sheet_of(session, check)
    reason = sheets.wet_reason(weather)
    if definition.get("dry_only") and reason:
        raise _invalid(
            f"{reason[0]}, 本次检查不予进行", f"{reason[1]}: the check is refused", "weather"
        )
    check.weather = dict(weather)
    check.state = "in_progress"
    session.flush()
    return check


def save_entries(session: Session, check: SpotCheck, inspector: str, data: dict) -> SpotCheck:
    """Merge what an inspector entered (saved as it goes: a partial sheet is kept).
    Visual: {side: {item: score}}; weight: {"points": [grams or null, ...]} (to 0.1 g)."""
    _open(check)
    definition = sheet_of(session, check)
    entries = {k: (dict(v) if isinstance(v, dict) else v) for k, v in (check.entries or {}).items()}
    if definition["method"] == "visual":
        low, high = definition["scale"]
        items = {i["code"] for i in definition["items"]}
        mine = {s: dict(v) for s, v in (entries.get(inspector) or {}).items()}
        for side, scores in data.items():
            if side not in definition["sides"]:
                raise _invalid(
                    f"边 {side} 无效, 应为 {definition['sides']}",
                    f"side {side} is not one of {definition['sides']}",
                    "entries",
                )
            if not isinstance(scores, dict):
                raise _invalid("每边须为 {项目: 分数}", "each side is {item: score}", "entries")
            for item, value in scores.items():
                if item not in items:
                    raise _invalid(f"项目 {item} 无效", f"unknown item {item}", "entries")
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise _invalid(f"{item} 的分数须为数字", f"{item}: a number", "entries")
                if not low <= value <= high:
                    raise _invalid(
                        f"{item} 的分数须在 {low}–{high} 之间",
                        f"{item}: the score is {low} to {high}",
                        "entries",
                    )
                mine.setdefault(side, {})[item] = value
        entries[inspector] = mine
    else:
        points = data.get("points")
        if not isinstance(points, list) or len(points) > definition["points"]:
            raise _invalid(
                f"points 须为至多 {definition['points']} 个称重 (克) 的列表",
                f"points is a list of at most {definition['points']} weights (g)",
                "points",
            )
        kept = list(entries.get("points") or [])
        kept += [None] * (len(points) - len(kept))
        for i, grams in enumerate(points):
            if grams is None:
                continue
            if isinstance(grams, bool) or not isinstance(grams, int | float) or grams < 0:
                raise _invalid(
                    f"第 {i + 1} 点的称重须为非负数 (克)",
                    f"point {i + 1}: grams ≥ 0",
                    "points",
                )
            kept[i] = round(float(grams), 1)
        entries["points"] = kept
    check.entries = entries
    check.state = "in_progress"
    session.flush()
    return check


def add_photo(
    session: Session, settings: Settings, check: SpotCheck, item: str, name: str, data: bytes
) -> SpotPhoto:
    """A photo of an item: checked (Pillow, limits) and stored in the media store."""
    _open(check)
    definition = sheet_of(session, check)
    if item not in {i["code"] for i in definition["items"]}:
        raise _invalid(f"项目 {item} 无效", f"unknown item {item}", "item")
    image = media_service.check_image(data, settings, name)
    stored = media_service.store(settings, image)
    photo = SpotPhoto(check_id=check.id, item=item, **stored.row())
    session.add(photo)
    session.flush()
    return photo


def dust_limit(settings: Settings, grade: str) -> float:
    limits = settings.spotcheck_dust_limits
    return float(limits.get(grade, limits.get("default", 10.0)))


def evaluate(session: Session, settings: Settings, check: SpotCheck) -> sheets.Result:
    definition = sheet_of(session, check)
    if definition["method"] == "visual":
        return sheets.visual(definition, check.entries or {})
    site = queries.sites_by_code(session, [check.site_code]).get(check.site_code)
    return sheets.weight(
        definition, check.entries or {}, dust_limit(settings, site.grade if site else "")
    )


def finish(session: Session, settings: Settings, check: SpotCheck, by: str) -> SpotCheck:
    """Close a check: arrival, weather (dry-day sheets), every entry and a photo for each
    failed item are needed; each failed item opens one case on the site."""
    _open(check)
    definition = sheet_of(session, check)
    if check.arrived_at is None:
        raise _invalid("请先记录到达位置和时间", "record the arrival first", "arrival")
    if definition.get("dry_only"):
        if check.weather is None:
            raise _invalid("请先填写天气", "enter the weather first", "weather")
        reason = sheets.wet_reason(check.weather)
        if reason:
            raise _invalid(reason[0], reason[1], "weather")
    result = evaluate(session, settings, check)
    if result.missing:
        raise _invalid(
            f"尚未填写: {', '.join(result.missing)}",
            f"still to enter: {', '.join(result.missing)}",
            "entries",
        )
    photos = queries.photos_of(session, check.id)
    items_with_photo = {p.item for p in photos}
    lacking = [i for i in result.failed if i not in items_with_photo]
    if lacking:
        raise _invalid(
            f"不合格项目须有照片: {', '.join(lacking)}",
            f"a failed item needs a photo: {', '.join(lacking)}",
            "photos",
        )
    check.score, check.g_m2, check.passed = result.score, result.g_m2, result.passed
    check.state, check.done_at, check.done_by = "done", utcnow(), by
    site = queries.sites_by_code(session, [check.site_code]).get(check.site_code)
    if site is None:
        raise _invalid(f"抽查对象 {check.site_code} 已不存在", "the site is gone", "site")
    items = {i["code"]: i for i in definition["items"]}
    for item, value in result.failed.items():
        code = _open_case(
            session,
            settings,
            check,
            site,
            definition,
            items[item],
            value,
            [p for p in photos if p.item == item],
        )
        session.add(SpotFailure(check_id=check.id, item=item, value=value, case_code=code))
    try:
        session.flush()
    except IntegrityError as exc:  # a second finish racing this one
        raise Conflict("抽查已完成", "the spot check is done already") from exc
    return check


def _open_case(session, settings, check, site, definition, item, value, photos) -> str:
    plan = session.get(SpotPlan, check.plan_id)
    shown = f"{value:g} g/m²" if definition["method"] == "weight" else f"{value:g} 分"
    description = (
        f"抽查 {plan.code} #{check.id} {site.name} ({site.code}) {check.slot}: "
        f"{definition['name']} · {item['name']} 不合格 ({shown})"
    )
    prepared = citizen_service.prepare(
        session,
        settings,
        category=item["category"],
        category_kind="event",
        source="spotcheck",
        lon=site.lon,
        lat=site.lat,
        address=site.name,
        description=description,
        actor=Actor.system(),
        # routed at once by the dispatch rules, as a citizen's report in a grid is: the issue
        # puts the case on the responsible unit (vehicles' missed points wait for a dispatcher)
        auto_dispatch=True,
        extra={
            "spotcheck": {
                "plan": plan.code,
                "check": check.id,
                "site": site.code,
                "item": item["code"],
                "value": value,
                "by": check.done_by,
            }
        },
    )
    done = citizen_service.write(session, settings, prepared, find_duplicates=False)
    if photos:
        media_service.insert_stored(
            session,
            [
                {
                    "key": p.key,
                    "thumb_key": p.thumb_key,
                    "width": p.width,
                    "height": p.height,
                    "size": p.size,
                    "sha256": p.sha256,
                    "case_id": done.case.id,
                    "event_id": None,
                    "stage": "report",
                }
                for p in photos
            ],
        )
    return done.case.code


def checks_today(session: Session, settings: Settings, day: dt.date | None = None):
    day = day or utcnow().astimezone(_tz(settings)).date()
    return day, queries.checks_of_day(session, day)


def view(session: Session, check: SpotCheck) -> dict:
    plan = session.get(SpotPlan, check.plan_id)
    site = queries.sites_by_code(session, [check.site_code]).get(check.site_code)
    return {
        "id": check.id,
        "plan": plan.code,
        "sheet": plan.sheet,
        "stratum": check.stratum,
        "site": check.site_code,
        "site_name": site.name if site else "",
        "grade": site.grade if site else "",
        "lon": site.lon if site else None,
        "lat": site.lat if site else None,
        "slot": check.slot,
        "state": check.state,
        "arrived_at": check.arrived_at,
        "arrival_lon": check.arrival_lon,
        "arrival_lat": check.arrival_lat,
        "weather": check.weather,
        "entries": check.entries or {},
        "photos": [{"id": p.id, "item": p.item} for p in queries.photos_of(session, check.id)],
        "score": check.score,
        "g_m2": check.g_m2,
        "passed": check.passed,
        "failures": [
            {"item": f.item, "value": f.value, "case": f.case_code}
            for f in queries.failures_of(session, check.id)
        ],
    }


# --- results --------------------------------------------------------------------------------

GROUPS = ("road", "street", "unit", "contractor")
# grade by pass rate (my reading; the issue names no scale)
GRADES = ((0.95, "A"), (0.85, "B"), (0.70, "C"), (0.0, "D"))


def grade_of(rate: float) -> str:
    return next(g for low, g in GRADES if rate >= low)


def previous_period(period: str) -> str:
    days = draw.period_days(period)
    before = days[0] - dt.timedelta(days=1)
    if "W" in period:
        year, week, _ = before.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{before.year}-{before.month:02d}"


def _grouped(session: Session, period: str, by: str) -> dict[str, dict]:
    try:
        days = draw.period_days(period)
    except draw.DrawError as exc:
        raise from_draw_error(exc) from exc
    if by not in GROUPS:
        raise _invalid(f"分组须为 {GROUPS}", f"group by one of {GROUPS}", "by")
    done = queries.done_checks_between(session, days[0], days[-1])
    found = queries.sites_by_code(session, {c.site_code for c, _ in done})
    names = unit_codes(
        session,
        {getattr(s, a) for s in found.values() for a in ("street_id", "unit_id", "contractor_id")},
    )
    groups: dict[str, dict] = {}
    for check, _plan in done:
        site = found.get(check.site_code)
        if site is None:
            continue
        if by == "road":
            key, name = site.code, site.name
        else:
            uid = {
                "street": site.street_id,
                "unit": site.unit_id,
                "contractor": site.contractor_id,
            }[by]
            if uid is None:
                continue
            key, name = names[uid]
        g = groups.setdefault(key, {"key": key, "name": name, "scores": [], "g_m2": [], "ok": 0})
        g["n"] = g.get("n", 0) + 1
        g["ok"] += bool(check.passed)
        if check.score is not None:
            g["scores"].append(check.score)
        if check.g_m2 is not None:
            g["g_m2"].append(check.g_m2)
    return groups


def results(session: Session, period: str, by: str) -> list[dict]:
    """Per road, street, unit or contractor: checks, mean score, mean g/m², pass rate, rank
    (pass rate, then score, then less dust), grade, and the change since the previous period."""
    rows_now = _grouped(session, period, by)
    try:
        before = _grouped(session, previous_period(period), by)
    except BadRequest:  # 2000-01's previous month is out of range
        before = {}
    rows = []
    for key, g in rows_now.items():
        rate = g["ok"] / g["n"]
        score = round(fmean(g["scores"]), 2) if g["scores"] else None
        dust = round(fmean(g["g_m2"]), 2) if g["g_m2"] else None
        prev = before.get(key)
        rows.append(
            {
                "key": key,
                "name": g["name"],
                "checks": g["n"],
                "passed": g["ok"],
                "pass_rate": round(rate, 4),
                "score": score,
                "g_m2": dust,
                "grade": grade_of(rate),
                "previous_pass_rate": round(prev["ok"] / prev["n"], 4) if prev else None,
                "previous_score": round(fmean(prev["scores"]), 2)
                if prev and prev["scores"]
                else None,
            }
        )
    rows.sort(
        key=lambda r: (
            -r["pass_rate"],
            -(r["score"] if r["score"] is not None else -1),
            r["g_m2"] if r["g_m2"] is not None else float("inf"),
            r["key"],
        )
    )
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def worst_roads(session: Session, period: str, limit: int = 10) -> list[dict]:
    rows = results(session, period, "road")
    return list(reversed(rows))[:limit]


def bulletin_xlsx(session: Session, period: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    first = True
    titles = {"road": "道路", "street": "街道", "unit": "责任单位", "contractor": "保洁公司"}
    for by in GROUPS:
        ws = book.active if first else book.create_sheet()
        first = False
        ws.title = titles[by]
        ws.append(["排名", "编码", "名称", "抽查次数", "合格", "合格率", "得分", "g/m²", "等级"])
        for r in results(session, period, by):
            ws.append(
                [
                    r["rank"],
                    r["key"],
                    r["name"],
                    r["checks"],
                    r["passed"],
                    r["pass_rate"],
                    r["score"],
                    r["g_m2"],
                    r["grade"],
                ]
            )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def scores_by_unit(session: Session, period: str, by: str = "unit") -> dict[str, float]:
    """The spot-check pass rate (0–100) per responsible unit code (or per street office's code
    with by="street"), for the monthly assessment's ranking (stats.hooks; weighted by the
    setting spotcheck_assessment_weight; 0 leaves it out)."""
    return {r["key"]: round(100 * r["pass_rate"], 2) for r in results(session, period, by)}
