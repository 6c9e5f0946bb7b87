"""`civicgrid demo`: the Xiangfang demo routes reports even without demo cases, and a second
run changes nothing."""

from rich.console import Console
from sqlalchemy import func, select

from civicgrid import demo
from civicgrid.auth.models import User
from civicgrid.cases.models import DispatchRule
from civicgrid.citizen import service as citizen_service
from civicgrid.config import get_settings
from civicgrid.geo.index import index as geo_index
from civicgrid.geo.models import Area

# 香坊区: a point inside one of the demo's grids (found with civicgrid geo locate)
POINT = (126.7337857, 45.7461148)


def counts(session) -> tuple[int, int, int]:
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Area, User, DispatchRule)
    )


def test_demo_without_cases_routes_reports_and_loads_once(session):
    quiet = Console(quiet=True)
    demo.load(quiet, cases=0, fleet=False)
    first = counts(session)
    assert first[0] > 35_000 and first[2] > 0
    demo.load(quiet, cases=0, fleet=False)
    assert counts(session) == first
    geo_index.ensure_fresh(session)
    done = citizen_service.submit(
        session, get_settings(), category="06010", lon=POINT[0], lat=POINT[1]
    )
    assert done.case.state == "dispatched" and done.case.street_code.startswith("230110")
    _the_demo_notices(session)


def _the_demo_notices(session) -> None:
    """Published by the leader after the dispatcher wrote them, once (the second load above
    made none)."""
    from civicgrid.notices import service as notices

    shown = notices.public(session)
    assert shown[0].title == "关于冬季清雪期间占道作业的通告"  # pinned
    kinds = {notices.get_kind(session, k).id for k in ("notice", "news", "warning")}
    assert {n.kind_id for n in shown} == kinds and len(shown) == 3
    internal = [n for n in notices.desk(session) if n.audience == "internal"]
    assert len(internal) == 1 and internal[0].state == "published"
    readers = {r.username for r in notices.receipts(session, internal[0])}
    assert readers == {"h230110001", "h230110002", "handler"}
    assert [s.by for s in notices.steps(session, internal[0])] == [
        "dispatcher",
        "dispatcher",
        "leader",
        "leader",
    ]


def test_demo_cases_close_with_after_photos_and_the_evidence_rules_on(session, monkeypatch):
    # Given the evidence rules as configured (no category class exempt from the after-photo)
    from civicgrid.cases import service as case_service
    from civicgrid.cases.models import Case, CaseEvent
    from civicgrid.media.models import Photo
    from civicgrid.media.service import storage

    settings = get_settings()
    assert settings.evidence_photo_exempt_classes == ""
    seen: list[str] = []
    real_act = case_service.act

    def watched(session_, settings_, *args, **kwargs):
        seen.append(settings_.evidence_photo_exempt_classes)
        return real_act(session_, settings_, *args, **kwargs)

    monkeypatch.setattr(case_service, "act", watched)
    # When the demo makes its cases
    demo.load(Console(quiet=True), cases=120, fleet=False)
    # Then every action ran under the exemption setting untouched
    assert seen and set(seen) == {""}
    assert get_settings().evidence_photo_exempt_classes == ""
    # and every report_done brought an after-photo (处置后), a real JPEG in the store
    done = session.scalars(select(CaseEvent).where(CaseEvent.action == "report_done")).all()
    assert len(done) > 20
    photos = session.scalars(select(Photo).where(Photo.stage == "done")).all()
    by_event = {p.event_id for p in photos}
    assert {e.id for e in done} <= by_event
    sample = storage(settings).get(photos[0].key)
    assert sample[:3] == b"\xff\xd8\xff" and photos[0].width == 320
    # and each closed case has one
    closed = session.scalars(select(Case.id).where(Case.state == "closed")).all()
    assert len(closed) > 10
    assert set(closed) <= {p.case_id for p in photos}


def test_demo_fleet_comes_in_through_the_gateway_and_http_and_covers_its_roads(committed):
    """The demo's fleet (WAVE2-NOTES: fed through an in-process gateway and the HTTP ingest before
    serve): every fix a tracker could have sent by `now` is stored, the sweepers cover their
    roads, the trucks serve the points on their rounds and not the one on no round; a second
    run changes nothing."""
    import datetime as dt

    from civicgrid.auth import service as auth_service
    from civicgrid.vehicles import coverage, service
    from civicgrid.vehicles import demo as vehicles_demo
    from civicgrid.vehicles.models import Fix

    # Given the sanitation centre and its handler (the rest of the demo is not needed)
    with committed() as s:
        demo._ensure_org(s)  # the city, the district and its departments
        auth_service.create_user(
            s,
            username="sanitation",
            password=demo.DEMO_PASSWORD,
            name="孙志强",
            org_unit_code=vehicles_demo.UNIT,
            roles=["handler"],
        )
        s.commit()
    # When the fleet is loaded at 00:30 of 2026-11-20 (Beijing time): a whole yesterday
    now = dt.datetime(2026, 11, 19, 16, 30, tzinfo=dt.UTC)
    demo._load_fleet(Console(quiet=True), now=now)
    days = [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
    with committed() as s:
        # Then each tracker holds exactly the fixes its days had by then
        for vehicle in vehicles_demo.FLEET:
            expected = {f.time for d in days for f in vehicles_demo.sendable(vehicle.day(d), now)}
            tracker = service.get_tracker(s, vehicle.terminal)
            stored = set(s.scalars(select(Fix.fix_time).where(Fix.tracker_id == tracker.id)))
            assert stored == expected, vehicle.plate
        phone = service.get_tracker(s, vehicles_demo.PHONE_TERMINAL)
        assert phone.protocol == "http" and phone.person_id is not None
        phone_fixes = s.scalar(
            select(func.count()).select_from(Fix).where(Fix.tracker_id == phone.id)
        )
        assert phone_fixes == sum(
            len(vehicles_demo.sendable(vehicles_demo.phone_day(d), now)) for d in days
        )
        # and yesterday the sweepers and the sprinkler covered every road
        cover = coverage.unit_coverage(s, vehicles_demo.UNIT, days[0])
        assert [r["coverage"] for r in cover["roads"]] == [1.0] * len(vehicles_demo.ROADS)
        # and the trucks served the points on their rounds (P004's 夜产晨清 before 06:00)
        served = {p.code: coverage.served_at(s, p, days[0]) for p in coverage.points(s)}
        assert {c for c, at in served.items() if at} == {"P001", "P002", "P003", "P004", "P005"}
        total = s.scalar(select(func.count()).select_from(Fix))
    # and a second run changes nothing
    demo._load_fleet(Console(quiet=True), now=now + dt.timedelta(hours=2))
    with committed() as s:
        assert s.scalar(select(func.count()).select_from(Fix)) == total
