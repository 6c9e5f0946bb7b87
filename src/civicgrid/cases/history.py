"""Case histories in and out as JSON Lines (reference/case-history-format.md).

An import is all or nothing for the file, and holds the write lock only in short steps:

1. read: the whole file is parsed and checked in a read-only transaction (on SQLite it takes no
   write lock); every problem is reported as `line N: reason`.
2. prepare: each case row is the projection of its events by the same fold the live workflow
   uses, its point placed in the grids; in memory, outside any transaction.
3. stage: the rows are written into two staging tables in chunks of BATCH cases, each chunk a
   transaction of its own (a short write-lock hold on SQLite).
4. swap: one transaction moves them into cases and case_events with set-based statements
   (UPDATE ... FROM, INSERT ... SELECT). It is the one longer hold: as long as the database
   takes to write the rows and their indexes, with no parsing or Python in it.

Nothing of the file is visible before the swap commits; a failure before it drops the staging
tables, and a crash leaves at most those two tables, which the next import drops first.

Replacing (--replace) updates the existing case row in place: its id stays, so do its photos,
the reporter's contact and the tracking secret. Its events are rewritten in place by seq, the
surplus deleted, the missing inserted; a photo stays on the event of its seq when the new
history has the same action there, and is otherwise kept on the case with no event (never
deleted: photos.event_id cascades from case_events). Rewriting rather than deleting the events
also spares the database a search of photos for every deleted event (photos.event_id has no
index).

The staging tables are ordinary tables (import_stage_cases, import_stage_events), not TEMP
ones. SQLite itself would let a TEMP table be written beside another connection's writer (a
deferred transaction that writes only the temp schema takes no lock on the main file), but here
every transaction that may write begins with BEGIN IMMEDIATE under the process's writer lock,
and a read-only one refuses TEMP writes too (PRAGMA query_only covers the temp schema), so TEMP
tables would need a third kind of transaction in db.py; and a TEMP table lives on one
connection, which would tie the whole import to one connection outside `session_scope`. The
fixed names need one import at a time per database: an flock beside the SQLite file, a
PostgreSQL advisory lock per schema (`_one_import_at_a_time`). PostgreSQL has no global write
lock; the same statements run there, the swap locking only the rows it writes.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, func, select, text
from sqlalchemy.orm import Session

from civicgrid.cases import rows as caserows
from civicgrid.cases import workflow
from civicgrid.cases.calendar import WorkCalendar
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.categories import queries as categories_queries
from civicgrid.categories import service as cat_service
from civicgrid.config import get_settings
from civicgrid.geo import datum as datum_mod
from civicgrid.geo.index import index as geo_index
from civicgrid.kit.db import UTCDateTime, get_engine, session_scope, utcnow
from civicgrid.kit.errors import BadRequest, Conflict, Invalid
from civicgrid.kit.text import check_text
from civicgrid.kit.timefmt import iso_local
from civicgrid.org import queries as org_queries

TOP_FIELDS = (
    "code",
    "source",
    "category",
    "urgency",
    "lon",
    "lat",
    "datum",
    "address",
    "description",
    "events",
)
BATCH = 1000
CODE_PATTERN = caserows.CODE_PATTERN
COMPONENT = "component:"


class HistoryInvalid(Invalid):
    def __init__(self, problems: list[str]):
        shown = "; ".join(problems[:20])
        more = f" (+{len(problems) - 20})" if len(problems) > 20 else ""
        super().__init__(
            f"文件有 {len(problems)} 处错误, 未导入: {shown}{more}",
            f"the file has {len(problems)} problem(s); nothing was imported",
            extra={"problems": problems},
        )
        self.problems = problems


@dataclass
class Parsed:
    line: int
    row: dict
    events: list[dict] = field(default_factory=list)


@dataclass
class ImportReport:
    imported: int = 0
    replaced: int = 0
    skipped: list[str] = field(default_factory=list)


class _Bad(Exception):
    pass


def _time(value, n: int, field: str) -> dt.datetime:
    """An aware time in UTC; the message names event n's field (built only on error)."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _Bad(f"event {n} {field} {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise _Bad(f"event {n} {field} {value!r} has no UTC offset")
    return moment.astimezone(dt.UTC)


