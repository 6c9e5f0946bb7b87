"""Case histories in and out as JSON Lines (reference/case-history-format.md).

Import validates the whole file before writing anything: every problem is reported as
`line N: reason`. The rows are written with bulk inserts; each case row is the projection of its
events by the same fold the live workflow uses.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from civicgrid.cases import workflow
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.categories.models import Category
from civicgrid.db import UTCDateTime, utcnow
from civicgrid.errors import BadRequest, Invalid
from civicgrid.geo import datum as datum_mod
from civicgrid.geo.index import index as geo_index
from civicgrid.org.models import OrgUnit
from civicgrid.timefmt import iso_local

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
EVENT_FIELDS = ("at", "action", "unit", "deadline", "until", "score", "note")
EVENT_FIELD_SET = frozenset(EVENT_FIELDS)
TIME_FIELDS = ("deadline", "until")
NEEDS = {"dispatch": "deadline", "extend_approve": "deadline", "extend_request": "until"}
BATCH = 5000


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


def _text(value, what: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad(f"{what} must be text")
    if len(value) > limit:
        raise _Bad(f"{what} is longer than {limit} characters")
    return value


def _parse(obj, categories: dict[str, str], units: set[str]) -> tuple[dict, list[dict]]:
    if not isinstance(obj, dict):
        raise _Bad("a line must be a JSON object")
    code = obj.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 40:
        raise _Bad("code must be a non-empty string of at most 40 characters")
    source = obj.get("source")
    if source not in workflow.SOURCES:
        raise _Bad(f"source {source!r} is not one of {', '.join(workflow.SOURCES)}")
    category = obj.get("category")
    if category not in categories:
        raise _Bad(f"unknown category {category!r}")
    urgency = obj.get("urgency", "normal")
    if urgency not in workflow.URGENCIES:
        raise _Bad(f"urgency {urgency!r} is not normal or urgent")
    lon, lat = obj.get("lon"), obj.get("lat")
    if lon is not None or lat is not None:
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
        lon, lat = datum_mod.to_wgs84(float(lon), float(lat), name)
    events_in = obj.get("events")
    if not isinstance(events_in, list) or not events_in:
        raise _Bad("events must be a non-empty list")
    p = workflow.Projection()
    events: list[dict] = []
    last_at = None
    state = None
    for n, ev in enumerate(events_in, start=1):
        if not isinstance(ev, dict):
            raise _Bad(f"event {n}: not an object")
        action = ev.get("action")
        if action not in workflow.ACTIONS:
            raise _Bad(f"event {n}: unknown action {action!r}")
        if n == 1 and action != "report":
            raise _Bad("the first event must be report")
        at = _time(ev.get("at"), n, "at")
        if last_at is not None and at < last_at:
            raise _Bad(f"event {n}: time {ev.get('at')} is before the event before it")
        last_at = at
        new_state = workflow.next_state(p.state, action, p.state_before_suspend)
        if new_state is None:
            raise _Bad(f"event {n}: {action} is not allowed when the case is {p.state}")
        if len(ev) > 2 and not ev.keys() <= EVENT_FIELD_SET:
            unknown = sorted(set(ev) - EVENT_FIELD_SET)
            raise _Bad(f"event {n}: unknown field(s) {', '.join(unknown)}")
        payload: dict = {}
        stored: dict = {}
        if len(ev) > 2:
            if action == "dispatch":
                unit = ev.get("unit")
                if unit not in units:
                    raise _Bad(f"event {n}: unknown unit {unit!r}")
                payload["unit"] = stored["unit"] = unit
            for key in TIME_FIELDS:
                if key in ev:
                    payload[key] = moment = _time(ev[key], n, key)
                    stored[key] = moment.isoformat()
            if action == "rate":
                score = ev.get("score")
                if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
                    raise _Bad(f"event {n}: score must be a whole number from 1 to 5")
                payload["score"] = stored["score"] = score
        if action in NEEDS and NEEDS[action] not in payload:
            raise _Bad(f"event {n}: {action} needs {NEEDS[action]}")
        if action == "dispatch" and "unit" not in payload:
            raise _Bad(f"event {n}: unknown unit None")
        note = ev.get("note")
        if note is None:
            note = ""
        elif not isinstance(note, str) or len(note) > 4000:
            raise _Bad(f"event {n}: note must be text of at most 4000 characters")
        workflow.apply(p, action, at, payload)
        events.append(
            {
                "seq": n,
                "at": at,
                "action": action,
                "from_state": state,
                "to_state": new_state,
                "actor": None,
                "role": "import",
                "note": note,
                "payload": stored,
            }
        )
        state = new_state
    row = {
        "code": code,
        "source": source,
        "category_kind": categories[category],
        "category_code": category,
        "urgency": urgency,
        "lon": lon,
        "lat": lat,
        "address": _text(obj.get("address"), "address", 200),
        "description": _text(obj.get("description"), "description", 4000),
        **p.as_dict(),
    }
    return row, events


def validate(
    session: Session, lines: Iterable[str], *, replace: bool = False
) -> tuple[list[Parsed], list[str]]:
    """Parse and check every line; returns the valid cases and the `line N: reason` problems."""
    categories: dict[str, str] = {}
    for code, kind in session.execute(select(Category.code, Category.kind)):
        if categories.get(code) != "event":  # an ambiguous code is the event (see categories)
            categories[code] = kind
    units = set(session.scalars(select(OrgUnit.code)))
    parsed: list[Parsed] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
            row, events = _parse(obj, categories, units)
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
        for i in range(0, len(codes), 900):
            for code in session.scalars(select(Case.code).where(Case.code.in_(codes[i : i + 900]))):
                problems.append(f"line {seen[code]}: code {code} exists already (use --replace)")
                parsed = [p for p in parsed if p.row["code"] != code]
    problems.sort(key=lambda t: int(t.split(":")[0].split()[1]))
    return parsed, problems


def _place(rows: list[dict]) -> None:
    located = [r for r in rows if r["lon"] is not None]
    found = geo_index.locate_many([(r["lon"], r["lat"]) for r in located])
    for row, hits in zip(located, found, strict=True):
        for level in ("grid", "community", "street"):
            hit = hits[level]
            row[f"{level}_code"] = hit.code if hit else None
    for r in rows:
        if r["lon"] is None:
            r.update(grid_code=None, community_code=None, street_code=None)


CASE_COLUMNS = (
    "id",
    "code",
    "source",
    "category_kind",
    "category_code",
    "urgency",
    "lon",
    "lat",
    "grid_code",
    "community_code",
    "street_code",
    "address",
    "description",
    *workflow.Projection().as_dict(),
    "limit_unit",
    "calendar_missing",
    "queue_reason",
    "duplicate_of",
    "version",
    "created_at",
    "updated_at",
)
EVENT_COLUMNS = (
    "case_id",
    "seq",
    "at",
    "action",
    "from_state",
    "to_state",
    "actor",
    "role",
    "note",
    "payload",
)
# The columns that hold times: the driver gets them as SQLAlchemy's text (see _time_converter).
_TIME_COLUMNS = {
    column.name
    for table in (Case.__table__, CaseEvent.__table__)
    for column in table.columns
    if isinstance(column.type, UTCDateTime)
}


def _bulk(session: Session, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """executemany straight to the driver: SQLAlchemy's per-value type processing costs more
    than the database itself here. Values must already be in the driver's types."""
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, rows)


