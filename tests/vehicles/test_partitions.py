"""Retention: whole day partitions on PostgreSQL, old rows deleted on SQLite."""

import datetime as dt

from sqlalchemy import func, select

from civicgrid.config import get_settings
from civicgrid.vehicles import ingest, partitions, service
from civicgrid.vehicles.models import Fix
from tests.conftest import IS_PG
from tests.factories import STREET_A, small_geography

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def test_partitions_ahead_rows_moved_and_old_days_dropped(session, monkeypatch):
    small_geography(session)
    vehicle = service.create_vehicle(session, plate="黑A1", type_code="sweeper", unit_code=STREET_A)
    tracker = service.create_tracker(
        session, terminal_id="t1", protocol="osmand", vehicle_id=vehicle.id
    ).tracker
    old = NOW - dt.timedelta(days=500)
    monkeypatch.setattr(ingest, "utcnow", lambda: NOW)
    for when in (old, NOW - dt.timedelta(hours=1)):
        tracker.last_fix_time = None
        ingest.store(session, tracker, [ingest.FixIn(fix_time=when, lon=126.6, lat=45.7)])
    if IS_PG:
        partitions.make(session, old.date())  # the old day got its partition (rows moved)
    result = partitions.maintain(session, get_settings(), now=NOW)
    times = list(session.scalars(select(Fix.fix_time)))
    assert times == [NOW - dt.timedelta(hours=1)]  # the day past 400 days is gone
    if IS_PG:
        assert result["dropped"] == [f"vehicle_fixes_p{old:%Y%m%d}"]
        have = partitions.existing(session)
        assert {NOW.date() + dt.timedelta(days=d) for d in range(-1, 4)} <= set(have)
        # today's row was moved out of the default partition into its day's
        from sqlalchemy import text

        assert session.execute(text("SELECT count(*) FROM vehicle_fixes_default")).scalar() == 0
        assert partitions.maintain(session, get_settings(), now=NOW)["made"] == []
    else:
        assert result == {"deleted_rows": 1}
    assert session.scalar(select(func.count()).select_from(Fix)) == 1
