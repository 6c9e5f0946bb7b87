import datetime as dt

import pytest
from sqlalchemy import select

from civicgrid.cases import intake, policy, routing, service
from civicgrid.cases.exceptions import ActionForbidden, BadAction, IllegalTransition
from civicgrid.cases.models import CaseEvent
from civicgrid.config import Settings
from tests.factories import POINT_A, POINT_B, STREET_A, STREET_B, world

SETTINGS = Settings()
CST = dt.timezone(dt.timedelta(hours=8))


def report(session, point=POINT_A, category="06010", **kw):
    kw.setdefault("source", "citizen")
    return intake.report(
        session,
        SETTINGS,
        category=category,
        actor=policy.Actor.citizen(),
        lon=point[0] if point else None,
        lat=point[1] if point else None,
        **kw,
    )


def test_a_citizen_report_in_a_grid_is_dispatched_in_the_same_transaction(session):
    world(session)
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    case = report(session, at=at, description="路边暴露垃圾")
    assert case.code.startswith("XF20260302-")
    assert (case.state, case.unit_code, case.grid_code) == (
        "dispatched",
        STREET_A,
        "239901001001001",
    )
    # 06010 has 4 working hours: 09:00 + 4 h = 13:00 + 1 h... = 14:00 (lunch 12-13)
    assert case.deadline == dt.datetime(2026, 3, 2, 14, 0, tzinfo=CST)
    assert case.registered_at == case.dispatched_at == at
    actions = session.scalars(
        select(CaseEvent.action).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)
    ).all()
    assert actions == ["report", "accept", "dispatch"]


def test_codes_count_up_per_day(session):
    world(session)
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    codes = [report(session, at=at).code for _ in range(3)]
    assert codes == ["XF20260302-000001", "XF20260302-000002", "XF20260302-000003"]
    assert report(session, at=at + dt.timedelta(days=1)).code == "XF20260303-000001"


def test_department_categories_go_to_the_department(session):
    world(session)
    case = report(session, category="03005")  # 市容环卫设施 → 环卫部门
    assert case.unit_code == "239901901"
    case = report(session, point=POINT_B)
    assert case.unit_code == STREET_B


def test_a_report_outside_every_grid_is_kept_for_the_dispatcher(session):
    world(session)
    case = report(session, point=(127.5, 46.5))
    assert (case.state, case.queue_reason, case.unit_code) == ("reported", "outside_grid", None)
    case = report(session, point=None)
    assert case.queue_reason == "no_location"


def test_a_category_no_rule_covers_is_kept_for_the_dispatcher(session):
    world(session)
    for rule in routing.list_rules(session):
        if rule.match == "*":
            routing.delete_rule(session, rule.id)
    case = report(session, category="06010")
    assert (case.state, case.queue_reason) == ("reported", "no_rule")


def test_non_citizen_sources_wait_for_a_human(session):
    world(session)
    case = report(session, source="supervisor")
    assert (case.state, case.queue_reason) == ("reported", "manual")


def test_illegal_move_names_the_state_and_what_is_allowed(session):
    world(session)
    case = report(session)
    with pytest.raises(IllegalTransition) as info:
        service.transition(
            session, SETTINGS, case, "verify_pass", actor=policy.Actor("x", "dispatcher")
        )
    assert info.value.status_code == 409
    assert info.value.extra["state"] == "dispatched"
    assert set(info.value.extra["allowed"]) == {"return", "take", "suspend"}


def test_only_the_unit_sent_to_may_take(session):
    world(session)
    case = report(session)
    with pytest.raises(ActionForbidden):
        service.transition(
            session,
            SETTINGS,
            case,
            "take",
            actor=policy.Actor("hb", "handler", frozenset({STREET_B})),
        )
    with pytest.raises(ActionForbidden):
        service.transition(session, SETTINGS, case, "take", actor=policy.Actor("d", "dispatcher"))
    service.transition(
        session, SETTINGS, case, "take", actor=policy.Actor("ha", "handler", frozenset({STREET_A}))
    )
    assert case.state == "in_progress"


def test_extension_and_suspension_move_the_deadline(session):
    world(session)
    t0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    case = report(session, at=t0)
    handler = policy.Actor("ha", "handler", frozenset({STREET_A}))
    disp = policy.Actor("disp", "dispatcher")
    service.transition(
        session, SETTINGS, case, "take", actor=handler, at=t0 + dt.timedelta(minutes=10)
    )
    with pytest.raises(BadAction):
        service.transition(session, SETTINGS, case, "extend_approve", actor=disp)
    until = dt.datetime(2026, 3, 3, 12, 0, tzinfo=CST)
    service.transition(
        session,
        SETTINGS,
        case,
        "extend_request",
        actor=handler,
        at=t0 + dt.timedelta(hours=1),
        payload={"until": until.isoformat()},
        note="需要吊车",
    )
    assert case.extension_pending
    service.transition(
        session, SETTINGS, case, "extend_approve", actor=disp, at=t0 + dt.timedelta(hours=2)
    )
    assert case.deadline == until and not case.extension_pending
    service.transition(
        session,
        SETTINGS,
        case,
        "suspend",
        actor=disp,
        note="等待施工",
        at=t0 + dt.timedelta(hours=3),
    )
    service.transition(session, SETTINGS, case, "resume", actor=disp, at=t0 + dt.timedelta(hours=5))
    assert case.state == "in_progress"
    assert case.deadline == until + dt.timedelta(hours=2)


def test_a_note_is_needed_to_reject_return_or_fail_a_check(session):
    world(session)
    case = report(session, source="hotline")
    with pytest.raises(BadAction):
        service.transition(
            session, SETTINGS, case, "reject", actor=policy.Actor("oper", "operator")
        )
    service.transition(
        session, SETTINGS, case, "reject", actor=policy.Actor("oper", "operator"), note="重复上报"
    )
    assert case.state == "rejected"


def test_a_low_rating_puts_the_case_back_before_the_dispatcher(session):
    world(session)
    case = report(session)
    handler = policy.Actor("ha", "handler", frozenset({STREET_A}))
    disp = policy.Actor("disp", "dispatcher")
    service.transition(session, SETTINGS, case, "take", actor=handler)
    service.transition(session, SETTINGS, case, "report_done", actor=handler, photos=1)
    service.transition(session, SETTINGS, case, "verify_pass", actor=disp, note="已清理")
    service.transition(
        session, SETTINGS, case, "rate", actor=policy.Actor.citizen(), payload={"score": 2}
    )
    assert (case.state, case.score, case.queue_reason) == ("closed", 2, "complaint")
    with pytest.raises(BadAction):
        service.transition(
            session, SETTINGS, case, "rate", actor=policy.Actor.citizen(), payload={"score": 9}
        )
