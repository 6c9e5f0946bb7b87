"""The audit log: every write to the administrators' data has one entry naming who, when,
what, before and after; secrets never reach it; only admins read it."""

from sqlalchemy import func, select
from typer.testing import CliRunner

from civicgrid.auth.models import User
from civicgrid.kit import audit
from civicgrid.kit.audit import AuditEntry
from tests.factories import PASSWORD, login, world

NEW_PASSWORD = "another-horse-battery-7"


def entries(session, table: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.table_name == table).order_by(AuditEntry.id)
        )
    )


def test_anonymous_gets_401_and_a_non_admin_403(client, session):
    world(session)
    assert client.get("/api/v1/admin/audit").status_code == 401
    assert client.get("/api/v1/admin/jobs").status_code == 401
    login(client, "disp")
    assert client.get("/api/v1/admin/audit").status_code == 403
    assert client.get("/api/v1/admin/jobs").status_code == 403


def test_an_admin_api_write_makes_one_entry_with_before_and_after(client, session):
    # Given an admin and a time limit
    world(session)
    login(client, "boss")
    first = {"scope": "event:06010", "urgency": "normal", "limit": 8, "unit": "working_hours"}
    assert client.put("/api/v1/time-limits", json=first).status_code == 200
    limits = entries(session, "time_limits")
    n = len(limits)

    # When the admin changes it
    r = client.put("/api/v1/time-limits", json={**first, "limit": 4})
    assert r.status_code == 200, r.text

    # Then there is one more entry: the admin, the row, the limit before and after
    limits = entries(session, "time_limits")
    assert len(limits) == n + 1
    entry = limits[-1]
    assert entry.actor == "user:boss" and entry.action == "update"
    assert entry.before == {"limit": 8.0} and entry.after == {"limit": 4.0}

    # and the admin reads it back, filtered by table and actor
    page = client.get(
        "/api/v1/admin/audit", params={"table": "time_limits", "actor": "user:boss"}
    ).json()
    assert page["total"] == 2  # the two puts
    newest = page["items"][0]
    assert newest["action"] == "update" and newest["row_key"] == entry.row_key
    assert newest["before"] == {"limit": 8.0} and newest["after"] == {"limit": 4.0}
    assert page["items"][-1]["after"] == {"limit": 8.0}
    assert client.get("/api/v1/admin/audit", params={"actor": "user:nobody"}).json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "per_page": 50,
    }


def test_an_admin_dispatch_rule_insert_and_delete_are_logged(client, session):
    world(session)
    login(client, "boss")
    r = client.post("/api/v1/dispatch-rules", json={"match": "06", "target": "street"})
    assert r.status_code == 201, r.text
    rule_id = r.json()["id"]
    assert client.delete(f"/api/v1/dispatch-rules/{rule_id}").status_code == 204
    mine = [e for e in entries(session, "dispatch_rules") if e.row_key == str(rule_id)]
    assert [(e.action, e.actor) for e in mine] == [
        ("insert", "user:boss"),
        ("delete", "user:boss"),
    ]
    assert mine[0].before is None and mine[0].after["match"] == "06"
    assert mine[1].before["match"] == "06" and mine[1].after is None


def test_a_password_change_logs_no_hash(client, session):
    # Given an admin who resets a user's password, and a user who changes their own
    world(session)
    login(client, "boss")
    r = client.patch("/api/v1/users/disp", json={"password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    own = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert own.status_code == 204, own.text

    # Then both changes are logged, by whom, with the hash masked
    hashes = {u.username: u.password_hash for u in session.scalars(select(User))}
    changes = [e for e in entries(session, "users") if e.action == "update"]
    assert {e.actor for e in changes} >= {"user:boss"}
    boss_id = str(session.scalars(select(User.id).where(User.username == "boss")).one())
    assert any(e.row_key == boss_id and e.actor == "user:boss" for e in changes)
    password_changes = [e for e in changes if "password_hash" in (e.after or {})]
    assert len(password_changes) >= 2
    for e in password_changes:
        assert e.before["password_hash"] == audit.MASK == e.after["password_hash"]
    text = " ".join(str((e.before, e.after)) for e in entries(session, "users"))
    for h in hashes.values():
        assert h not in text
    assert "argon2" not in text and NEW_PASSWORD not in text and PASSWORD not in text


def test_a_command_line_write_names_the_command(session):
    from civicgrid.cli import app as cli

    world(session)
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    result = CliRunner().invoke(
        cli, ["rules", "add", "04", "street", "--note", "cli test"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    new = session.scalars(select(AuditEntry).where(AuditEntry.id > 0).order_by(AuditEntry.id))
    new = list(new)[before:]
    assert [(e.actor, e.action, e.table_name) for e in new] == [
        ("cli:rules add", "insert", "dispatch_rules")
    ]


def test_a_rolled_back_write_leaves_no_entry(session):
    from civicgrid.cases import routing

    world(session)
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    nested = session.begin_nested()
    routing.add_rule(session, match="05", target="street")
    session.flush()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before + 1
    nested.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_a_bulk_insert_of_a_registered_table_makes_one_entry(session):
    from tests.factories import small_geography

    small_geography(session)
    areas = [e for e in entries(session, "areas") if e.row_key == "*"]
    assert len(areas) == 1
    assert areas[0].action == "insert" and areas[0].after["bulk"] is True
    assert areas[0].after["rows"] >= 8
    assert "geometry" not in str(areas[0].after)


def test_jobs_for_admins(client, session):
    world(session)
    login(client, "boss")
    jobs = {j["name"]: j for j in client.get("/api/v1/admin/jobs").json()}
    assert jobs["media-sweep"]["every_seconds"] == 3600
    assert jobs["media-sweep"]["runs"] == 0
