"""Work logs (城管日志): a person's day, written for them from what the platform knows, which
they add to and correct, submit, and their unit's leader approves or returns.

The rules:
- One log per person per day (the local calendar day). Only its author writes it.
- The draft is written from `DRAFT_SOURCES`: each a small function of the day answering lines
  (the case actions the person took, each a line; their tracked route and its distance). A
  later source (spot checks, snow tasks) is one more function in that list. Writing the draft
  again adds only the lines not in it yet (each source line has its own `ref`).
- Before the first submission the author edits and removes lines freely. From the first
  submission on the log is append-only: a line is added as an amendment (who, when, which line
  it corrects), nothing is changed or removed.
- A leader of the log's unit (a leader whose own unit is it or above it; not the author)
  approves it or returns it with a comment; a returned log is amended and submitted again; an
  approved log is final. Administrators read the logs of their scope but do not review.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicgrid.auth import service as auth_service
from civicgrid.cases import queries as case_queries
from civicgrid.cases import workflow
from civicgrid.config import Settings
from civicgrid.kit.db import utcnow
from civicgrid.kit.sheets import xlsx_append
from civicgrid.kit.timefmt import local_day, local_today, local_zone
from civicgrid.media import service as media_service
from civicgrid.org import queries as org_queries
from civicgrid.org import service as org_service
from civicgrid.vehicles import queries as vehicle_queries
from civicgrid.vehicles.geodesy import distance_m
from civicgrid.worklogs import queries
from civicgrid.worklogs.exceptions import (
    BadLog,
    EntryNotFound,
    LogNotFound,
    NotAllowed,
    NotReviewer,
    NotYours,
    WrongState,
)
from civicgrid.worklogs.models import WorkLog, WorkLogEntry, WorkLogEvent, WorkLogPhoto

# the media sweep keeps the logs' photo files
media_service.keep_referenced(lambda session: queries.stored_keys(session))

STATE_NAMES = {
    "draft": ("草稿", "Draft"),
    "submitted": ("已提交", "Submitted"),
    "returned": ("已退回", "Returned"),
    "approved": ("已通过", "Approved"),
}
SOURCE_NAMES = {
    "own": ("本人填写", "Written"),
    "case": ("案件办理", "Case action"),
    "route": ("巡查轨迹", "Tracked route"),
}


# --- days --------------------------------------------------------------------------------------


def parse_day(text: str, name: str = "day") -> dt.date:
    try:
        day = dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise BadLog(
            f"{name} 应为日期 (如 2026-11-30)", f"{name} must be a date (e.g. 2026-11-30)"
        ) from None
    if not 2000 <= day.year <= 2099:
        raise BadLog(f"{name} 的年份须在 2000–2099 之间", f"{name}'s year must be 2000-2099")
    return day


def parse_month(text: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a month written 2026-11."""
    try:
        first = dt.date.fromisoformat(text.strip() + "-01")
    except (ValueError, AttributeError):
        raise BadLog(
            "month 应为月份 (如 2026-11)", "month must be a month (e.g. 2026-11)"
        ) from None
    if not 2000 <= first.year <= 2099 or len(text.strip()) != 7:
        raise BadLog(
            "month 应为 2000–2099 年间的月份 (如 2026-11)",
            "month must be a month of 2000-2099 (e.g. 2026-11)",
        )
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)


day_bounds = local_day
today = local_today


# --- the draft's sources -----------------------------------------------------------------------


@dataclass
class Day:
    """What a source is asked: whose day, which day."""

    session: Session
    person_id: int
    username: str
    day: dt.date
    start: dt.datetime
    end: dt.datetime


@dataclass
class Line:
    """A line a source writes. `ref` is the source's own key of it: writing the draft again adds
    only lines whose ref is not in the log yet (a line with `refresh` has its words, place and
    distance brought up to date while the log is a draft, unless its author changed it: the
    route grows during the day)."""

    at: dt.datetime
    text: str
    source: str
    ref: str
    lon: float | None = None
    lat: float | None = None
    case_code: str | None = None
    distance_m: float | None = None
    refresh: bool = False


