"""One way to write a case (cases.rows, workflow.PAYLOADS): live intake, live actions, import
and verify build the same rows from the same events."""

import datetime as dt
import json

import pytest
from sqlalchemy import delete, select

from civicgrid.cases import history, intake, policy, rows, service, workflow
from civicgrid.cases.exceptions import BadAction
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.citizen import service as citizen_service
from civicgrid.config import Settings
from tests.factories import POINT_A, POINT_B, STREET_A, world

SETTINGS = Settings()
CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # a Monday
# The columns a new import sets itself: its own id, version and row times.
BOOKKEEPING = ("version", "created_at", "updated_at")


def report(session, at=T0, point=POINT_A, settings=SETTINGS, **kw):
    kw.setdefault("source", "citizen")
    kw.setdefault("category", "06010")
    return intake.report(
        session,
        settings,
        actor=policy.Actor.citizen(),
        lon=point[0] if point else None,
        lat=point[1] if point else None,
        at=at,
        **kw,
    )


def act(session, case, action, role, at, **kw):
    actor = policy.Actor(role, role, None)
    kw.setdefault("note", "n")
    kw.setdefault("photos", 1)
    return service.transition(session, SETTINGS, case, action, actor=actor, at=at, **kw)


def row_of(session, code: str) -> dict:
    case = session.scalar(select(Case).where(Case.code == code))
    return {c: getattr(case, c) for c in rows.CASE_COLUMNS if c not in BOOKKEEPING}


def events_of(session, code: str) -> list[tuple]:
    case = session.scalar(select(Case).where(Case.code == code))
    found = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)
    )
    return [(e.seq, e.at, e.action, e.from_state, e.to_state, e.note, e.public) for e in found]


def test_every_action_has_one_payload_specification():
    assert set(workflow.PAYLOADS) == set(workflow.ACTIONS)
    for action, spec in workflow.PAYLOADS.items():
        for name, field in spec.items():
            assert field.kind in ("time", "unit", "code", "score", "lon", "lat", "choice"), name
            assert not field.live_default or field.required, (action, name)


def test_export_then_import_gives_equal_rows_yellow_light_and_limit_unit_included(session):
    # Given live cases: one dispatched at 09:00 with 4 working hours (deadline 14:00 after the
    # lunch break, yellow at 80 % of the working time: 13:12, not 13:00), one with an approved
    # extension, one returned, one rated poorly, one with no place, one merged into another
    world(session)
    plain = report(session)
    assert plain.deadline == dt.datetime(2026, 3, 2, 14, 0, tzinfo=CST)
    assert plain.warn_at == dt.datetime(2026, 3, 2, 13, 12, tzinfo=CST)
    assert plain.limit_unit == "working_hours"
    extended = report(session)
    act(session, extended, "take", "handler", T0 + dt.timedelta(minutes=5))
    until = dt.datetime(2026, 3, 4, 17, 0, tzinfo=CST)
    act(
        session,
        extended,
        "extend_request",
        "handler",
        T0 + dt.timedelta(minutes=6),
        payload={"until": until.isoformat()},
    )
    act(session, extended, "extend_approve", "dispatcher", T0 + dt.timedelta(minutes=7))
    returned = report(session, point=POINT_B)
    act(session, returned, "return", "handler", T0 + dt.timedelta(minutes=3))
    rated = report(session)
    for minutes, action, role in (
        (1, "take", "handler"),
        (2, "report_done", "handler"),
        (3, "verify_pass", "dispatcher"),
    ):
        act(session, rated, action, role, T0 + dt.timedelta(minutes=minutes))
    act(session, rated, "rate", "operator", T0 + dt.timedelta(hours=2), payload={"score": 1})
    unplaced = report(session, point=None, source="hotline")
    outside = report(session, point=(127.5, 46.5), source="spotcheck")
    duplicate = report(session, at=T0 + dt.timedelta(minutes=9), point=None)
    citizen_service.merge(
        session, SETTINGS, duplicate, plain, actor=policy.Actor("disp", "dispatcher")
    )
    session.flush()
    cases = [plain, extended, returned, rated, unplaced, outside, duplicate]
    codes = [c.code for c in cases]
    before = {code: row_of(session, code) for code in codes}
    before_events = {code: events_of(session, code) for code in codes}
    assert before[rated.code]["queue_reason"] == "complaint"
    assert before[returned.code]["queue_reason"] == "returned"
    assert before[unplaced.code]["queue_reason"] == "no_location"
    assert before[outside.code]["queue_reason"] == "outside_grid"
    assert before[duplicate.code]["duplicate_of"] == plain.code
    # When they are exported, deleted and imported again
    lines = list(history.export_lines(session))
    session.execute(delete(Case))
    session.expunge_all()
    report_ = history.import_lines(lines)
    assert report_.imported == len(cases)
    # Then every row is what it was, column for column, and so are the events
    for code in codes:
        assert row_of(session, code) == before[code], code
        assert events_of(session, code) == before_events[code], code
    assert list(history.verify(session)) == []


