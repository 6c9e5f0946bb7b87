"""The draft's sources are a list of small functions: one added later (a spot check, a snow
task) writes its lines into the draft like the built-in ones; a line the author changed is no
longer refreshed by its source."""

from __future__ import annotations

from civicgrid.auth import service as auth_service
from civicgrid.config import Settings
from civicgrid.vehicles import ingest
from civicgrid.vehicles import queries as vehicle_queries
from civicgrid.worklogs import service
from tests.worklogs.day import WALK, at, handler_day


def test_a_source_added_later_writes_its_lines(session, monkeypatch):
    data = handler_day(session)
    day = data["day"]

    def spot_checks(ctx: service.Day) -> list[service.Line]:
        assert (ctx.username, ctx.day) == ("ha", day)
        return [service.Line(at=at(day, 13), text="抽查 1 处", source="spotcheck", ref="spot:1")]

    monkeypatch.setattr(service, "DRAFT_SOURCES", [*service.DRAFT_SOURCES, spot_checks])
    ha = auth_service.require_user(session, "ha")
    log = service.write_draft(session, ha, day)
    spot = [e for e in log.entries if e.source == "spotcheck"]
    assert [(e.text, e.ref) for e in spot] == [("抽查 1 处", "spot:1")]
    # numbered in time order with the others; written once however often the draft is
    assert [e.seq for e in sorted(log.entries, key=lambda e: e.at)] == list(
        range(1, len(log.entries) + 1)
    )
    again = service.write_draft(session, ha, day)
    assert len(again.entries) == len(log.entries)


def test_the_route_line_follows_the_day_until_the_author_changes_it(session):
    data = handler_day(session)
    day = data["day"]
    ha = auth_service.require_user(session, "ha")
    log = service.write_draft(session, ha, day)
    (route,) = [e for e in log.entries if e.source == "route"]
    first = log.distance_m
    # the phone walks on: the draft's route line and distance follow
    (tracker_id,) = vehicle_queries.tracker_ids_of_person(session, ha.person_id)
    tracker = ingest.tracker_for_update(session, tracker_id)
    lon, lat = WALK[-1]
    ingest.store(
        session, tracker, [ingest.FixIn(fix_time=at(day, 9, 20), lon=lon + 0.001, lat=lat)]
    )
    log = service.write_draft(session, ha, day)
    assert log.distance_m > first
    assert "09:00–09:20" in route.text
    # changed by the author, it stays as they wrote it
    service.edit_entry(
        session,
        Settings(),
        ha,
        log,
        route.id,
        service.EntryIn(at=route.at, text="上午巡查通天街"),
    )
    ingest.store(
        session, tracker, [ingest.FixIn(fix_time=at(day, 9, 30), lon=lon + 0.002, lat=lat)]
    )
    service.write_draft(session, ha, day)
    assert route.text == "上午巡查通天街" and route.edited_at is not None