def _text(value, what: str, limit: int, *, multiline: bool = True) -> str:
    """Text of the line: the platform's one rule (kit.text), refused as BadText naming `what`."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad(f"{what} must be text")
    return check_text(value, what, max_length=limit, multiline=multiline)


@dataclass
class _Context:
    """What the lines are checked against: the catalogue, the org units, the working calendar,
    the time limits (for a dispatch's limit unit when the file has none) and the yellow mark."""

    session: Session
    categories: dict[str, set[str]]
    units: set[str]
    calendar: WorkCalendar
    fraction: float
    limit_units: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def limit_unit(self, kind: str, code: str, urgency: str) -> str:
        key = (kind, code, urgency)
        if key not in self.limit_units:
            cat = cat_service.category_ref(self.session, code, kind)
            self.limit_units[key] = cat_service.cached_limit(self.session, cat, urgency).unit
        return self.limit_units[key]


def _category(value, categories: dict[str, set[str]]) -> tuple[str, str]:
    """(kind, code) of the line's category: a bare code is the event category of that code (a
    component where the catalogue has no such event), `component:01002` a component."""
    if isinstance(value, str) and value.startswith(COMPONENT):
        code = value[len(COMPONENT) :]
        if "component" in categories.get(code, ()):
            return "component", code
    elif isinstance(value, str) and value in categories:
        kinds = categories[value]
        return ("event" if "event" in kinds else "component"), value
    raise _Bad(f"unknown category {value!r}")


def _parse(obj, ctx: _Context) -> tuple[dict, list[dict]]:
    if not isinstance(obj, dict):
        raise _Bad("a line must be a JSON object")
    code = obj.get("code")
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        shown = repr(code)[:60] if isinstance(code, str) else type(code).__name__
        raise _Bad(f"code {shown} is not 1 to 40 letters, digits or hyphens")
    kind, category = _category(obj.get("category"), ctx.categories)
    urgency = obj.get("urgency", "normal")
    source = obj.get("source")
    address = _text(obj.get("address"), "address", caserows.MAX_ADDRESS, multiline=False)
    description = _text(obj.get("description"), "description", caserows.MAX_TEXT)
    caserows.check_header(source=source, urgency=urgency, address=address, description=description)
    lon, lat = obj.get("lon"), obj.get("lat")
    if lon is not None or lat is not None:
        lon, lat = _point(obj)
    events_in = obj.get("events")
    if not isinstance(events_in, list) or not events_in:
        raise _Bad("events must be a non-empty list")
    case = caserows.draft(
        code=code,
        source=source,
        category_kind=kind,
        category_code=category,
        urgency=urgency,
        lon=lon,
        lat=lat,
        address=address,
        description=description,
    )
    # where the case has no point, it waits for one; where it has, its grids say (`_place`)
    case.queue_reason = "no_location" if lon is None else caserows.TO_PLACE
    events: list[dict] = []
    for n, ev in enumerate(events_in, start=1):
        if not isinstance(ev, dict):
            raise _Bad(f"event {n}: not an object")
        action = ev.get("action")
        if action not in workflow.ACTIONS:
            raise _Bad(f"event {n}: unknown action {action!r}")
        if n == 1 and action != "report":
            raise _Bad("the first event must be report")
        at = _time(ev.get("at"), n, "at")
        if case.last_event_at is not None and at < case.last_event_at:
            raise _Bad(f"event {n}: time {ev.get('at')} is before the event before it")
        if workflow.next_state(case.state, action, case.state_before_suspend) is None:
            raise _Bad(f"event {n}: {action} is not allowed when the case is {case.state}")
        spec = workflow.PAYLOADS[action]
        unknown = [k for k in ev if k not in spec and k not in workflow.EVENT_FIELDS]
        if unknown:
            raise _Bad(f"event {n}: unknown field(s) {', '.join(sorted(unknown))}")
        try:
            payload = caserows.check_payload(action, ev, at=at, history=True, units=ctx.units)
        except BadRequest as exc:
            raise _Bad(f"event {n}: {exc.en}") from None
        note = _text(ev.get("note"), f"event {n} note", caserows.MAX_TEXT)
        public = ev.get("public", False)
        if not isinstance(public, bool):
            raise _Bad(f"event {n}: public must be true or false")
        if public and not note:
            raise _Bad(f"event {n}: public is for a note, and the event has none")
        by = ev.get("by")
        if by is not None:
            by = _text(by, f"event {n} by", caserows.MAX_BY, multiline=False) or None
        if action == "dispatch":
            unit = payload.get("limit_unit") or ctx.limit_unit(kind, category, urgency)
            payload["limit_unit"] = unit
        if action in ("dispatch", "extend_approve") and "warn_at" not in payload:
            unit = payload.get("limit_unit") or case.limit_unit
            payload["warn_at"] = caserows.warn_at(
                ctx.calendar, at, payload["deadline"], unit, ctx.fraction
            )
        if action == "relocate":
            payload["lon"], payload["lat"] = datum_mod.to_wgs84(
                payload["lon"], payload["lat"], payload.get("datum", "wgs84")
            )
            payload["datum"] = "wgs84"
            payload["was"] = {"lon": case.lon, "lat": case.lat}
        row = caserows.apply(
            case,
            action,
            at,
            payload,
            actor=by,
            role="import",
            note=note,
            public=public,
            calendar=ctx.calendar,
        )
        events.append(row)
    return caserows.case_row(case), events


def _point(obj) -> tuple[float, float]:
    lon, lat = obj.get("lon"), obj.get("lat")
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in (lon, lat)
    ):
        raise _Bad("bad coordinate: lon and lat must both be numbers")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise _Bad(f"bad coordinate: lon {lon}, lat {lat} out of range")
    name = obj.get("datum", "wgs84")
    if name not in datum_mod.DATUMS:
        raise _Bad(f"unknown datum {name!r}")
    return datum_mod.to_wgs84(float(lon), float(lat), name)