def case_actions(day: Day) -> list[Line]:
    """Every case action the person took that day, each a line: time, action, case, note,
    at the case's place."""
    lines = []
    for e in case_queries.actions_by_actor(day.session, day.username, start=day.start, end=day.end):
        name = workflow.ACTION_NAMES_ZH.get(e["action"], e["action"])
        words = f"{name} 案件 {e['code']}"
        if e["address"]:
            words += f"（{e['address']}）"
        if e["note"]:
            words += f"：{e['note']}"
        lines.append(
            Line(
                at=e["at"],
                text=words,
                source="case",
                ref=f"event:{e['event_id']}",
                lon=e["lon"],
                lat=e["lat"],
                case_code=e["code"],
            )
        )
    return lines


def route_of(session: Session, person_id: int, day: dt.date) -> tuple[list, float]:
    """The person's tracked route that day (fixes in time order) and its length (m)."""
    start, end = day_bounds(day)
    points = vehicle_queries.person_track(session, person_id, start, end)
    total = sum(
        distance_m(a.lat, a.lon, b.lat, b.lon) for a, b in zip(points, points[1:], strict=False)
    )
    return points, total


def tracked_route(day: Day) -> list[Line]:
    """Where the person's phone is a tracker: one line with the route's span and distance."""
    points, total = route_of(day.session, day.person_id, day.day)
    if not points:
        return []
    zone = local_zone()
    first, last = points[0], points[-1]
    span = f"{first.time.astimezone(zone):%H:%M}–{last.time.astimezone(zone):%H:%M}"
    return [
        Line(
            at=first.time,
            text=f"巡查轨迹 {span}，里程 {total / 1000:.2f} 公里",
            source="route",
            ref="route",
            lon=first.lon,
            lat=first.lat,
            distance_m=round(total, 1),
            refresh=True,
        )
    ]


# One function per source; spot checks and snow tasks add theirs here.
DRAFT_SOURCES: list[Callable[[Day], list[Line]]] = [case_actions, tracked_route]


# --- reading and access ------------------------------------------------------------------------


def is_author(user, log: WorkLog) -> bool:
    return user.person_id == log.person_id


def _unit_code(session: Session, unit_id: int) -> str:
    return org_queries.code_names_by_id(session, [unit_id])[unit_id][0]


def led_codes(session: Session, user) -> set[str] | None:
    """The units whose logs this user reads as their leader (None: all). A leader leads their
    own unit and the units under it (a street office's leader its street, the district's
    leader the district); an administrator reads what their scope holds. Others: none."""
    if user.has_role("admin"):
        return auth_service.scope_codes(session, user)
    if user.has_role("leader"):
        return {u.code for u in org_service.units(session, user.person.org_unit)}
    return set()


def in_leader_scope(session: Session, user, unit_id: int) -> bool:
    """Whether this user leads the unit (or, an administrator, sees it)."""
    if not user.has_role("leader", "admin"):
        return False
    codes = led_codes(session, user)
    return codes is None or _unit_code(session, unit_id) in codes


def can_read(session: Session, user, log: WorkLog) -> bool:
    return is_author(user, log) or in_leader_scope(session, user, log.unit_id)


def readable_log(session: Session, user, log_id: int) -> WorkLog:
    """The log if this user may read it; 404 alike whether it is missing or not theirs."""
    log = session.get(WorkLog, log_id)
    if log is None or not can_read(session, user, log):
        raise LogNotFound(log_id)
    return log


def may_review(session: Session, user, log: WorkLog) -> bool:
    return (
        user.has_role("leader")
        and not is_author(user, log)
        and in_leader_scope(session, user, log.unit_id)
    )


# --- writing -----------------------------------------------------------------------------------


def _record(session: Session, log: WorkLog, action: str, by: str, comment: str = "") -> None:
    session.add(WorkLogEvent(log_id=log.id, at=utcnow(), action=action, by=by, comment=comment))


