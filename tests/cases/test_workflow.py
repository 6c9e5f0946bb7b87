"""The state machine table and the projection, without a database."""

import datetime as dt

from civicgrid.cases import workflow

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_every_action_of_the_history_format_is_in_the_table():
    assert set(workflow.HISTORY_ACTIONS) == {
        "report",
        "accept",
        "reject",
        "dispatch",
        "return",
        "take",
        "extend_request",
        "extend_approve",
        "extend_refuse",
        "report_done",
        "verify_fail",
        "verify_pass",
        "suspend",
        "resume",
        "rate",
        "relocate",
    }
    assert set(workflow.ROLES) == set(workflow.ACTIONS)


def test_illegal_moves_have_no_next_state():
    assert workflow.next_state("reported", "dispatch", None) is None
    assert workflow.next_state("closed", "take", None) is None
    assert workflow.next_state("rejected", "suspend", None) is None
    assert workflow.next_state("closed", "suspend", None) is None
    assert workflow.next_state(None, "accept", None) is None


def test_resume_returns_to_the_state_before():
    p = workflow.Projection()
    for i, (action, payload) in enumerate(
        [
            ("report", {}),
            ("accept", {}),
            ("dispatch", {"unit": "u1", "deadline": at(240)}),
            ("take", {}),
            ("suspend", {}),
        ]
    ):
        workflow.apply(p, action, at(i), payload)
    assert p.state == "suspended" and p.state_before_suspend == "in_progress"
    workflow.apply(p, "resume", at(64), {})
    assert p.state == "in_progress"
    # the suspension from minute 4 to 64 moved the deadline by an hour
    assert p.deadline == at(300)


def test_extension_replaces_the_deadline_and_rating_keeps_the_last_score():
    p = workflow.Projection()
    steps = [
        ("report", {}),
        ("accept", {}),
        ("dispatch", {"unit": "u", "deadline": at(60)}),
        ("take", {}),
        ("extend_request", {"until": at(600)}),
        ("extend_approve", {"deadline": at(600)}),
        ("report_done", {}),
        ("verify_pass", {}),
        ("rate", {"score": 2}),
        ("rate", {"score": 5}),
    ]
    for i, (action, payload) in enumerate(steps):
        workflow.apply(p, action, at(i + 1), payload)
    assert p.deadline == at(600) and not p.extension_pending
    assert p.state == "closed" and p.score == 5 and p.closed_at == at(8)


def test_lights_follow_the_80_percent_mark():
    p = workflow.Projection()
    workflow.apply(p, "report", at(0), {})
    workflow.apply(p, "accept", at(0), {})
    workflow.apply(p, "dispatch", at(0), {"unit": "u", "deadline": at(100)})
    assert workflow.light(p, at(80)) == "green"
    assert workflow.light(p, at(81)) == "yellow"
    assert workflow.light(p, at(100)) == "yellow"
    assert workflow.light(p, at(101)) == "red"
    workflow.apply(p, "take", at(90), {})
    workflow.apply(p, "suspend", at(95), {})
    assert workflow.light(p, at(500)) is None  # the clock stops
