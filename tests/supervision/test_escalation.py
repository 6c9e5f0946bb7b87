import datetime as dt

from sqlalchemy import select

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.config import get_settings
from civicgrid.kit import scheduler
from civicgrid.supervision import service
from tests.cases.test_cases_api import new_case
from tests.factories import STREET_A, login, user, world


def _events(session, code):
    case = session.scalar(select(Case).where(Case.code == code))
    return case, list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)
        )
    )


def test_the_rule_table_escalates_a_late_case_step_by_step_once_each(client, session):
    world(session)
    user(session, "sl", ["leader"], STREET_A)  # the street office's leader
    login(client, "disp")
    code = new_case(client)["code"]
    settings = get_settings()
    case, _ = _events(session, code)
    assert case.state == "dispatched" and case.unit_code == STREET_A
    second = dt.timedelta(seconds=1)

    assert service.escalate(session, settings, now=case.warn_at - second) == {
        "remind": 0,
        "unit_leader": 0,
        "district_leader": 0,
    }
    counts = service.escalate(session, settings, now=case.warn_at + second)
    assert counts == {"remind": 1, "unit_leader": 0, "district_leader": 0}
    counts = service.escalate(session, settings, now=case.deadline + second)
    assert counts == {"remind": 0, "unit_leader": 1, "district_leader": 0}
    # again: nothing new (each step once per deadline)
    assert sum(service.escalate(session, settings, now=case.deadline + 2 * second).values()) == 0
    later = case.deadline + dt.timedelta(days=30)
    counts = service.escalate(session, settings, now=later)
    assert counts == {"remind": 0, "unit_leader": 0, "district_leader": 1}

    case, events = _events(session, code)
    urges = [e for e in events if e.action == "urge"]
    assert [(e.role, e.payload["step"]) for e in urges] == [
        ("system", "remind"),
        ("system", "unit_leader"),
        ("system", "district_leader"),
    ]
    assert urges[0].payload["targets"] == ["ha", "sta"]  # the street's handlers
    assert urges[1].payload["targets"] == ["sl"]
    assert urges[2].payload["targets"] == ["lead"]  # the district's leader
    sheets = [e.payload["sheet"] for e in urges]
    assert sheets[0] is None and sheets[1] and sheets[2] and sheets[1] != sheets[2]
    assert case.state == "dispatched"  # 督办 is a note, not a move

    # the stats' count per unit, held against the case's own events
    by_events = {
        (e.case_id, case.unit_code)
        for e in urges
        if e.payload["step"] in ("unit_leader", "district_leader")
    }
    expected: dict[str, int] = {}
    for _case_id, unit in by_events:
        expected[unit] = expected.get(unit, 0) + 1
    assert service.urged_cases_by_unit(session) == expected == {STREET_A: 1}
    assert service.urged_cases_by_unit(session, start=later + second) == {}

    # the leaders' list and the printable 督办单
    login(client, "lead")
    r = client.get("/api/v1/supervision/urges")
    assert r.status_code == 200
    assert [u["number"] for u in r.json()["urges"]] == [sheets[2], sheets[1]]
    page = client.get(f"/supervision/sheets/{sheets[1]}")
    assert page.status_code == 200 and sheets[1] in page.text and code in page.text
    assert client.get("/supervision/sheets/DB0").status_code == 404
    page = client.get("/supervision")
    assert page.status_code == 200 and sheets[2] in page.text
    login(client, "ha")
    assert client.get("/api/v1/supervision/urges").status_code == 403
    assert client.get("/supervision").status_code == 403


def test_an_administrator_edits_the_rule_table(client, session):
    world(session)
    login(client, "lead")
    r = client.put("/api/v1/supervision/rules/remind", json={"enabled": False})
    assert r.status_code == 403
    login(client, "boss")
    rules = client.get("/api/v1/supervision/rules").json()["rules"]
    assert [(r["step"], r["light"], r["after_hours"]) for r in rules] == [
        ("remind", "yellow", 0),
        ("unit_leader", "red", 0),
        ("district_leader", "red", 8),
    ]
    r = client.put("/api/v1/supervision/rules/district_leader", json={"after_hours": 4})
    assert r.status_code == 200 and r.json()["after_hours"] == 4
    assert r.json()["updated_by"] == "boss"
    r = client.put("/api/v1/supervision/rules/district_leader", json={"after_hours": -1})
    assert r.status_code == 400 and "after_hours" in r.text
    assert client.put("/api/v1/supervision/rules/nope", json={}).status_code == 404
    r = client.put("/api/v1/supervision/rules/remind", json={"enabled": False})
    assert r.json()["enabled"] is False
    rules = client.get("/api/v1/supervision/rules").json()["rules"]
    assert [r["after_hours"] for r in rules] == [0, 0, 4]
    assert [r["enabled"] for r in rules] == [False, True, True]


def test_the_escalation_is_a_job_of_the_one_scheduler(client, session):
    # Given a case past its deadline by two days (its clock set back), committed
    world(session)
    login(client, "disp")
    code = new_case(client)["code"]
    case, _ = _events(session, code)
    case.deadline = case.deadline - dt.timedelta(days=60)
    case.warn_at = case.deadline - dt.timedelta(hours=1)
    session.commit()
    # When the scheduler runs the job
    job = scheduler.get_job("supervision-escalate")
    assert job is service.ESCALATE_JOB and job.every == dt.timedelta(minutes=5)
    outcome = scheduler.run_job(job, node="test", force=True)
    # Then every step was taken, each an urge event on the case
    assert outcome.ok and outcome.result == "remind 1, unit_leader 1, district_leader 1"
    session.expire_all()
    _, events = _events(session, code)
    assert [e.payload["step"] for e in events if e.action == "urge"] == list(service.STEPS)


def test_a_rule_table_without_rows_holds_the_defaults(session):
    from sqlalchemy import delete

    from civicgrid.supervision.models import EscalationRule

    session.execute(delete(EscalationRule))
    assert [(r.step, r.light, r.after_hours) for r in service.rules(session)] == [
        (step, light, hours) for step, light, hours in service.DEFAULT_RULES
    ]
    rule = service.update_rule(
        session, "remind", light=None, after_hours=2, enabled=None, by="boss"
    )
    assert rule.id is not None and rule.after_hours == 2
