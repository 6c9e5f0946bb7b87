"""将案件结果反馈给市民: a citizen who gave a phone (the reporter of a citizen case, or a
follower who said "我也遇到这个问题") is told of each public step of the case by SMS, through
kit.notify (the log until an SMS gateway is set).

The case's changes come on kit's event bus (cases.service.announce). Who is told and what is
read in the change's transaction (before it commits); the messages are sent once it has
committed, never for a rolled-back change. Several steps of one case in one transaction (a
report routed at once: accepted and dispatched) make one message, of the last step.
"""

from __future__ import annotations

import logging

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
# The kit.notify templates of the citizen's messages: the step, and the end.
STEP_EVENT, CLOSED_EVENT = "case_step", "case_closed"

_PENDING = "citizen_updates"


def _on_change(session: Session, message: dict) -> None:
    if message.get("type") != "case" or message.get("action") not in TOLD_ACTIONS:
        return
    code = message["code"]
    pending = session.info.setdefault(_PENDING, {})
    phones = pending[code][0] if code in pending else _phones(session, code, message)
    if not phones:
        pending[code] = ([], None)
        return
    state = message.get("state")
    unit = None
    if state == "dispatched" and message.get("unit"):
        unit = org_queries.names_by_code(session, [message["unit"]]).get(message["unit"])
    base = get_settings().public_base_url
    data = {
        "case": code,
        "step": service.public_step_text(state, unit),
        "link": f" 详情 {base.rstrip('/')}/reports/{code}" if base else "",
    }
    pending[code] = (phones, (CLOSED_EVENT if state == "closed" else STEP_EVENT, data))


def _phones(session: Session, code: str, message: dict) -> list[str]:
    """The reporter's phone (of a citizen's case) and the followers' who gave one."""
    case = case_queries.case_by_code(session, code)
    if case is None:
        return []
    phones = []
    if message.get("source") == "citizen":
        phones.append(case_queries.contact_phone(session, case.id))
    phones.extend(service.follower_phones(session, case.id))
    return list(dict.fromkeys(p for p in phones if p))


def messages_of(pending: dict) -> list[tuple[str, str, dict]]:
    """(phone, event, data) of each message a transaction's changes make."""
    return [
        (phone, said[0], said[1])
        for phones, said in pending.values()
        if said is not None
        for phone in phones
    ]


def deliver(messages: list[tuple[str, str, dict]]) -> list[notify.Delivery]:
    """Send the messages now through the SMS provider the settings choose."""
    notifier = notify.Notifier(notify.providers(get_settings()), local_zone())
    now = utcnow()
    return [
        d
        for phone, event, data in messages
        for d in notifier.notify(notify.Preference({"sms": phone}), event, data, now=now)
    ]


def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    try:
        deliver(messages_of(pending))
    except Exception:  # noqa: BLE001 - a notification must never fail a committed write
        log.exception("citizen updates failed")


def _after_rollback(session: Session, _previous) -> None:
    session.info.pop(_PENDING, None)


def _install() -> None:
    from sqlalchemy import event as sa_event

    events.before_commit(_on_change)
    sa_event.listen(Session, "after_commit", _after_commit)
    sa_event.listen(Session, "after_soft_rollback", _after_rollback)


_install()
