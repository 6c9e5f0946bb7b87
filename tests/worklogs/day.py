"""A handler's day for the work log tests: cases reported, acted on by the handler (and by
others, and on other days), and the handler's phone tracked as a person."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from civicgrid.cases import policy as case_policy
from civicgrid.cases import service as case_service
from civicgrid.citizen import service as citizen_service
from civicgrid.config import Settings
from civicgrid.kit.db import utcnow
from civicgrid.kit.timefmt import local_zone
from civicgrid.vehicles import ingest
from civicgrid.vehicles import service as vehicle_service
from tests.factories import POINT_A, STREET_A, world

# the tracked walk: east along a parallel, one fix a minute, 60 m apart
WALK = [(POINT_A[0] + i * 0.00077, POINT_A[1]) for i in range(11)]


def the_day() -> dt.date:
    """Yesterday (local): every fix and action of the day is in the past."""
    return utcnow().astimezone(local_zone()).date() - dt.timedelta(days=1)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=local_zone())


def handler_day(session) -> dict:
    """tests/factories.world, and a day of the handler `ha`: reports at 07:30, then take,
    report_done, return by ha; a comment and an urge by the dispatcher (not ha's); ha's take
    the day before (not this day's); ha's tracked walk 09:00–09:10."""
    world(session)
    settings = Settings()
    day = the_day()
    ha = case_policy.Actor("ha", "handler", frozenset({STREET_A}))
    disp = case_policy.Actor("disp", "dispatcher")

    def report(when: dt.datetime, text: str):
        return citizen_service.submit(
            session,
            settings,
            category="06010",
            lon=POINT_A[0],
            lat=POINT_A[1],
            address="通天街 1 号",
            description=text,
            at=when,
            find_duplicates=False,
        ).case

    def act(case, action, actor, when, note=""):
        photos = 1 if action == "report_done" else 0
        case_service.transition(
            session, settings, case, action, actor=actor, at=when, note=note, photos=photos
        )

    before = day - dt.timedelta(days=1)
    old = report(at(before, 8), "昨天的垃圾")
    act(old, "take", ha, at(before, 15))
    one, two, three = (report(at(day, 7, 30 + i), f"垃圾堆放 {i}") for i in range(3))
    act(one, "take", ha, at(day, 9))
    act(one, "comment", disp, at(day, 9, 30), note="请尽快")
    act(one, "report_done", ha, at(day, 10), note="已清理")
    act(two, "take", ha, at(day, 11))
    act(two, "urge", disp, at(day, 11, 30), note="加快")
    act(three, "return", ha, at(day, 12), note="不属于本单位")
    person_id = session.scalar(text("SELECT person_id FROM users WHERE username = 'ha'"))
    tracker = vehicle_service.create_tracker(
        session, terminal_id="ha-phone", protocol="osmand", person_id=person_id
    ).tracker
    fixes = [
        ingest.FixIn(fix_time=at(day, 9, i), lon=lon, lat=lat, speed=3.6)
        for i, (lon, lat) in enumerate(WALK)
    ]
    assert ingest.store(session, tracker, fixes).stored == len(WALK)
    session.flush()
    return {"day": day, "codes": [one.code, two.code, three.code], "old": old.code, "two": two}