def validate(
    session: Session, lines: Iterable[str], *, replace: bool = False
) -> tuple[list[Parsed], list[str]]:
    """Parse and check every line; returns the valid cases and the `line N: reason` problems."""
    settings = get_settings()
    ctx = _Context(
        session=session,
        categories=categories_queries.kinds_of_each_code(session),
        units=org_queries.all_codes(session),
        calendar=WorkCalendar.load(session, settings),
        fraction=settings.light_yellow_fraction,
    )
    parsed: list[Parsed] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
            row, events = _parse(obj, ctx)
        except json.JSONDecodeError as exc:
            problems.append(f"line {n}: not valid JSON ({exc.msg})")
            continue
        except _Bad as exc:
            problems.append(f"line {n}: {exc}")
            continue
        except BadRequest as exc:
            problems.append(f"line {n}: {exc.en}")
            continue
        if row["code"] in seen:
            problems.append(f"line {n}: code {row['code']} repeats line {seen[row['code']]}")
            continue
        seen[row["code"]] = n
        parsed.append(Parsed(n, row, events))
    if not replace:
        codes = list(seen)
        existing: set[str] = set()
        for i in range(0, len(codes), 900):
            existing.update(
                session.scalars(select(Case.code).where(Case.code.in_(codes[i : i + 900])))
            )
        problems.extend(_exists(seen[code], code) for code in existing)
        parsed = [p for p in parsed if p.row["code"] not in existing]
    problems.sort(key=_line_number)
    return parsed, problems


def _exists(line: int, code: str) -> str:
    return f"line {line}: code {code} exists already (use --replace)"