def _new_ids(session: Session, n: int) -> list[int]:
    """n fresh case ids: from the sequence on PostgreSQL; on SQLite the import holds the write
    lock (BEGIN IMMEDIATE), so the next ids after the largest are free."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return list(
            conn.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, %s)",
                (n,),
            ).scalars()
        )
    top = conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM cases").scalar()
    return list(range(top + 1, top + 1 + n))


def _time_converter(session: Session):
    if session.connection().dialect.name == "sqlite":
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


def write(
    session: Session, parsed: list[Parsed], *, replace: bool = False, progress=None
) -> ImportReport:
    """Insert validated cases and their events (replacing existing codes when asked)."""
    geo_index.ensure_fresh(session)
    session.flush()
    report = ImportReport()
    when = _time_converter(session)
    dumps = orjson.dumps
    for i in range(0, len(parsed), BATCH):
        chunk = parsed[i : i + BATCH]
        rows = [p.row for p in chunk]
        if replace:
            codes = [r["code"] for r in rows]
            for j in range(0, len(codes), 900):
                result = session.execute(delete(Case).where(Case.code.in_(codes[j : j + 900])))
                report.replaced += result.rowcount or 0
        _place(rows)
        now = utcnow()
        ids = _new_ids(session, len(rows))
        case_rows, event_rows = [], []
        for case_id, p, r in zip(ids, chunk, rows, strict=True):
            r.update(
                id=case_id,
                version=1,
                limit_unit=None,
                calendar_missing=False,
                queue_reason=None,
                duplicate_of=None,
                created_at=now,
                updated_at=now,
            )
            case_rows.append(
                tuple(when(r[c]) if c in _TIME_COLUMNS else r[c] for c in CASE_COLUMNS)
            )
            for e in p.events:
                event_rows.append(
                    (
                        case_id,
                        e["seq"],
                        when(e["at"]),
                        e["action"],
                        e["from_state"],
                        e["to_state"],
                        None,
                        "import",
                        e["note"],
                        dumps(e["payload"]).decode() if e["payload"] else "{}",
                    )
                )
        _bulk(session, "cases", CASE_COLUMNS, case_rows)
        _bulk(session, "case_events", EVENT_COLUMNS, event_rows)
        report.imported += len(chunk)
        if progress is not None:
            progress(len(chunk))
    return report


def import_lines(
    session: Session,
    lines: Iterable[str],
    *,
    skip_invalid: bool = False,
    replace: bool = False,
    progress=None,
) -> ImportReport:
    """Validate the whole file, then import it; on any problem nothing is imported unless
    skip_invalid, when the valid lines are imported and the rest listed."""
    parsed, problems = validate(session, lines, replace=replace)
    if problems and not skip_invalid:
        raise HistoryInvalid(problems)
    report = write(session, parsed, replace=replace, progress=progress)
    report.skipped = problems
    return report


def _event_out(e: CaseEvent) -> dict:
    out = {"at": iso_local(e.at), "action": e.action}
    payload = e.payload or {}
    for key in ("unit", "deadline", "until", "score"):
        if key not in payload:
            continue
        value = payload[key]
        out[key] = iso_local(dt.datetime.fromisoformat(value)) if key in TIME_FIELDS else value
    if e.note:
        out["note"] = e.note
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
                "category": c.category_code,
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
            p = workflow.Projection()
            problem = None
            for e in by_case.get(c.id, []):
                if workflow.next_state(p.state, e.action, p.state_before_suspend) is None:
                    problem = f"event {e.seq} ({e.action}) is illegal after {p.state}"
                    break
                payload = dict(e.payload or {})
                for key in ("deadline", "until", "warn_at"):
                    if key in payload:
                        payload[key] = dt.datetime.fromisoformat(payload[key])
                workflow.apply(p, e.action, e.at, payload)
            diff = {
                n: (getattr(c, n), getattr(p, n)) for n in names if getattr(c, n) != getattr(p, n)
            }
            if problem:
                diff["events"] = (None, problem)
            if diff:
                yield c.code, diff
        last_id = cases[-1].id
        session.expunge_all()