def _next_seq(session: Session, log: WorkLog) -> int:
    last = session.scalar(select(func.max(WorkLogEntry.seq)).where(WorkLogEntry.log_id == log.id))
    return (last or 0) + 1


def write_draft(session: Session, user, day: dt.date) -> WorkLog:
    """The user's log of the day: begun (from the sources) if there is none; while it is a
    draft, the sources' new lines are added (and refreshing lines brought up to date)."""
    log = queries.log_of(session, user.person_id, day)
    if log is None:
        try:
            with session.begin_nested():  # two first openings at once: one log, both see it
                log = WorkLog(
                    person_id=user.person_id,
                    day=day,
                    unit_id=user.person.org_unit_id,
                    state="draft",
                    review_comment="",
                )
                session.add(log)
        except IntegrityError:
            log = queries.log_of(session, user.person_id, day)
            if log is None:
                raise
    if log.state != "draft":
        return log
    start, end = day_bounds(day)
    ctx = Day(session, user.person_id, user.username, day, start, end)
    by_ref = {e.ref: e for e in log.entries if e.ref}
    seq = _next_seq(session, log)
    lines = [line for source in DRAFT_SOURCES for line in source(ctx)]
    for line in sorted(lines, key=lambda line: line.at):
        if line.distance_m is not None:
            log.distance_m = line.distance_m
        found = by_ref.get(line.ref)
        if found is not None:
            if line.refresh and found.edited_at is None:
                found.text, found.lon, found.lat = line.text, line.lon, line.lat
            continue
        entry = WorkLogEntry(
            log_id=log.id,
            seq=seq,
            at=line.at,
            lon=line.lon,
            lat=line.lat,
            text=line.text,
            case_code=line.case_code,
            source=line.source,
            ref=line.ref,
            amendment=False,
            created_by=user.username,
        )
        seq += 1
        session.add(entry)
        by_ref[line.ref] = entry
    session.flush()
    session.expire(log, ["entries"])
    return log


def _own_log(user, log: WorkLog) -> None:
    if not is_author(user, log):
        raise NotYours()


@dataclass
class EntryIn:
    at: dt.datetime
    text: str
    lon: float | None = None
    lat: float | None = None
    case_code: str | None = None
    corrects: int | None = None


def _check_entry(session: Session, settings: Settings, log: WorkLog, body: EntryIn) -> None:
    start, end = day_bounds(log.day)
    if not start <= body.at < end:
        raise BadLog(f"at 须在 {log.day} 当天之内", f"at must be within {log.day}")
    text = body.text.strip()
    if not text:
        raise BadLog("text 不能为空", "text must not be empty")
    if len(text) > settings.worklog_entry_max_chars:
        raise BadLog(
            f"text 最多 {settings.worklog_entry_max_chars} 字",
            f"text has at most {settings.worklog_entry_max_chars} characters",
        )
    if (body.lon is None) != (body.lat is None):
        raise BadLog("lon 与 lat 须同时给出", "give both lon and lat, or neither")
    if body.case_code and not case_queries.existing_codes(session, [body.case_code]):
        raise BadLog(
            f"case_code: 找不到案件 {body.case_code}", f"case_code: no case {body.case_code}"
        )


def add_entry(
    session: Session, settings: Settings, user, log: WorkLog, body: EntryIn
) -> WorkLogEntry:
    """A line the author adds: in a draft a plain line; after the first submission an amendment
    (recorded in the log's history), refused once the log is approved."""
    _own_log(user, log)
    if log.state == "approved":
        raise WrongState("日志已审核通过，不能再修改", "the log is approved: it cannot change")
    _check_entry(session, settings, log, body)
    amendment = log.submitted_at is not None
    if body.corrects is not None:
        if not amendment:
            raise BadLog("草稿可直接修改条目, 无需 corrects", "corrects is for amendments only")
        if body.corrects not in {e.seq for e in log.entries}:
            raise BadLog(
                f"corrects: 没有第 {body.corrects} 条", f"corrects: no line {body.corrects}"
            )
    entry = WorkLogEntry(
        log_id=log.id,
        seq=_next_seq(session, log),
        at=body.at,
        lon=body.lon,
        lat=body.lat,
        text=body.text.strip(),
        case_code=body.case_code or None,
        source="own",
        amendment=amendment,
        corrects=body.corrects,
        created_by=user.username,
    )
    session.add(entry)
    session.flush()
    if amendment:
        _record(session, log, "amend", user.username, f"#{entry.seq}")
    session.expire(log, ["entries"])
    return entry


