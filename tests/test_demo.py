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
    demo.load(quiet, cases=0)
    first = counts(session)
    assert first[0] > 35_000 and first[2] > 0
    demo.load(quiet, cases=0)
    assert counts(session) == first
    geo_index.ensure_fresh(session)
    done = citizen_service.submit(
        session, get_settings(), category="06010", lon=POINT[0], lat=POINT[1]
    )
    assert done.case.state == "dispatched" and done.case.street_code.startswith("230110")


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
    demo.load(Console(quiet=True), cases=120)
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
