"""Retention: the reporter's name, phone, e-mail and tracking secret of a case go a setting's
days after its closure (default three years), by the one scheduler's daily job; the case stays,
and the audit log says what was erased when."""

import datetime as dt
import hashlib

from sqlalchemy import select

from civicgrid.cases import history
from civicgrid.cases.models import Case, CaseContact
from civicgrid.citizen import service as citizen_service
from civicgrid.citizen.models import TrackingSecret
from civicgrid.config import get_settings
from civicgrid.kit import scheduler
from civicgrid.kit.audit import AuditEntry
from tests.conftest import DATA
from tests.factories import login, small_geography, world


def _cases_with_contacts(session, *, with_users: bool = False) -> dict[int, dt.datetime | None]:
    (world if with_users else small_geography)(session)
    history.import_lines((DATA / "cases-small.jsonl").read_text(encoding="utf-8").splitlines())
    session.flush()
    closed = dict(session.execute(select(Case.id, Case.closed_at)).all())
    for case_id in closed:
        session.add(CaseContact(case_id=case_id, name="张三", phone="13800000000", email="z@x.cn"))
        session.add(
            TrackingSecret(case_id=case_id, secret_hash=hashlib.sha256(b"%d" % case_id).hexdigest())
        )
    session.flush()
    assert any(closed.values()) and not all(closed.values())
    return closed


def _kept(session) -> tuple[set[int], set[int]]:
    session.expire_all()
    contacts = {c.case_id for c in session.scalars(select(CaseContact)) if c.phone}
    secrets = set(session.scalars(select(TrackingSecret.case_id)))
    return contacts, secrets


def test_personal_data_goes_three_years_after_closure_and_the_case_stays(session):
    closed = _cases_with_contacts(session)
    cases_before = session.execute(select(Case.id, Case.code, Case.state)).all()
    first = min(t for t in closed.values() if t)
    settings = get_settings()
    assert settings.personal_data_retention_days == 3 * 365
    # a day short of three years after the first closure: nothing goes
    citizen_service.erase_expired(session, settings, now=first + dt.timedelta(days=3 * 365 - 1))
    assert _kept(session) == (set(closed), set(closed))
    # three years and a day after every closure: the closed cases' data go, the open ones' stay
    last = max(t for t in closed.values() if t)
    done = citizen_service.erase_expired(session, settings, now=last + dt.timedelta(days=1096))
    still_open = {i for i, t in closed.items() if t is None}
    assert _kept(session) == (still_open, still_open)
    assert done["contacts"] == done["tracking_secrets"] == len(closed) - len(still_open)
    blanked = session.scalars(select(CaseContact).where(CaseContact.case_id.not_in(still_open)))
    assert all(c.name == c.phone == c.email == "" for c in blanked)
    assert session.execute(select(Case.id, Case.code, Case.state)).all() == cases_before
    entry = session.scalar(select(AuditEntry).where(AuditEntry.table_name == "retention"))
    assert entry.action == "erase" and entry.after["contacts"] == done["contacts"]


def test_the_retention_job_runs_in_the_one_scheduler(session, monkeypatch):
    closed = _cases_with_contacts(session)
    # a retention of 0 days keeps everything; of 1 day, erases what closed before yesterday
    monkeypatch.setenv("CIVICGRID_PERSONAL_DATA_RETENTION_DAYS", "0")
    get_settings.cache_clear()
    assert citizen_service.erase_expired(session, get_settings())["contacts"] == 0
    monkeypatch.setenv("CIVICGRID_PERSONAL_DATA_RETENTION_DAYS", "1")
    get_settings.cache_clear()
    job = scheduler.get_job("retention")
    assert job is citizen_service.RETENTION_JOB and job.every == dt.timedelta(days=1)
    outcome = scheduler.run_job(job, node="test", force=True)
    assert outcome.ok, outcome.error
    assert "erased" in outcome.result
    still_open = {i for i, t in closed.items() if t is None}
    assert _kept(session) == (still_open, still_open)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.table_name == "retention"))
    assert entry.actor == "job:retention"


def test_the_admin_page_shows_the_jobs_and_what_was_erased_when(client, session, monkeypatch):
    _cases_with_contacts(session, with_users=True)
    monkeypatch.setenv("CIVICGRID_PERSONAL_DATA_RETENTION_DAYS", "1")
    get_settings.cache_clear()
    job = scheduler.get_job("retention")
    assert scheduler.run_job(job, node="test", force=True).ok
    login(client, "boss")
    html = client.get("/admin").text
    jobs = html[html.index('id="jobs"') : html.index('id="erasures"')]
    for name in ("retention", "media-sweep"):
        assert f'<td><code translate="no">{name}</code><br>' in jobs
    assert "<td>成功</td>" in jobs
    erased = html[html.index('id="erasures"') :]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.table_name == "retention"))
    assert f"<td>{entry.after['contacts']}</td>" in erased and "尚无" not in erased