def _draft_entry(session: Session, user, log: WorkLog, entry_id: int) -> WorkLogEntry:
    _own_log(user, log)
    entry = session.get(WorkLogEntry, entry_id)
    if entry is None or entry.log_id != log.id:
        raise EntryNotFound(entry_id)
    if log.submitted_at is not None:
        raise WrongState(
            "日志提交后只能追加更正, 不能修改或删除已有条目",
            "after submission a log is only amended: its lines are not changed or removed",
        )
    return entry


def edit_entry(
    session: Session, settings: Settings, user, log: WorkLog, entry_id: int, body: EntryIn
) -> WorkLogEntry:
    """Change a line of a draft (never submitted)."""
    entry = _draft_entry(session, user, log, entry_id)
    if body.corrects is not None:
        raise BadLog("corrects 只用于更正", "corrects is for amendments only")
    _check_entry(session, settings, log, body)
    entry.at, entry.text = body.at, body.text.strip()
    entry.lon, entry.lat, entry.case_code = body.lon, body.lat, body.case_code or None
    entry.edited_at = utcnow()
    session.flush()
    return entry


def remove_entry(session: Session, settings: Settings, user, log: WorkLog, entry_id: int) -> None:
    """Remove a line of a draft (never submitted), with its photos' rows (the sweep removes
    their files)."""
    entry = _draft_entry(session, user, log, entry_id)
    session.delete(entry)
    session.flush()
    session.expire(log, ["entries"])


def add_photos(
    session: Session,
    settings: Settings,
    user,
    log: WorkLog,
    entry_id: int,
    files: list[tuple[str, bytes]],
) -> list[WorkLogPhoto]:
    """Photos of a line: checked and re-encoded by media, stored in its store. A draft's lines
    and, after submission, the amendments take photos (an amendment's photos are recorded)."""
    _own_log(user, log)
    entry = session.get(WorkLogEntry, entry_id)
    if entry is None or entry.log_id != log.id:
        raise EntryNotFound(entry_id)
    if log.state == "approved":
        raise WrongState("日志已审核通过，不能再修改", "the log is approved: it cannot change")
    if log.submitted_at is not None and not entry.amendment:
        raise WrongState(
            "日志提交后只能给更正条目添加照片", "after submission only amendments take photos"
        )
    if not files:
        raise BadLog("photos: 请选择照片", "photos: choose a photo")
    if len(entry.photos) + len(files) > media_service.MAX_PHOTOS:
        raise BadLog(
            f"photos: 每条最多 {media_service.MAX_PHOTOS} 张照片",
            f"photos: at most {media_service.MAX_PHOTOS} photos a line",
        )
    checked = media_service.check_images(files, settings)
    stored = [media_service.store(settings, image) for image in checked]
    pending = session.info.setdefault("pending_files", [])
    store = media_service.storage(settings)
    photos = []
    for image in stored:
        pending.extend([(store, image.key), (store, image.thumb_key)])
        photo = WorkLogPhoto(entry_id=entry.id, **image.row())
        session.add(photo)
        photos.append(photo)
    session.flush()
    if entry.amendment:
        _record(session, log, "amend", user.username, f"#{entry.seq} +{len(photos)} photo")
    session.expire(entry, ["photos"])
    return photos


def submit(session: Session, user, log: WorkLog) -> WorkLog:
    _own_log(user, log)
    if log.state not in ("draft", "returned"):
        raise WrongState(
            f"日志状态为{STATE_NAMES[log.state][0]}，不能提交",
            f"a {log.state} log is not submitted",
        )
    if not log.entries:
        raise BadLog("日志没有任何条目, 不能提交", "the log has no lines to submit")
    log.state = "submitted"
    log.submitted_at = utcnow()
    _record(session, log, "submit", user.username)
    session.flush()
    return log


