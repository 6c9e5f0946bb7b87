"""A generated snowfall with known truck paths (shared/reference/snow.md): every trip found
with its section and field, fills and lights equal to an independent computation here, a 污雪
trip to a clean field raising exactly one case, overdue tasks one case each. The fixes go
through the real ingest path (vehicles.ingest.store); every `now` is explicit."""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civicgrid.cases.models import Case
from civicgrid.config import get_settings
from civicgrid.kit.timefmt import local_zone
from civicgrid.snowfields import queries, service
from civicgrid.snowfields.models import FieldWarning, TripAlarm
from civicgrid.vehicles import ingest
from civicgrid.vehicles import service as vehicle_service
from tests.factories import STREET_A, STREET_B, world
from tests.images import jpeg

LON0, LAT0 = 126.705, 45.705
ML = 1 / (111_320 * math.cos(math.radians(LAT0)))  # degrees of longitude per metre (about)
MT = 1 / 111_000
DAY = dt.date(2026, 11, 20)
LIMITS_CSV = Path(__file__).resolve().parents[2] / "src/civicgrid/data/snow-limits.csv"


def local(day: int, hh: int, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hh, mm, ss, tzinfo=local_zone())


def ll(x: float, y: float) -> list[float]:
    return [LON0 + x * ML, LAT0 + y * MT]


# Five sections running east 0–600 m, 150 m apart; area given (6,000 m²).
SECTIONS = {
    "S1": ("A", STREET_A, 0.0),
    "S2": ("A", STREET_A, 150.0),
    "S3": ("B", STREET_B, 300.0),
    "S4": ("C", STREET_B, 450.0),
    "S5": ("B", STREET_A, 600.0),
}
# Two square fields of 150 m east of the sections: (centre x, centre y, kind, capacity).
FIELDS = {
    "F-CLEAN": (875.0, 150.0, "clean", 200.0),
    "F-DIRTY": (875.0, 450.0, "dirty", 1000.0),
}
DEPTH_M = 0.004  # need = 6,000 m² × 0.004 m = 24 m³ per section


def square(cx: float, cy: float, half: float = 75.0) -> list[list[float]]:
    return [
        ll(cx - half, cy - half),
        ll(cx + half, cy - half),
        ll(cx + half, cy + half),
        ll(cx - half, cy + half),
    ]


