"""Open311 GeoReport v2: services from the category catalogue, requests from cases, api keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from civicgrid.cases import policy as case_policy
from civicgrid.cases import queries as case_queries
from civicgrid.cases import service as case_service
from civicgrid.cases import workflow
from civicgrid.categories import queries as categories_queries
from civicgrid.citizen import service as citizen_service
from civicgrid.config import Settings
from civicgrid.kit import refcache
from civicgrid.kit.db import utcnow
from civicgrid.kit.timefmt import iso_local
from civicgrid.media import queries as media_queries
from civicgrid.open311.models import ApiKey
from civicgrid.org import queries as org_queries

# Service attributes (metadata) for the categories that need more than words.
ATTRIBUTES: dict[str, list[dict]] = {
    "10001": [
        {
            "variable": True,
            "code": "deicing_salt",
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": "是否撒了融雪剂 (4 小时内清除)",
            "order": 1,
            "description": "融雪剂 / de-icing salt used",
            "values": [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}],
        }
    ],
    **{
        code: [
            {
                "variable": True,
                "code": "cover_state",
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": "井盖状况",
                "order": 1,
                "description": "井盖状况 / state of the manhole cover",
                "values": [
                    {"key": "missing", "name": "缺失"},
                    {"key": "broken", "name": "破损"},
                    {"key": "displaced", "name": "移位"},
                ],
            }
        ]
        for code in ("01001", "01002", "01003", "01005")
    },
}
KIND_ZH = {"event": "事件", "component": "部件"}


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_key(session: Session, name: str) -> tuple[ApiKey, str]:
    """A new api_key; the plain key is returned once."""
    plain = "o311_" + secrets.token_urlsafe(24)
    key = ApiKey(name=name, key_hash=_key_hash(plain))
    session.add(key)
    session.flush()
    return key, plain


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, key_id: int) -> ApiKey | None:
    key = session.get(ApiKey, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def key_seen_live(session: Session, plain: str | None) -> bool:
    """`key_valid` from the live keys cached for a few seconds (refcache), a first check before
    any work; a key not among them is looked up (it may be new). A key revoked meanwhile is
    refused by `live_keys` when the report is written."""
    if not plain:
        return False

    def load() -> frozenset[str]:
        return frozenset(session.connection().execute(_ALL_LIVE_KEYS).scalars())

    return _key_hash(plain) in refcache.get("live_api_keys", load, session) or key_valid(
        session, plain
    )


def key_valid(session: Session, plain: str | None) -> bool:
    return bool(plain) and plain in live_keys(session, {plain})


def live_keys(session: Session, plain: set[str | None]) -> set[str]:
    """Those of the keys that exist and are not revoked (one query for all of them)."""
    by_hash = {_key_hash(k): k for k in plain if k}
    if not by_hash:
        return set()
    found = session.connection().execute(_LIVE_KEYS, {"hashes": list(by_hash)}).scalars()
    return {by_hash[h] for h in found}


_KEYS = ApiKey.__table__
_ALL_LIVE_KEYS = select(_KEYS.c.key_hash).where(_KEYS.c.revoked_at.is_(None))
_LIVE_KEYS = _ALL_LIVE_KEYS.where(_KEYS.c.key_hash.in_(bindparam("hashes", expanding=True)))


def services(session: Session) -> list[dict]:
    """One service per 5-digit code. Where the catalogue has the code as a component and as an
    event, the event stands for both (a report is about a problem)."""
    return [service_of(cat) for cat in categories_queries.one_per_code(session)]


def service_of(cat: categories_queries.Category) -> dict:
    return {
        "service_code": cat.code,
        "service_name": cat.name,
        "description": f"{cat.major_name} · {cat.name} ({KIND_ZH[cat.kind]})",
        "metadata": cat.code in ATTRIBUTES,
        "type": "realtime",
        "keywords": ",".join(k for k in cat.keywords.split("|") if k),
        "group": cat.major_name,
    }


def definition(code: str) -> dict:
    return {"service_code": code, "attributes": ATTRIBUTES.get(code, [])}


def clean_attributes(given: dict[str, list[str]]) -> dict[str, list[str]]:
    """The attributes a client sent, blank values left out: an attribute whose values are all
    blank counts as absent (FixMyStreet sends every attribute, the optional ones empty)."""
    cleaned = {name: [v for v in values if v.strip()] for name, values in given.items()}
    return {name: values for name, values in cleaned.items() if values}


def check_attributes(code: str, given: dict[str, list[str]], *, strict: bool = False) -> list[str]:
    """Problems with attribute[...] values (`clean_attributes`'s) for this service (empty when
    fine). An attribute the service does not define is kept (the case's payload holds it),
    or with `strict` (the setting open311_strict_attributes) a problem."""
    problems = []
    defs = {a["code"]: a for a in ATTRIBUTES.get(code, [])}
    for name, attr in defs.items():
        values = given.get(name, [])
        if attr["required"] and not values:
            problems.append(f"attribute[{name}] is required")
        allowed = {v["key"] for v in attr.get("values", [])}
        if allowed and any(v not in allowed for v in values):
            problems.append(f"attribute[{name}] must be one of {', '.join(sorted(allowed))}")
        if attr["datatype"] == "singlevaluelist" and len(values) > 1:
            problems.append(f"attribute[{name}] takes one value")
    for name in given:
        if strict and name not in defs:
            problems.append(f"attribute[{name}] is not an attribute of service {code}")
    return problems


def service_notice(case: Any) -> str | None:
    """What the reporter is told of the state of the request (待立案, 已派遣 …)."""
    return _notice(case.state)


def _notice(state: str) -> str | None:
    notice = {"reported": "待立案", "registered": "已立案, 待派遣"}.get(state)
    return notice or workflow.STATE_NAMES_ZH.get(state)


# What the public sees is one policy for every public read (citizen owns it).
PublicPolicy = citizen_service.PublicPolicy


def find_requests(
    session: Session,
    *,
    policy: PublicPolicy,
    ids: list[str] | None = None,
    service_codes: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    status: str | None = None,
    updated_after: dt.datetime | None = None,
    page: int = 1,
    page_size: int = 100,
) -> list[Row]:
    """The public requests (cases the policy shows) by the GeoReport filters, newest first;
    ids override all the other filters and the page, never the policy. One query."""
    return case_queries.public_requests(
        session,
        sources=policy.sources,
        codes=ids,
        categories=service_codes,
        start=start,
        end=end,
        status=status,
        updated_after=updated_after,
        # a list of ids is answered whole (at most api.LIST_MAX): pages are for the searches
        offset=0 if ids else (page - 1) * page_size,
        limit=len(ids) if ids else page_size,
    )


def public_request(session: Session, *, policy: PublicPolicy, code: str) -> Row | None:
    """The request of this code if the policy shows it; None as well when there is no such
    case (a caller answers both alike, so that codes of internal cases do not leak)."""
    return case_queries.public_request(session, sources=policy.sources, code=code)


def public_photo(
    session: Session, *, policy: PublicPolicy, code: str, photo_id: int
) -> media_queries.Photo | None:
    """A report photo of a public request, if the policy shows it, or one of its after photos
    (unless the policy shows no photos)."""
    if policy.photos == "none":
        return None
    case_id = case_queries.public_case_id(session, sources=policy.sources, code=code)
    if case_id is None:
        return None
    # a report photo as the policy shows them, or an after photo (FixMyStreet's update media)
    return media_queries.report_photo(
        session, case_id=case_id, photo_id=photo_id, public_only=policy.public_photos_only
    ) or media_queries.after_photo(session, case_id=case_id, photo_id=photo_id)


def request_views(
    session: Session, rows: list[Row], *, policy: PublicPolicy, base_url: str
) -> list[dict]:
    """Requests as GeoReport v2 documents, from rows of `find_requests`/`public_request`.
    Set-based: one query each for the agencies' names, the services' names, the first shown
    report photo, the reports' payloads (a media_url as given) and the latest public note of
    all the rows, whatever their number."""
    if not rows:
        return []
    ids = [r[0] for r in rows]
    unit_codes = {r.unit_code for r in rows if r.unit_code}
    units = org_queries.names_by_code(session, unit_codes)
    # where a code is a component and an event, the event's name (as `services` does)
    names = categories_queries.names_by_code(session, {r.category_code for r in rows})
    photos = {}
    if policy.photos != "none":
        photos = media_queries.first_report_photos(
            session, ids, public_only=policy.public_photos_only
        )
    notes = citizen_service.latest_public_notes(session, ids)
    # a client's media_url, as it was given (shown when every report photo is)
    given = case_queries.report_payloads(session, ids) if policy.photos == "all" else {}
    # rows unpacked by position (in the order of cases.queries.public_requests' columns): a
    # Row's attributes cost a microsecond each, a tenth of a page's time
    return [
        {
            "service_request_id": code,
            "status": "closed" if state in workflow.CLOSED_STATES else "open",
            "status_notes": citizen_service.public_status_note(
                state, units.get(unit_code), notes.get(case_id)
            ),
            "service_name": names.get(category_code),
            "service_code": category_code,
            "description": description or None,
            "agency_responsible": units.get(unit_code),
            "service_notice": _notice(state),
            "requested_datetime": iso_local(reported_at),
            "updated_datetime": iso_local(last_event_at or reported_at),
            "expected_datetime": iso_local(deadline),
            "address": address or None,
            "address_id": None,
            "zipcode": None,
            "lat": lat,
            "long": lon,
            "media_url": (given.get(case_id) or {}).get("media_url")
            or (
                f"{base_url}/open311/v2/media/{code}/{photos[case_id]}.jpg"
                if case_id in photos
                else None
            ),
        }
        for (
            case_id,
            code,
            state,
            category_code,
            description,
            unit_code,
            reported_at,
            last_event_at,
            deadline,
            address,
            lat,
            lon,
        ) in rows
    ]


def _pairs(session: Session, query) -> list[tuple]:
    return [(a, b) for a, b in session.execute(query)]


# --- FixMyStreet's service request updates ------------------------------------------------------

# Our states as FixMyStreet's extended statuses (README: "FixMyStreet: statuses"); a case
# rejected as the duplicate of another (merged) is DUPLICATE.
FMS_STATUSES = {
    "reported": "OPEN",
    "registered": "INVESTIGATING",
    "dispatched": "ACTION_SCHEDULED",
    "in_progress": "IN_PROGRESS",
    "resolved": "IN_PROGRESS",
    "suspended": "NO_FURTHER_ACTION",
    "closed": "FIXED",
    "rejected": "CLOSED",
}
# What a partner may say of its citizen's update: FixMyStreet's basic (OPEN, CLOSED), its
# REOPEN and its extended statuses.
UPDATE_STATUSES = (
    "OPEN",
    "CLOSED",
    "REOPEN",
    "FIXED",
    "INVESTIGATING",
    "IN_PROGRESS",
    "ACTION_SCHEDULED",
    "NO_FURTHER_ACTION",
    "NOT_COUNCILS_RESPONSIBILITY",
    "DUPLICATE",
    "INTERNAL_REFERRAL",
)
# The statuses with which a citizen says a closed case is not done: back before the dispatcher.
REOPENING = ("OPEN", "REOPEN")
UPDATE_NOTE_ZH = "市民补充 ({status})"


def fms_status(state: str, duplicate_of: str | None = None) -> str:
    """FixMyStreet's extended status of a case in `state` (DUPLICATE for a merged one)."""
    if state == "rejected" and duplicate_of:
        return "DUPLICATE"
    return FMS_STATUSES[state]


def find_updates(
    session: Session,
    *,
    policy: PublicPolicy,
    start: dt.datetime,
    end: dt.datetime,
    ids: list[str] | None = None,
    limit: int,
) -> list[Row]:
    """The public steps of the requests the policy shows, taken in [start, end], oldest first
    (cases.queries.public_updates)."""
    return case_queries.public_updates(
        session, sources=policy.sources, start=start, end=end, codes=ids, limit=limit
    )


def update_views(
    session: Session, rows: list[Row], *, policy: PublicPolicy, base_url: str
) -> list[dict]:
    """FixMyStreet's `request_update` documents of rows of `find_updates`: the event's id as
    update_id, the status after it, the step's public text with its public note (never an
    internal one), the after photo of a report_done. One query each for the photos and the
    units' names, whatever the number of rows."""
    if not rows:
        return []
    photos = {}
    if policy.photos != "none":
        photos = media_queries.first_after_photos(session, [r[0] for r in rows])
    sent_to = {(r.payload or {}).get("unit") for r in rows if r.action == "dispatch"}
    units = org_queries.names_by_code(session, {u for u in sent_to if u})
    out = []
    for (
        event_id,
        _case_id,
        code,
        at,
        action,
        from_state,
        to_state,
        note,
        public,
        payload,
        duplicate_of,
    ) in rows:
        payload = payload or {}
        shown_note = note if public and note else None
        if from_state != to_state:
            unit = units.get(payload.get("unit")) if action == "dispatch" else None
            description = citizen_service.public_status_note(to_state, unit, shown_note)
        else:
            description = shown_note or ""
        photo = photos.get(event_id)
        out.append(
            {
                "update_id": str(event_id),
                "service_request_id": code,
                "status": fms_status(to_state, payload.get("duplicate_of") or duplicate_of),
                "updated_datetime": iso_local(at.replace(microsecond=0)),
                "description": description,
                "media_url": f"{base_url}/open311/v2/media/{code}/{photo}.jpg" if photo else None,
                "external_status_code": to_state,
            }
        )
    return out


def key_name(session: Session, plain: str | None) -> str | None:
    """The name of a live api_key (None when it is not one)."""
    if not plain:
        return None
    return session.scalar(
        select(_KEYS.c.name).where(
            _KEYS.c.key_hash == _key_hash(plain), _KEYS.c.revoked_at.is_(None)
        )
    )


def citizen_update(
    session: Session,
    settings: Settings,
    *,
    policy: PublicPolicy,
    partner: str,
    code: str,
    status: str,
    description: str,
    given: dict,
) -> Any:
    """A citizen's update on their request, sent by a partner (FixMyStreet's POST
    servicerequestupdates): a comment on the case by the citizen, kept internal; a REOPEN (or
    OPEN) of a closed case puts it before the dispatcher as a complaint (回访不满意), like a
    poor rating. `given` is what else the partner said (its update_id, time, media_url), kept in
    the event's payload. The event; None when the policy does not show the case."""
    case = case_queries.case_by_code(session, code)
    if case is None or case.source not in policy.sources:
        return None
    reopen = status in REOPENING and case.state in workflow.CLOSED_STATES
    payload = {"partner": partner, "status": status, **given}
    if reopen:
        payload["reopen"] = True
    return case_service.transition(
        session,
        settings,
        case,
        "comment",
        actor=case_policy.Actor(f"open311:{partner}"[:60], "citizen"),
        note=description or UPDATE_NOTE_ZH.format(status=status),
        payload=payload,
    )
