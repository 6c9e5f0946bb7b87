import datetime as dt

from sqlalchemy import select

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.config import get_settings
from civicgrid.kit import scheduler
from civicgrid.kit.timefmt import local_zone
from civicgrid.supervision import service
from civicgrid.supervision.models import Escalation
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


def test_each_step_is_sent_once_to_the_peoples_directory_contacts(client, session, monkeypatch):
    # Given an SMS gateway (a real HTTP server) and the people's phones and e-mail addresses in
    # the staff directory: the street's handlers and leader, the district's leader
    import http.server
    import json

    from civicgrid.auth.models import User
    from civicgrid.kit import notify
    from tests.servers import serving

    received: list[dict] = []

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"code": 0}')

        def log_message(self, *args):
            pass

    world(session)
    user(session, "sl", ["leader"], STREET_A, phones=["13900000002", "02100000000"])
    contacts = {"ha": ("13900000001", None), "lead": ("", "lead@example.org")}
    for username, (phone, email) in contacts.items():
        person = session.scalar(select(User).where(User.username == username)).person
        person.phones, person.email = phone, email
    session.flush()
    mails = notify.log_provider("email").sent
    mails.clear()
    login(client, "disp")
    code = new_case(client)["code"]
    case, _ = _events(session, code)
    session.commit()
    second = dt.timedelta(seconds=1)
    with serving(Gateway) as url:
        monkeypatch.setenv("CIVICGRID_NOTIFY_SMS_URL", url)
        monkeypatch.setenv("CIVICGRID_NOTIFY_SMS_SIGN", "城管")
        get_settings.cache_clear()
        settings = get_settings()
        # When the steps come due one after the other (each in its own committed run)
        service.escalate(session, settings, now=case.warn_at + second)
        session.commit()
        # Then the yellow reminder reaches the handler with a phone ("sta" has none)
        assert received == [
            {
                "phone": "13900000001",
                "text": f"黄灯提醒: 案件 {code} 即将超时 (时限 "
                f"{case.deadline.astimezone(local_zone()):%Y-%m-%d %H:%M}"
                "), 请尽快处置",
                "sign": "城管",
            }
        ]
        service.escalate(session, settings, now=case.deadline + second)
        session.commit()
        sheet = session.scalar(select(Escalation.number).where(Escalation.step == "unit_leader"))
        # the 督办 the street's leader, at the first of their numbers, naming the sheet
        assert [r["phone"] for r in received] == ["13900000001", "13900000002"]
        assert received[1]["text"].startswith(f"督办: 案件 {code} 被督办: 督办单 {sheet}")
        # a run with nothing due sends nothing again
        service.escalate(session, settings, now=case.deadline + 2 * second)
        session.commit()
        assert len(received) == 2 and mails == []
        # a step rolled back tells nobody
        service.escalate(session, settings, now=case.deadline + dt.timedelta(days=30))
        session.rollback()
        assert len(received) == 2 and mails == []
        # the district's leader, by e-mail (the log's provider: no SMTP server set)
        service.escalate(session, settings, now=case.deadline + dt.timedelta(days=30))
        session.commit()
    assert len(received) == 2
    assert [(m.channel, m.to, m.subject) for m in mails] == [("email", "lead@example.org", "督办")]
    assert code in mails[0].body and "红灯超时督办区领导" in mails[0].body