@dataclass
class Path_:
    """A vehicle's generated fixes and, for a hauler, the trips it makes by construction."""

    fixes: list[ingest.FixIn]
    t: dt.datetime
    x: float
    y: float

    def fix(self, speed: float) -> None:
        lon, lat = ll(self.x, self.y)
        self.fixes.append(ingest.FixIn(fix_time=self.t, lon=lon, lat=lat, speed=speed))

    def go(self, x: float, y: float, kmh: float, step_s: int = 10) -> None:
        """Move in a straight line to (x, y) at kmh, a fix every step_s (the last one there)."""
        dist = math.hypot(x - self.x, y - self.y)
        n = max(1, math.ceil(dist / (kmh / 3.6 * step_s)))
        x0, y0 = self.x, self.y
        for k in range(1, n + 1):
            self.t += dt.timedelta(seconds=step_s)
            self.x, self.y = x0 + (x - x0) * k / n, y0 + (y - y0) * k / n
            self.fix(kmh)

    def wait(self, seconds: int, step_s: int = 30) -> None:
        for _ in range(seconds // step_s):
            self.t += dt.timedelta(seconds=step_s)
            self.fix(0.0)


def sweep(p: Path_, y: float, x_to: float = 600.0) -> None:
    """Drive along the section at y (3 m beside its line) from x=0 to x_to at 10 km/h."""
    p.go(0.0, y + 3, 30)
    p.go(x_to, y + 3, 10)


@dataclass
class Expected:
    plate: str
    field: str
    section: str | None
    entered: dt.datetime
    left: dt.datetime
    volume: float


def haul(p: Path_, plate: str, section: str | None, fcode: str, volume: float, out: list) -> None:
    """From where the truck is: along the section (when given), then to the field's west edge
    (20 m outside), one step to its centre, 300 s inside, out to the north-east."""
    if section is not None:
        y = SECTIONS[section][2]
        p.go(0.0, y + 3, 30)
        p.go(600.0, y + 3, 15)
    cx, cy = FIELDS[fcode][:2]
    p.go(cx - 95, cy, 30)
    p.t += dt.timedelta(seconds=10)
    p.x, p.y = cx, cy
    p.fix(0.0)
    entered = p.t
    p.wait(300)  # 10 fixes 30 s apart: inside from entered to entered + 300 s
    left = p.t
    p.t += dt.timedelta(seconds=10)
    p.x = cx + 95  # one step out (20 m east of the field)
    p.fix(30.0)
    p.go(cx + 100, cy + 100, 30)
    out.append(Expected(plate, fcode, section, entered, left, volume))


def generate(session):
    """Sections, fields, two ploughs, three haulers and their day through ingest; returns the
    trips the paths make."""
    world(session)
    for code, (cls, unit, y) in SECTIONS.items():
        service.save_section(
            session,
            code=code,
            name=f"路段{code}",
            street_class=cls,
            unit_code=unit,
            coordinates=[ll(0, y), ll(300, y), ll(600, y)],
            area_m2=6000.0,
            open_first=code == "S1",
        )
    for code, (cx, cy, kind, cap) in FIELDS.items():
        service.save_field(
            session,
            code=code,
            name=code,
            polygon=square(cx, cy),
            capacity_m3=cap,
            kind=kind,
            initial_fill_m3=50.0,
        )

    def vehicle(plate, kind, cap=None):
        v = vehicle_service.create_vehicle(
            session, plate=plate, type_code=kind, unit_code=STREET_A, capacity_m3=cap
        )
        tr = vehicle_service.create_tracker(
            session, terminal_id=f"snow-{plate[-2:]}", protocol="osmand", vehicle_id=v.id
        ).tracker
        return v, tr

    fixes = {}
    # ploughs: P1 clears S1, S2, S3 (whole), P2 half of S4; S5 has no plough (a report)
    p1 = Path_([], local(20, 8), -50.0, 0.0)
    p1.fix(0.0)
    for code in ("S1", "S2", "S3"):
        sweep(p1, SECTIONS[code][2])
    p2 = Path_([], local(20, 8), -50.0, 450.0)
    p2.fix(0.0)
    sweep(p2, 450.0, x_to=300.0)
    fixes["黑A00P1"] = (vehicle("黑A00P1", "snow_plough"), p1.fixes)
    fixes["黑A00P2"] = (vehicle("黑A00P2", "snow_plough"), p2.fixes)

    trips: list[Expected] = []
    h1 = Path_([], local(20, 9), -50.0, 0.0)
    h1.fix(0.0)
    haul(h1, "黑A00H1", "S1", "F-CLEAN", 10.0, trips)
    haul(h1, "黑A00H1", "S1", "F-CLEAN", 8.0, trips)  # a gate ticket says 8 m³
    haul(h1, "黑A00H1", "S3", "F-CLEAN", 10.0, trips)
    h2 = Path_([], local(20, 9, 30), -50.0, 600.0)
    h2.fix(0.0)
    h2.go(800.0, 90.0, 30)  # through the clean field's corner: less than 120 s inside
    h2.go(820.0, 240.0, 30)
    h2.go(1000.0, 300.0, 30)
    haul(h2, "黑A00H2", "S5", "F-DIRTY", 12.0, trips)
    h3 = Path_([], local(20, 10), 1000.0, 0.0)  # a depot east of the fields
    h3.fix(0.0)
    haul(h3, "黑A00H3", None, "F-CLEAN", 15.0, trips)  # no section in the 2 h before
    haul(h3, "黑A00H3", "S2", "F-CLEAN", 15.0, trips)  # 污雪 into the clean field
    haul(h3, "黑A00H3", "S2", "F-DIRTY", 15.0, trips)
    fixes["黑A00H1"] = (vehicle("黑A00H1", "snow_hauler", 10.0), h1.fixes)
    fixes["黑A00H2"] = (vehicle("黑A00H2", "snow_hauler", 12.0), h2.fixes)
    fixes["黑A00H3"] = (vehicle("黑A00H3", "snow_hauler", 15.0), h3.fixes)
    for (_v, tracker), points in fixes.values():
        stored = ingest.store(session, tracker, points)
        assert stored.stored == len(points)
    return trips


def declare(session, **kw):
    lead = _user(session, "lead")
    args = dict(
        name="11·20 降雪",
        started_at=local(20, 0),
        snow_end_at=local(20, 4),
        grade="中雪",
        depth_m=DEPTH_M,
    )
    args.update(kw)
    return service.declare(session, lead, **args)


def _user(session, username):
    from civicgrid.auth.models import User

    return session.scalar(select(User).where(User.username == username))


def table_hours() -> dict[tuple[str, str], tuple[float, float]]:
    with LIMITS_CSV.open(encoding="utf-8") as fh:
        return {
            (r["grade"], r["street_class"]): (float(r["clear_hours"]), float(r["haul_hours"]))
            for r in csv.DictReader(fh)
        }


def expected_light(done_at, deadline, start, now, fraction=0.8) -> str:
    if done_at is not None and done_at <= now:
        return "done"
    if deadline is None:
        return "grey"
    if now > deadline:
        return "red"
    return "yellow" if now >= start + (deadline - start) * fraction else "green"


@pytest.fixture()
def snowfall(session):
    trips = generate(session)
    event = declare(session)
    f_clean = queries.field_by_code(session, "F-CLEAN")
    # the second S1 trip has a gate ticket (8 m³, entered 3 min after the GPS entry)
    second = [t for t in trips if t.plate == "黑A00H1"][1]
    service.add_ticket(
        session,
        event,
        f_clean,
        plate="黑A00H1",
        entered_at=second.entered + dt.timedelta(minutes=3),
        volume_m3=8.0,
        section_code=None,
        by="gate",
    )
    # a truck without a terminal: its ticket is its trip
    service.add_ticket(
        session,
        event,
        queries.field_by_code(session, "F-DIRTY"),
        plate="黑A99999",
        entered_at=local(20, 14),
        volume_m3=20.0,
        section_code="S5",
        by="gate",
    )
    trips.append(Expected("黑A99999", "F-DIRTY", "S5", local(20, 14), None, 20.0))
    service.set_dirty(session, event, queries.section_by_code(session, "S2"), True)
    # S5 reported cleared by its handler at 15:00
    service.report(
        session,
        get_settings(),
        event,
        queries.section_by_code(session, "S5"),
        task="clear",
        photo=jpeg(),
        checks=["露路面", "见道线"],
        note="",
        by="ha",
        at=local(20, 15),
    )
    return event, trips


def test_every_trip_is_found_with_its_section_and_field(session, snowfall):
    event, expected = snowfall
    state = service.evaluate(session, get_settings(), event, local(20, 23))
    codes = {f.id: f.code for f in state.fields}
    sections = {s.section.id: s.section.code for s in state.sections}
    got = sorted(
        (t.plate, codes[t.field_id], sections.get(t.section_id, ""), t.entered_at, t.volume_m3)
        for t in state.trips
    )
    want = sorted((t.plate, t.field, t.section or "", t.entered, t.volume) for t in expected)
    assert got == want
    for t in state.trips:
        if t.source == "gps":
            match = [e for e in expected if e.plate == t.plate and e.entered == t.entered_at]
            assert t.left_at == match[0].left


def test_fills_and_warnings_follow_the_trips_and_the_survey(session, snowfall):
    event, expected = snowfall
    settings = get_settings()
    now = local(20, 23)
    state = service.evaluate(session, settings, event, now)
    by_code = {f.code: f.id for f in state.fields}
    for code in FIELDS:
        want = 50.0 + sum(t.volume for t in expected if t.field == code)
        assert state.fills[by_code[code]] == pytest.approx(want)
    # clean: 50 + 10 + 8 + 10 + 15 + 15 = 108 of 200 (54 %): no warning yet
    assert service.check_event(session, settings, event, now)["warnings"] == 0
    # a survey after the trips at 150 m³ (75 %), then a trip would cross 80 %: here the
    # survey at 165 (82.5 %) crosses 80 % once, 191 (95.5 %) crosses 95 %
    clean = queries.field_by_code(session, "F-CLEAN")
    service.survey(session, clean, fill_m3=165.0, at=local(20, 22), by="lead")
    assert service.evaluate(session, settings, event, now).fills[clean.id] == 165.0
    assert service.check_event(session, settings, event, now)["warnings"] == 1
    assert service.check_event(session, settings, event, now)["warnings"] == 0  # once
    service.survey(session, clean, fill_m3=191.0, at=local(20, 22, 30), by="lead")
    assert service.check_event(session, settings, event, now)["warnings"] == 1
    levels = [w.level for w in queries.warnings(session, [clean.id])]
    assert levels == [80, 95]
    # emptied below 80 %, then filled again: a new crossing warns again
    service.survey(session, clean, fill_m3=10.0, at=local(20, 22, 40), by="lead")
    service.check_event(session, settings, event, now)
    service.survey(session, clean, fill_m3=170.0, at=local(20, 22, 50), by="lead")
    assert service.check_event(session, settings, event, now)["warnings"] == 1
    assert session.scalar(select(func.count()).select_from(FieldWarning)) == 3
    # full: off the routing of new trips
    service.survey(session, clean, fill_m3=200.0, at=local(20, 22, 55), by="lead")
    service.check_event(session, settings, event, now)
    assert clean.state == "full"
    s1 = queries.section_by_code(session, "S1")
    fills = service.evaluate(session, settings, event, now).fills
    routed = service.route_field(session, event, s1, fills)
    assert routed is not None and routed.code == "F-DIRTY"


@pytest.mark.parametrize("now", [local(20, 18), local(21, 2), local(21, 12), local(22, 12)])
def test_lights_equal_an_independent_computation(session, snowfall, now):
    event, expected = snowfall
    hours = table_hours()
    end = local(20, 4)
    need = 6000.0 * DEPTH_M
    # by construction: S1–S3 ploughed whole (by 20 23:59), S4 half, S5 reported at 15:00
    cleared = {"S1", "S2", "S3"}
    state = service.evaluate(session, get_settings(), event, now)
    for s in state.sections:
        code = s.section.code
        cls = SECTIONS[code][0]
        clear_dl = end + dt.timedelta(hours=hours[("中雪", cls)][0])
        haul_dl = end + dt.timedelta(hours=hours[("中雪", cls)][1])
        assert s.clear.deadline == clear_dl and s.haul.deadline == haul_dl
        if code == "S5":
            clear_at = local(20, 15)
        elif code in cleared:
            clear_at = s.clear.done_at  # the ploughs' coverage: some time on the 20th
            assert clear_at is not None and clear_at <= min(now, local(21, 0))
        else:
            clear_at = None
            assert s.clear.done_at is None
        total, haul_at = 0.0, None
        for t in sorted((t for t in expected if t.section == code), key=lambda t: t.entered):
            if t.entered > now:
                break
            total += t.volume
            if haul_at is None and total >= need:
                haul_at = t.entered
        assert s.hauled_m3 == pytest.approx(total)
        assert s.haul.done_at == haul_at
        assert s.clear.light(now, end, 0.8) == expected_light(clear_at, clear_dl, end, now)
        assert s.haul.light(now, end, 0.8) == expected_light(haul_at, haul_dl, end, now)


def test_overdue_tasks_and_a_dirty_trip_open_one_case_each(session, snowfall):
    event, expected = snowfall
    settings = get_settings()
    hours = table_hours()
    end = local(20, 4)
    now = local(22, 12)
    need = 6000.0 * DEPTH_M
    hauled = {c: sum(t.volume for t in expected if t.section == c) for c in SECTIONS}
    cleared = {"S1", "S2", "S3", "S5"}
    overdue = 0
    for code, (cls, _unit, _y) in SECTIONS.items():
        clear_h, haul_h = hours[("中雪", cls)]
        overdue += code not in cleared and now > end + dt.timedelta(hours=clear_h)
        overdue += hauled[code] < need and now > end + dt.timedelta(hours=haul_h)
    assert overdue == 2  # S4's clear (C, 48 h) and S1's haul (A, 24 h: 18 of 24 m³)
    before = session.scalar(select(func.count()).select_from(Case))
    first = service.check_event(session, settings, event, now)
    assert first["cases"] == overdue
    assert first["alarms"] == 1  # H3's trip from S2 (污雪) into the clean field
    again = service.check_event(session, settings, event, now + dt.timedelta(hours=1))
    assert again["cases"] == 0 and again["alarms"] == 0
    after = session.scalar(select(func.count()).select_from(Case))
    assert after - before == overdue + 1
    alarm = session.scalars(select(TripAlarm)).one()
    assert alarm.plate == "黑A00H3"
    dirty_trip = [t for t in expected if t.plate == "黑A00H3" and t.section == "S2"][0]
    assert alarm.entered_at == dirty_trip.entered
    codes = [r.clear_case for r in queries.event_sections(session, event.id).values()]
    case = session.scalar(select(Case).where(Case.code == alarm.case_code))
    assert case.source == "system" and case.category_code == settings.snow_case_category
    assert any(codes)
    # each overdue task's case is on its section's unit
    rows = queries.event_sections(session, event.id)
    for section in queries.sections(session):
        row = rows.get(section.id)
        for code in (row.clear_case, row.haul_case) if row else ():
            if code:
                opened = session.scalar(select(Case).where(Case.code == code))
                assert opened.unit_code == SECTIONS[section.code][1]
                assert opened.state == "dispatched" and opened.source == "system"


def test_the_daily_report_counts_the_day(session, snowfall):
    event, expected = snowfall
    settings = get_settings()
    now = local(22, 12)
    service.enter_workers(session, event, day=DAY, unit_code=STREET_A, workers=40)
    report = service.daily_report(session, settings, event, DAY, now)
    d = report["district"]
    day_trips = [t for t in expected if local(20, 0) <= t.entered < local(21, 0)]
    assert d["trips"] == len(day_trips)
    assert d["volume_m3"] == pytest.approx(sum(t.volume for t in day_trips))
    # as of the end of the 20th: nothing past a deadline yet; cleared S1–S3 and S5
    assert d["clear"] == {"on_time": 4, "late": 0, "overdue": 0, "open": 1}
    need = 6000.0 * DEPTH_M
    hauled = sum(sum(t.volume for t in day_trips if t.section == code) >= need for code in SECTIONS)
    assert hauled == 2  # S2 (15 + 15) and S5 (12 + 20); S1 has 18, S3 10, S4 none
    assert d["haul"] == {"on_time": hauled, "late": 0, "overdue": 0, "open": 5 - hauled}
    streets = {row["unit"]: row for row in report["streets"]}
    assert streets[STREET_A]["workers"] == 40  # entered: no work logs that day
    assert streets[STREET_A]["machines"] == 5  # 2 ploughs and 3 haulers, all of STREET_A
    fields = {row["code"]: row for row in report["fields"]}
    assert fields["F-DIRTY"]["trips"] == sum(1 for t in day_trips if t.field == "F-DIRTY")
    assert report["unknown_origin"]["trips"] == 1
    data = service.report_xlsx(report)
    assert data[:2] == b"PK"


def test_blizzard_deadlines_follow_the_edited_table(session):
    world(session)
    service.edit_limit(
        session, grade="暴雪", street_class="A", clear_hours=30, haul_hours=60, by="lead"
    )
    event = declare(session, grade=None, precipitation_mm=12.0)
    assert event.grade == "暴雪"  # GB/T 28592: 10.0–19.9 mm in 24 h
    dls = service.deadlines(event, service.limits_table(session))
    end = local(20, 4)
    hours = table_hours()
    assert dls["A"] == (end + dt.timedelta(hours=30), end + dt.timedelta(hours=60))
    for cls in ("B", "C"):
        clear_h, haul_h = hours[("暴雪", cls)]
        assert dls[cls] == (end + dt.timedelta(hours=clear_h), end + dt.timedelta(hours=haul_h))


def test_the_seeded_table_is_the_csv(session):
    rows = {
        (r.grade, r.street_class): (r.clear_hours, r.haul_hours) for r in queries.limits(session)
    }
    assert rows == table_hours()


@pytest.mark.parametrize(
    ("mm", "grade"),
    [
        (0.1, "小雪"),
        (2.4, "小雪"),
        (2.5, "中雪"),
        (4.9, "中雪"),
        (5.0, "大雪"),
        (9.9, "大雪"),
        (10.0, "暴雪"),
        (19.9, "暴雪"),
        (20.0, "大暴雪"),
        (29.9, "大暴雪"),
        (30.0, "特大暴雪"),
    ],
)
def test_grades_by_precipitation(mm, grade):
    assert service.grade_of(mm) == grade


def _citizen_report(session, x, y, at):
    from civicgrid.citizen import service as citizen_service

    settings = get_settings()
    lon, lat = ll(x, y)
    prepared = citizen_service.prepare(
        session,
        settings,
        category="10001",
        source="citizen",
        lon=lon,
        lat=lat,
        description="路面积雪",
        at=at,
    )
    return citizen_service.write(session, settings, prepared, find_duplicates=False).case


def test_citizen_snow_reports_get_the_events_clear_deadline(session):
    import civicgrid.app  # noqa: F401 - the app hands the cap to cases
    from civicgrid.cases import service as cases_service

    assert service.citizen_deadline in cases_service.DEADLINE_CAPS
    generate(session)
    declare(session)  # 中雪, 雪停 20 04:00: A cleared by 21 04:00, B and C by 22 04:00
    at = local(20, 10)
    own = at + dt.timedelta(hours=24)  # the category's limit: 24 natural hours
    near_a = _citizen_report(session, 300, 10, at)  # 10 m from S1 (class A)
    assert near_a.deadline == local(21, 4)
    near_c = _citizen_report(session, 300, 460, at)  # S4 (class C): 22 04:00 is later
    assert near_c.deadline == own
    nowhere = _citizen_report(session, 300, 75, at)  # 75 m from S1 and S2: class C
    assert nowhere.deadline == own
    before = _citizen_report(session, 300, 10, local(19, 10))  # before the event
    assert before.deadline == local(19, 10) + dt.timedelta(hours=24)