def test_a_rate_without_a_score_is_a_line_error_not_a_crash(session):
    world(session)
    line = {
        "code": "R-1",
        "source": "citizen",
        "category": "06010",
        "events": [
            {"at": "2026-03-02T09:00:00+08:00", "action": "report"},
            {"at": "2026-03-02T09:01:00+08:00", "action": "accept"},
            {
                "at": "2026-03-02T09:02:00+08:00",
                "action": "dispatch",
                "unit": STREET_A,
                "deadline": "2026-03-02T17:00:00+08:00",
            },
            {"at": "2026-03-02T09:03:00+08:00", "action": "take"},
            {"at": "2026-03-02T09:04:00+08:00", "action": "report_done"},
            {"at": "2026-03-02T09:05:00+08:00", "action": "verify_pass"},
            {"at": "2026-03-02T09:06:00+08:00", "action": "rate"},
        ],
    }
    with pytest.raises(history.HistoryInvalid) as info:
        history.import_lines([json.dumps(line)])
    assert info.value.problems == ["line 1: event 7: rate needs score"]
    line["events"][-1]["score"] = 6
    with pytest.raises(history.HistoryInvalid) as info:
        history.import_lines([json.dumps(line)])
    assert info.value.problems == ["line 1: event 7: score must be a whole number from 1 to 5"]
    assert session.scalar(select(Case.id)) is None


def _line(events, **top):
    return json.dumps(
        {
            "code": "F-1",
            "source": "system",
            "category": "06010",
            "urgency": "normal",
            **top,
            "events": [{"at": f"2026-03-02T{h}+08:00", **e} for h, e in events],
        },
        ensure_ascii=False,
    )


def test_every_field_of_the_history_format_is_imported_and_exported_as_it_is(session):
    world(session)
    original = _line(
        [
            ("09:00:00", {"action": "report"}),
            (
                "09:05:00",
                {
                    "action": "relocate",
                    "lon": POINT_A[0],
                    "lat": POINT_A[1],
                    "datum": "wgs84",
                    "by": "oper",
                },
            ),
            ("09:06:00", {"action": "accept", "by": "system"}),
            (
                "09:07:00",
                {
                    "action": "dispatch",
                    "unit": STREET_A,
                    "deadline": "2026-03-02T17:00:00+08:00",
                    "limit_unit": "natural_hours",
                    "warn_at": "2026-03-02T16:00:00+08:00",
                    "by": "disp",
                },
            ),
            ("09:08:00", {"action": "comment", "note": "已电话联系", "public": True, "by": "disp"}),
            ("09:09:00", {"action": "urge", "note": "加快", "by": "lead"}),
        ],
        category="component:01002",
    )
    duplicate = _line(
        [
            ("10:00:00", {"action": "report"}),
            ("10:01:00", {"action": "reject", "note": "重复", "duplicate_of": "F-1"}),
        ],
        code="F-2",
        source="spotcheck",
    )
    report_ = history.import_lines([original, duplicate])
    assert report_.imported == 2
    f1 = session.scalar(select(Case).where(Case.code == "F-1"))
    assert (f1.category_kind, f1.category_code, f1.limit_unit) == (
        "component",
        "01002",
        "natural_hours",
    )
    assert f1.warn_at == dt.datetime(2026, 3, 2, 16, 0, tzinfo=CST)
    assert (f1.street_code, f1.queue_reason) == (STREET_A, None)
    f2 = session.scalar(select(Case).where(Case.code == "F-2"))
    assert (f2.state, f2.duplicate_of, f2.source) == ("rejected", "F-1", "spotcheck")
    comment = session.scalar(select(CaseEvent).where(CaseEvent.action == "comment"))
    assert (comment.actor, comment.public) == ("disp", True)
    exported = {json.loads(x)["code"]: json.loads(x) for x in history.export_lines(session)}
    for line in (original, duplicate):
        want = json.loads(line)
        got = exported[want["code"]]
        assert got["category"] == want["category"]
        assert got["events"] == want["events"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            {"action": "dispatch", "unit": STREET_A, "deadline": "2026-03-02T08:00:00+08:00"},
            "event 3: the deadline must be later than the event",
        ),
        (
            {
                "action": "dispatch",
                "unit": STREET_A,
                "deadline": "2026-03-02T17:00:00+08:00",
                "limit_unit": "hours",
            },
            "event 3: limit_unit 'hours' is not one of",
        ),
        (
            {
                "action": "dispatch",
                "unit": STREET_A,
                "deadline": "2026-03-02T17:00:00+08:00",
                "colour": "red",
            },
            "event 3: unknown field(s) colour",
        ),
        (
            {"action": "reject", "note": "x", "duplicate_of": "F 1"},
            "event 3: duplicate_of is not 1 to 40",
        ),
        ({"action": "comment", "public": True}, "event 3: public is for a note"),
        (
            {"action": "comment", "note": "x", "public": "yes"},
            "event 3: public must be true or false",
        ),
    ],
)
def test_a_bad_field_is_refused_with_its_line(session, event, reason):
    world(session)
    line = _line(
        [
            ("09:00:00", {"action": "report"}),
            ("09:01:00", {"action": "accept"}),
            ("09:02:00", event),
        ]
    )
    with pytest.raises(history.HistoryInvalid) as info:
        history.import_lines([line])
    assert info.value.problems[0].startswith("line 1: ") and reason in info.value.problems[0]


