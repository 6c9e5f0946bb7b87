"""将案件结果反馈给市民: a citizen who gave a phone (the reporter of a citizen case, or a
follower who said "我也遇到这个问题") is told of each public step of the case by SMS, through
kit.notify (the log until an SMS gateway is set).

The case's changes come on kit's event bus (cases.service.announce). Who is told and what is
read in the change's transaction, just before it commits (a fixed number of queries however
many cases the transaction wrote: a batch of reports costs no more); the messages are sent
once it has committed, never for a rolled-back change. Several steps of one case in one
transaction (a report routed at once: accepted and dispatched) make one message, of the last.
"""

from __future__ import annotations

import logging

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from civicgrid.cases import queries as case_queries
from civicgrid.citizen import service
from civicgrid.config import get_settings
from civicgrid.kit import events, notify
from civicgrid.kit.db import utcnow
from civicgrid.kit.timefmt import local_zone
from civicgrid.org import queries as org_queries

log = logging.getLogger(__name__)

# The actions whose step a citizen hears of (the public steps of service.PUBLIC_STEPS and a
# rejection); a return, a rework, an extension or an urge are the staff's business.
TOLD_ACTIONS = frozenset({"accept", "dispatch", "take", "report_done", "verify_pass", "reject"})
# The kit.notify templates of the citizen's messages: a step, and the end.
STEP_EVENT, CLOSED_EVENT = "case_step", "case_closed"

_STEPS, _READY = "citizen_steps", "citizen_updates"


def _on_change(session: Session, message: dict) -> None:
    """Remember the case's latest told step (the bus calls this for each change)."""
    if message.get("type") == "case" and message.get("action") in TOLD_ACTIONS:
        session.info.setdefault(_STEPS, {})[message["code"]] = message


def _resolve(session: Session) -> None:
    """Who hears what, read in the transaction once every change of it is known (this runs
    after the bus's own before_commit, which was registered first)."""
    steps: dict[str, dict] = session.info.pop(_STEPS, None) or {}
    if not steps:
        return
    contacts = case_queries.contact_phones(session, steps)
    followers = service.follower_phones(session, [case_id for case_id, _p in contacts.values()])
    units = {m["unit"] for m in steps.values() if m.get("state") == "dispatched" and m.get("unit")}
    unit_names = org_queries.names_by_code(session, units) if units else {}
    base = get_settings().public_base_url
    out = session.info.setdefault(_READY, [])
    for code, message in steps.items():
        if code not in contacts:
            continue
        case_id, reporter = contacts[code]
        phones = [reporter] if message.get("source") == "citizen" else []
        phones = list(dict.fromkeys(p for p in phones + followers.get(case_id, []) if p))
        if not phones:
            continue
        state = message.get("state")
        data = {
            "case": code,
            "step": service.public_step_text(state, unit_names.get(message.get("unit"))),
            "link": f" 详情 {base.rstrip('/')}/reports/{code}" if base else "",
        }
        said = CLOSED_EVENT if state == "closed" else STEP_EVENT
        out.extend((phone, said, data) for phone in phones)


def deliver(messages: list[tuple[str, str, dict]]) -> list[notify.Delivery]:
    """Send (phone, event, data) messages now through the SMS provider the settings choose."""
    notifier = notify.Notifier(notify.providers(get_settings()), local_zone())
    now = utcnow()
    return [
        d
        for phone, said, data in messages
        for d in notifier.notify(notify.Preference({"sms": phone}), said, data, now=now)
    ]


def _after_commit(session: Session) -> None:
    messages = session.info.pop(_READY, None)
    if not messages:
        return
    try:
        deliver(messages)
    except Exception:  # noqa: BLE001 - a notification must never fail a committed write
        log.exception("citizen updates failed")


def _after_rollback(session: Session, _previous) -> None:
    session.info.pop(_STEPS, None)
    session.info.pop(_READY, None)


events.before_commit(_on_change)
sa_event.listen(Session, "before_commit", _resolve)
sa_event.listen(Session, "after_commit", _after_commit)
sa_event.listen(Session, "after_soft_rollback", _after_rollback)