def review(session: Session, user, log: WorkLog, *, decision: str, comment: str = "") -> WorkLog:
    """A leader of the log's unit approves it, or returns it with a comment."""
    if not may_review(session, user, log):
        raise NotReviewer()
    if log.state != "submitted":
        raise WrongState(
            f"日志状态为{STATE_NAMES[log.state][0]}，只能审核已提交的日志",
            f"a {log.state} log is not reviewed: only a submitted one",
        )
    comment = comment.strip()
    if decision == "return" and not comment:
        raise BadLog("comment: 退回须写明原因", "comment: a return says why")
    if decision not in ("approve", "return"):
        raise BadLog("decision 应为 approve 或 return", "decision must be approve or return")
    log.state = "approved" if decision == "approve" else "returned"
    log.reviewed_at, log.reviewed_by, log.review_comment = utcnow(), user.username, comment
    _record(session, log, decision, user.username, comment)
    session.flush()
    return log


# --- the leader's page: who has not submitted --------------------------------------------------


def writers(session: Session, settings: Settings, unit_codes: set[str] | None) -> list[dict]:
    """The people who write a log every day (an enabled account with one of the settings'
    roles) in these units (None: all): person id, name, username, unit code and name."""
    roles = {r.strip() for r in settings.worklog_roles.split(",") if r.strip()}
    found = []
    for u in auth_service.list_users(session):
        if u.disabled or not roles.intersection(u.roles):
            continue
        unit = u.person.org_unit
        if unit_codes is not None and unit.code not in unit_codes:
            continue
        found.append(
            {
                "person_id": u.person_id,
                "name": u.person.name,
                "username": u.username,
                "unit": unit.code,
                "unit_name": unit.name,
            }
        )
    return sorted(found, key=lambda p: (p["unit"], p["name"], p["person_id"]))


def units_under(session: Session, user, unit_code: str | None) -> set[str] | None:
    """The unit codes a leader's page covers: the chosen unit and its sub-units, within the
    user's scope (None: the whole scope)."""
    scope = led_codes(session, user)
    if not unit_code:
        return scope
    unit = org_service.find_unit(session, unit_code)
    if unit is None or (scope is not None and unit.code not in scope):
        raise BadLog(f"unit: 找不到单位 {unit_code}", f"unit: no unit {unit_code}")
    return {u.code for u in org_service.units(session, unit)}


def not_submitted(
    session: Session, settings: Settings, user, day: dt.date, unit_code: str | None
) -> list[dict]:
    """Per unit, the writers whose log of the day is not submitted (none, a draft, or returned
    and not yet submitted again)."""
    people = writers(session, settings, units_under(session, user, unit_code))
    logs = queries.logs_of_day(session, day, [p["person_id"] for p in people])
    out: dict[str, dict] = {}
    for p in people:
        log = logs.get(p["person_id"])
        state = log.state if log else "none"
        unit = out.setdefault(
            p["unit"], {"unit": p["unit"], "unit_name": p["unit_name"], "writers": 0, "missing": []}
        )
        unit["writers"] += 1
        if state in ("none", "draft", "returned"):
            unit["missing"].append(
                {
                    "person_id": p["person_id"],
                    "name": p["name"],
                    "username": p["username"],
                    "state": state,
                    "log_id": log.id if log else None,
                }
            )
    return list(out.values())


def to_review(session: Session, user, day: dt.date, unit_code: str | None) -> list[WorkLog]:
    """The submitted logs of the day in the leader's units."""
    codes = units_under(session, user, unit_code)
    query = select(WorkLog).where(WorkLog.day == day).order_by(WorkLog.id)
    logs = list(session.scalars(query))
    if codes is None:
        return logs
    names = org_queries.code_names_by_id(session, {log.unit_id for log in logs})
    return [log for log in logs if names[log.unit_id][0] in codes]


# --- monthly exports ---------------------------------------------------------------------------

