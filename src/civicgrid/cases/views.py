"""How cases are shown: the JSON shape shared by the staff API, pages and exports."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from civicgrid.cases import workflow
from civicgrid.cases.models import Case, CaseContact, CaseEvent
from civicgrid.cases.routing import QUEUE_REASONS
from civicgrid.kit.db import utcnow
from civicgrid.kit.timefmt import iso_local
from civicgrid.org import service as org_service

CONTACT_ROLES = ("admin", "dispatcher", "operator")


def case_summary(case: Case, now: dt.datetime | None = None) -> dict:
    now = now or utcnow()
    reason = QUEUE_REASONS.get(case.queue_reason or "")
    return {
        "code": case.code,
        "source": case.source,
        "category": case.category_code,
        "category_kind": case.category_kind,
        "urgency": case.urgency,
        "lon": case.lon,
        "lat": case.lat,
        "grid": case.grid_code,
        "community": case.community_code,
        "street": case.street_code,
        "address": case.address,
        "description": case.description,
        "state": case.state,
        "state_zh": workflow.STATE_NAMES_ZH.get(case.state),
        "unit": case.unit_code,
        "deadline": iso_local(case.deadline),
        "light": workflow.light(case, now),
        "calendar_missing": case.calendar_missing,
        "queue_reason": case.queue_reason,
        "queue_reason_text": f"{reason[0]} / {reason[1]}" if reason else None,
        "extension_pending": case.extension_pending,
        "reported_at": iso_local(case.reported_at),
        "registered_at": iso_local(case.registered_at),
        "dispatched_at": iso_local(case.dispatched_at),
        "closed_at": iso_local(case.closed_at),
        "score": case.score,
        "duplicate_of": case.duplicate_of,
        "version": case.version,
    }


def event_view(event: CaseEvent) -> dict:
    return {
        "seq": event.seq,
        "at": iso_local(event.at),
        "action": event.action,
        "action_zh": workflow.ACTION_NAMES_ZH.get(event.action),
        "from": event.from_state,
        "to": event.to_state,
        "actor": event.actor,
        "role": event.role,
        "note": event.note,
        "payload": event.payload,
    }


def contact_view(contact: CaseContact | None, roles: list[str]) -> dict | None:
    if contact is None:
        return None
    if any(r in CONTACT_ROLES for r in roles):
        # the e-mail (an Open311 partner's citizens often leave only that) to those who may
        # see the phone
        return {"name": contact.name, "phone": contact.phone, "email": contact.email}
    name = contact.name[:1] + "*" * max(len(contact.name) - 1, 0)
    return {
        "name": name,
        "phone": org_service.mask_phone(contact.phone) if contact.phone else "",
        "email": "",
    }


def case_detail(
    session: Session, case: Case, events: list[CaseEvent], roles: list[str], photos: list
) -> dict:
    return {
        **case_summary(case),
        "contact": contact_view(session.get(CaseContact, case.id), roles),
        "timeline": [event_view(e) for e in events],
        "photos": [
            {
                "id": p.id,
                "stage": p.stage,
                "width": p.width,
                "height": p.height,
                "url": f"/api/v1/cases/{case.code}/photos/{p.id}",
                "thumb_url": f"/api/v1/cases/{case.code}/photos/{p.id}?thumb=1",
            }
            for p in photos
        ],
    }