def _place(rows: list[dict]) -> None:
    """The grid, community and street of each case's (last) point; an undispatched case with
    none is on the dispatcher's queue for it."""
    located = [r for r in rows if r["lon"] is not None]
    found = geo_index.locate_many([(r["lon"], r["lat"]) for r in located])
    for row, hits in zip(located, found, strict=True):
        for level in caserows.PLACE_LEVELS:
            hit = hits[level]
            row[f"{level}_code"] = hit.code if hit else None
    for r in rows:
        if r["lon"] is None:
            r.update(grid_code=None, community_code=None, street_code=None)
        r["queue_reason"] = caserows.placed_reason(r)


# The case columns an import stages: all but the id (the database's, or the replaced case's),
# the version and the row's own times (set by the swap).
STAGED_COLUMNS = tuple(
    c for c in caserows.CASE_COLUMNS if c not in ("version", "created_at", "updated_at")
)
EVENT_COLUMNS = tuple(c for c in caserows.EVENT_COLUMNS if c != "case_id")
# The columns that hold times: the driver gets them as SQLAlchemy's text (see _time_converter).
_TIME_COLUMNS = {
    column.name
    for table in (Case.__table__, CaseEvent.__table__)
    for column in table.columns
    if isinstance(column.type, UTCDateTime)
}

# The staging tables, in the database's own schema, typed as the tables they feed. `pos`, the
# case's place in the order of report times, keys both: new cases get their ids in that order
# (oldest first, as export lists them), which makes the swap's inserts into the time indexes
# (ix_cases_kpi leads with registered_at) appends rather than scattered writes: a third faster.
# `line` is the case's line in the file; `case_id` and `old_last_seq` are the replaced case's,
# filled in by the swap.
_stage = MetaData()
STAGE_CASES = Table(
    "import_stage_cases",
    _stage,
    Column("pos", Integer, primary_key=True, autoincrement=False),
    Column("line", Integer),
    Column("case_id", Integer, index=True),
    Column("old_last_seq", Integer),
    *(Column(name, Case.__table__.c[name].type) for name in STAGED_COLUMNS),
)
STAGE_EVENTS = Table(
    "import_stage_events",
    _stage,
    Column("pos", Integer, primary_key=True, autoincrement=False),
    *(
        Column(name, CaseEvent.__table__.c[name].type, primary_key=name == "seq")
        for name in EVENT_COLUMNS
    ),
)


def _time_converter(dialect: str):
    if dialect == "sqlite":
        # The exact text SQLAlchemy's SQLite DATETIME writes, so that comparisons still hold.
        def convert(value):
            if value is None:
                return None
            if value.tzinfo is dt.UTC:  # the usual case: drop the "+00:00" of the text
                return value.isoformat(" ", "microseconds")[:-6]
            return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    else:

        def convert(value):
            return value

    return convert


def _staged_rows(
    chunk: list[Parsed], first_pos: int, dialect: str
) -> tuple[list[tuple], list[tuple]]:
    """The staging rows of validated cases, in the driver's types: places found in the grids,
    times as the dialect stores them. Only memory: runs outside any lock."""
    when = _time_converter(dialect)
    dumps = orjson.dumps
    rows = [p.row for p in chunk]
    _place(rows)
    case_rows, event_rows = [], []
    for pos, (p, r) in enumerate(zip(chunk, rows, strict=True), start=first_pos):
        case_rows.append(
            (
                pos,
                p.line,
                None,
                None,
                *(when(r[c]) if c in _TIME_COLUMNS else r[c] for c in STAGED_COLUMNS),
            )
        )
        for e in p.events:
            event_rows.append(
                (
                    pos,
                    *(
                        (dumps(e[c]).decode() if e[c] else "{}")
                        if c == "payload"
                        else when(e[c])
                        if c in _TIME_COLUMNS
                        else e[c]
                        for c in EVENT_COLUMNS
                    ),
                )
            )
    return case_rows, event_rows