HEADERS_EN = (
    "Day",
    "Name",
    "Unit",
    "Log state",
    "No.",
    "Time",
    "Words",
    "Source",
    "Amendment",
    "Linked case",
    "Longitude",
    "Latitude",
    "Photos",
    "Distance (km)",
    "Reviewed by",
    "Review comment",
)
HEADERS = (
    "日期",
    "姓名",
    "单位",
    "日志状态",
    "序号",
    "时间",
    "内容",
    "来源",
    "更正",
    "关联案件",
    "经度",
    "纬度",
    "照片数",
    "里程(公里)",
    "审核人",
    "审核意见",
)


def month_rows(
    session: Session, user, month: str, *, person_id: int | None, unit_code: str | None
) -> tuple[str, list[WorkLog], dict[int, str], dict[int, tuple[str, str]]]:
    """The logs of a month of one person or of one unit (with its sub-units) that this user
    may read: (whose: the person's or unit's name, logs, names by person, (code, name) by
    unit id)."""
    first, last = parse_month(month)
    if (person_id is None) == (unit_code is None):
        raise BadLog("请给出 person 或 unit 之一", "give one of person or unit")
    if person_id is not None:
        names = org_queries.person_names_by_id(session, [person_id])
        if person_id not in names:
            raise BadLog(f"person: 找不到人员 {person_id}", f"person: no person {person_id}")
        logs = queries.logs_between(session, [person_id], first, last)
        if person_id != user.person_id:
            if not user.has_role("leader", "admin"):
                raise NotAllowed()
            scope = led_codes(session, user)
            if scope is not None:  # only the days they wrote in a unit this leader leads
                units = org_queries.code_names_by_id(session, {log.unit_id for log in logs})
                logs = [log for log in logs if units[log.unit_id][0] in scope]
        title = names[person_id]
    else:
        if not user.has_role("leader", "admin"):
            raise NotAllowed()
        codes = units_under(session, user, unit_code)  # within the leader's scope
        ids = (
            None
            if codes is None
            else [u.id for u in org_queries.units_by_code(session, codes).values()]
        )
        logs = queries.logs_of_units(session, ids, first, last)
        title = org_queries.names_by_code(session, [unit_code]).get(unit_code, unit_code)
    names = org_queries.person_names_by_id(session, {log.person_id for log in logs})
    units = org_queries.code_names_by_id(session, {log.unit_id for log in logs})
    return title, logs, names, units


def export_lines(logs, names, units, lang: int = 0) -> list[list]:
    """One row per line of each log (HEADERS' columns); the states and sources in Chinese, or
    in English with lang=1 (the printable page in English)."""
    zone = local_zone()
    amended = ("更正第{}条", "corrects #{}")[lang]
    added = ("追加", "added")[lang]
    rows = []
    for log in logs:
        for e in log.entries:
            rows.append(
                [
                    log.day.isoformat(),
                    names.get(log.person_id, ""),
                    units[log.unit_id][1],
                    STATE_NAMES[log.state][lang],
                    e.seq,
                    f"{e.at.astimezone(zone):%H:%M}",
                    e.text,
                    SOURCE_NAMES.get(e.source, (e.source, e.source))[lang],
                    (amended.format(e.corrects) if e.corrects else added) if e.amendment else "",
                    e.case_code or "",
                    e.lon,
                    e.lat,
                    len(e.photos),
                    round(log.distance_m / 1000, 2) if log.distance_m is not None else None,
                    log.reviewed_by or "",
                    log.review_comment,
                ]
            )
    return rows


def xlsx(whose: str, month: str, rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "工作日志"
    xlsx_append(sheet, [f"{whose} {month} 工作日志"])
    xlsx_append(sheet, HEADERS)
    for row in rows:
        xlsx_append(sheet, row)
    widths = (11, 10, 16, 8, 5, 6, 50, 9, 10, 18, 11, 10, 6, 9, 10, 20)
    for col, width in zip("ABCDEFGHIJKLMNOP", widths, strict=True):
        sheet.column_dimensions[col].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