def test_the_live_deadline_must_be_later_than_now_on_the_same_rule(session):
    world(session)
    case = report(session, point=(127.5, 46.5))  # not dispatched
    act(session, case, "accept", "dispatcher", T0)
    with pytest.raises(BadAction, match="later than the event"):
        act(
            session,
            case,
            "dispatch",
            "dispatcher",
            T0,
            payload={"unit": STREET_A, "deadline": T0.isoformat()},
        )


def test_the_yellow_fraction_setting_moves_warn_at_live_and_on_import(session, monkeypatch):
    # Given light_yellow_fraction 0.5
    world(session)
    half = Settings(light_yellow_fraction=0.5)
    # When a case is dispatched at 09:00 with 4 working hours (deadline 14:00)
    case = report(session, settings=half)
    # Then it turns yellow after 2 working hours, at 11:00 (0.8 would be 13:12)
    assert case.warn_at == dt.datetime(2026, 3, 2, 11, 0, tzinfo=CST)
    # and an approved extension to 17:00 the next day (8.5 working hours) turns yellow halfway
    at = T0 + dt.timedelta(minutes=5)
    service.transition(session, half, case, "take", actor=policy.Actor("ha", "handler"), at=at)
    until = dt.datetime(2026, 3, 3, 17, 0, tzinfo=CST)
    service.transition(
        session,
        half,
        case,
        "extend_request",
        actor=policy.Actor("ha", "handler"),
        at=at,
        payload={"until": until.isoformat()},
    )
    service.transition(
        session, half, case, "extend_approve", actor=policy.Actor("d", "dispatcher"), at=at
    )
    # 09:05 → 17:00 next day: 2h55 + 4h30 today, 3h30 + 4h tomorrow, 14h55 in all; half of it,
    # 7h27m30s, is the rest of today and 2m30s of tomorrow
    assert case.warn_at == dt.datetime(2026, 3, 3, 8, 32, 30, tzinfo=CST)
    # And an import with no warn_at derives it with the setting too
    monkeypatch.setenv("CIVICGRID_LIGHT_YELLOW_FRACTION", "0.5")
    from civicgrid.config import get_settings

    get_settings.cache_clear()
    line = _line(
        [
            ("09:00:00", {"action": "report"}),
            ("09:00:00", {"action": "accept"}),
            (
                "09:00:00",
                {"action": "dispatch", "unit": STREET_A, "deadline": "2026-03-02T14:00:00+08:00"},
            ),
        ]
    )
    history.import_lines([line])
    imported = session.scalar(select(Case).where(Case.code == "F-1"))
    assert imported.warn_at == dt.datetime(2026, 3, 2, 11, 0, tzinfo=CST)


def test_an_address_is_one_line_on_every_path(session):
    # Given a phone form whose address wrapped, When it is reported live, Then it is one line
    world(session)
    case = report(session, address="香坊大街 12 号\r\n 东侧")
    assert case.address == "香坊大街 12 号 东侧"
    # and a history's address with a line break is refused with its line
    with pytest.raises(history.HistoryInvalid) as info:
        history.import_lines([_line([("09:00:00", {"action": "report"})], address="a\nb")])
    assert "address contains a character that is not allowed (U+000A" in info.value.problems[0]


def test_a_draft_has_every_column_of_the_model_at_its_default():
    # A column added to the Case model (and a migration) needs no change in rows: a draft
    # carries every column, at the model's scalar default where it has one.
    draft = rows.draft(code="X-1")
    assert set(rows.CASE_COLUMNS) <= set(vars(draft))
    assert draft.code == "X-1"
    projected = workflow.Projection().as_dict()
    for column in Case.__table__.columns:
        if column.default is None or not column.default.is_scalar:
            continue
        if column.key in ("id", "version") or column.key in rows.ROUTING_DEFAULTS:
            continue
        expected = projected.get(column.key, column.default.arg)
        assert getattr(draft, column.key) == expected, column.key