def _bulk(session: Session, table: Table, rows: list[tuple]) -> None:
    """executemany straight to the driver: SQLAlchemy's per-value type processing costs more
    than the database itself here. Values must already be in the driver's types, in the
    table's column order."""
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = [c.name for c in table.columns]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
    conn.exec_driver_sql(sql, rows)


class ImportRunning(Conflict):
    def __init__(self):
        super().__init__(
            "另一个案件导入 (import-cases) 正在进行, 请等它结束后再导入",
            "another import-cases is running on this database; import when it has finished",
        )


@contextmanager
def _one_import_at_a_time() -> Iterator[None]:
    """Hold the database's import lock, or raise ImportRunning: an flock beside a SQLite file, a
    session advisory lock per schema on PostgreSQL (released if the process dies). Whoever
    holds it knows that a staging table it finds was left by a crashed import."""
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            key = "SELECT hashtext('civicgrid import-cases ' || current_schema())"
            key = conn.exec_driver_sql(key).scalar()
            if not conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar():
                raise ImportRunning()
            conn.commit()  # the lock is the session's: it outlives this transaction
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
                conn.commit()
        return
    path = engine.url.database
    if not path or path == ":memory:":  # one connection, one process: nobody to exclude
        yield
        return
    fd = os.open(f"{path}-import.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ImportRunning() from None
        yield
    finally:
        os.close(fd)  # releases the flock


def _drop_stage() -> None:
    # one transaction per table: freeing a large table's pages is a write-lock hold of its own
    for table in reversed(_stage.sorted_tables):
        with session_scope() as session:
            table.drop(session.connection(), checkfirst=True)


def _create_stage() -> None:
    with session_scope() as session:
        _stage.create_all(session.connection())


def _columns(names, prefix: str = "") -> str:
    return ", ".join(f"{prefix}{n}" for n in names)


_SETS = ", ".join(f"{n} = s.{n}" for n in STAGED_COLUMNS)
_EVENT_SETS = ", ".join(f"{n} = n.{n}" for n in EVENT_COLUMNS if n != "seq")
# The swap, statement by statement (see the module's docstring). "s" is a staged case, "n" one
# of its staged events, "e" an event of the case it replaces.
_SWAP_FIND = text(
    "UPDATE import_stage_cases SET case_id = cases.id, old_last_seq = cases.last_seq "
    "FROM cases WHERE cases.code = import_stage_cases.code"
)
_SWAP_CLASHES = text(
    "SELECT line, code FROM import_stage_cases WHERE case_id IS NOT NULL ORDER BY line"
)
_SWAP_UNSTAGE = (
    text(
        "DELETE FROM import_stage_events WHERE pos IN "
        "(SELECT pos FROM import_stage_cases WHERE case_id IS NOT NULL)"
    ),
    text("DELETE FROM import_stage_cases WHERE case_id IS NOT NULL"),
)
# A photo keeps its event when the new history has the same action at the same seq (the event
# row is rewritten in place below); otherwise it stays with the case, on no event. Each
# statement starts from the replaced cases (by the index on case_id), so that replacing a few
# cases costs a few lookups, whatever the size of photos and of the file.
_SWAP_UNPIN_PHOTOS = text(
    "UPDATE photos SET event_id = NULL "
    "WHERE case_id IN (SELECT case_id FROM import_stage_cases WHERE case_id IS NOT NULL) "
    "AND event_id IS NOT NULL AND NOT EXISTS ("
    " SELECT 1 FROM case_events e"
    " JOIN import_stage_cases s ON s.case_id = e.case_id"
    " JOIN import_stage_events n ON n.pos = s.pos AND n.seq = e.seq AND n.action = e.action"
    " WHERE e.id = photos.event_id)"
)
_SWAP_REWRITE_EVENTS = text(
    f"UPDATE case_events SET {_EVENT_SETS} "
    # CROSS JOIN: SQLite then takes the tables in this order (its planner has no statistics
    # of the staging tables and would read every staged event)
    "FROM import_stage_cases s CROSS JOIN import_stage_events n "
    "WHERE s.case_id IS NOT NULL AND n.pos = s.pos "
    "AND case_events.case_id = s.case_id AND case_events.seq = n.seq"
)
_SWAP_UPDATE_CASES = text(
    f"UPDATE cases SET {_SETS}, version = cases.version + 1, updated_at = :now "
    "FROM import_stage_cases s WHERE s.case_id IS NOT NULL AND cases.id = s.case_id"
).bindparams(bindparam("now", type_=UTCDateTime()))
_SWAP_DROP_SURPLUS_EVENTS = text(
    "DELETE FROM case_events "
    "WHERE case_id IN (SELECT case_id FROM import_stage_cases WHERE case_id IS NOT NULL) "
    "AND seq > (SELECT last_seq FROM cases WHERE cases.id = case_events.case_id)"
)
_SWAP_INSERT_CASES = text(
    f"INSERT INTO cases ({_columns(STAGED_COLUMNS)}, version, created_at, updated_at) "
    f"SELECT {_columns(STAGED_COLUMNS, 's.')}, 1, :now, :now FROM import_stage_cases s "
    "WHERE s.case_id IS NULL ORDER BY s.pos"
).bindparams(bindparam("now", type_=UTCDateTime()))
_SWAP_INSERT_EVENTS = text(
    f"INSERT INTO case_events (case_id, {_columns(EVENT_COLUMNS)}) "
    f"SELECT c.id, {_columns(EVENT_COLUMNS, 'n.')} FROM import_stage_events n "
    "JOIN import_stage_cases s ON s.pos = n.pos JOIN cases c ON c.code = s.code "
    "WHERE s.old_last_seq IS NULL OR n.seq > s.old_last_seq ORDER BY n.pos, n.seq"
)


def _swap(session: Session, *, replace: bool, skip_invalid: bool) -> ImportReport:
    """Move the staged cases into cases and case_events, in the caller's one transaction."""
    report = ImportReport()
    conn = session.connection()
    conn.execute(_SWAP_FIND)
    found = conn.execute(_SWAP_CLASHES).all()
    if found and not replace:
        # made since the file was read (a live report, another import): as in `validate`
        clashes = [_exists(line, code) for line, code in found]
        if not skip_invalid:
            raise HistoryInvalid(clashes)
        for statement in _SWAP_UNSTAGE:
            conn.execute(statement)
        report.skipped = clashes
    elif found:
        conn.execute(_SWAP_UNPIN_PHOTOS)
        conn.execute(_SWAP_REWRITE_EVENTS)
        conn.execute(_SWAP_UPDATE_CASES, {"now": utcnow()})
        conn.execute(_SWAP_DROP_SURPLUS_EVENTS)
        report.replaced = len(found)
    conn.execute(_SWAP_INSERT_CASES, {"now": utcnow()})
    conn.execute(_SWAP_INSERT_EVENTS)
    report.imported = conn.execute(select(func.count()).select_from(STAGE_CASES)).scalar_one()
    return report


def import_lines(
    lines: Iterable[str],
    *,
    skip_invalid: bool = False,
    replace: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a file of case histories, all or nothing, in transactions of its own.

    The whole file is validated first; on any problem nothing is imported unless
    `skip_invalid`, when the valid lines are imported and the rest listed. With `replace`, a
    code that exists is updated in place (same id: its photos, contact and tracking secret
    stay); without, it is a problem of its line. Nothing of the file is visible before the
    swap commits, and the staging tables are gone when this returns or raises. `progress`
    is called with (cases staged, cases to stage) after each chunk.
    """
    with session_scope(read_only=True) as session:
        parsed, problems = validate(session, lines, replace=replace)
        geo_index.ensure_fresh(session)
        dialect = session.get_bind().dialect.name
    if problems and not skip_invalid:
        raise HistoryInvalid(problems)
    if not parsed:
        return ImportReport(skipped=problems)
    parsed.sort(key=lambda p: (p.row["reported_at"], p.line))  # see STAGE_CASES
    with _one_import_at_a_time():
        _drop_stage()  # a crashed import's, if any: none can be running
        try:
            _create_stage()
            for i in range(0, len(parsed), BATCH):
                case_rows, event_rows = _staged_rows(parsed[i : i + BATCH], i, dialect)
                with session_scope() as session:
                    _bulk(session, STAGE_CASES, case_rows)
                    _bulk(session, STAGE_EVENTS, event_rows)
                if progress is not None:
                    progress(min(i + BATCH, len(parsed)), len(parsed))
            with session_scope() as session:
                report = _swap(session, replace=replace, skip_invalid=skip_invalid)
        finally:
            _drop_stage()
    report.skipped = sorted(problems + report.skipped, key=_line_number)
    return report


def _line_number(problem: str) -> int:
    return int(problem.split(":")[0].split()[1])


def _event_out(e: CaseEvent) -> dict:
    """An event in the history format: its payload's fields as the workflow specifies them,
    who acted (`by`: the username, `system` for the platform, none for a citizen) and whether
    its note is public."""
    out = {"at": iso_local(e.at), "action": e.action}
    spec = workflow.PAYLOADS.get(e.action, {})
    for key, value in caserows.history_fields(e.action, e.payload).items():
        timed = spec[key].kind == "time" and value is not None
        out[key] = iso_local(dt.datetime.fromisoformat(value)) if timed else value
    by = e.actor or ("system" if e.role == "system" else None)
    if by:
        out["by"] = by
    if e.note:
        out["note"] = e.note
        if e.public:
            out["public"] = True
    return out


def export_lines(
    session: Session, *, codes: list[str] | None = None, batch: int = 2000
) -> Iterator[str]:
    """One JSON line per case, oldest first, in the import format."""
    last_id = 0
    while True:
        query = select(Case).where(Case.id > last_id).order_by(Case.id).limit(batch)
        if codes is not None:
            query = query.where(Case.code.in_(codes))
        cases = session.scalars(query).all()
        if not cases:
            return
        by_case: dict[int, list[CaseEvent]] = {}
        events = session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id.in_([c.id for c in cases]))
            .order_by(CaseEvent.case_id, CaseEvent.seq)
        )
        for e in events:
            by_case.setdefault(e.case_id, []).append(e)
        for c in cases:
            obj = {
                "code": c.code,
                "source": c.source,
                "category": (COMPONENT if c.category_kind == "component" else "") + c.category_code,
                "urgency": c.urgency,
                "lon": c.lon,
                "lat": c.lat,
                "datum": "wgs84",
                "address": c.address,
                "description": c.description,
                "events": [_event_out(e) for e in by_case.get(c.id, [])],
            }
            if c.lon is None:
                del obj["lon"], obj["lat"], obj["datum"]
            yield json.dumps(obj, ensure_ascii=False)
        last_id = cases[-1].id
        session.expunge_all()


def verify(session: Session, batch: int = 2000) -> Iterator[tuple[str, dict]]:
    """Recompute every case from its events; yields (code, {field: (row, events)}) for each
    case whose row has drifted from its history."""
    last_id = 0
    names = list(workflow.Projection().as_dict())
    while True:
        cases = session.scalars(
            select(Case).where(Case.id > last_id).order_by(Case.id).limit(batch)
        ).all()
        if not cases:
            return
        by_case: dict[int, list[CaseEvent]] = {}
        for e in session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id.in_([c.id for c in cases]))
            .order_by(CaseEvent.case_id, CaseEvent.seq)
        ):
            by_case.setdefault(e.case_id, []).append(e)
        for c in cases:
            p, problem = caserows.fold(by_case.get(c.id, []))
            diff = {
                n: (getattr(c, n), getattr(p, n)) for n in names if getattr(c, n) != getattr(p, n)
            }
            if problem:
                diff["events"] = (None, problem)
            if diff:
                yield c.code, diff
        last_id = cases[-1].id
        session.expunge_all()
