from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select

from civicgrid.auth import service as auth_service
from civicgrid.auth.deps import CurrentUser, OptionalUser, require_roles
from civicgrid.auth.exceptions import NotSignedIn
from civicgrid.cases import intake, policy, queries, service, views, workflow
from civicgrid.cases.deps import CurrentCase
from civicgrid.cases.exceptions import BadAction, CaseNotFound
from civicgrid.cases.models import Case
from civicgrid.cases.schemas import (
    ActionIn,
    Board,
    CaseActed,
    CaseDetail,
    CasePage,
    LightLists,
    PhotoPublicRead,
)
from civicgrid.config import get_settings
from civicgrid.geo import service as geo_service
from civicgrid.kit import idempotency
from civicgrid.kit.db import utcnow
from civicgrid.kit.guard import BodyLimit
from civicgrid.kit.http import (
    MAX_ID,
    PRIVATE_PHOTO,
    AppSettings,
    DbSession,
    RowId,
    binary_answer,
    stored_file,
)
from civicgrid.kit.timefmt import iso_local, parse_time
from civicgrid.media import queries as media_queries
from civicgrid.media import service as media_service
from civicgrid.media.service import MAX_PHOTOS

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

PHOTO_ACTIONS = service.PHOTO_ACTIONS
BODY_LIMITS = [
    BodyLimit(
        "POST",
        re.compile(r"/api/v1/cases/[^/]+/(report-done|verify-pass|verify-fail)"),
        lambda: get_settings().photo_max_bytes * MAX_PHOTOS + 64 * 1024,
    )
]


def _when(text: str | None, name: str) -> dt.datetime | None:
    return parse_time(text, name) if text else None


@router.get("", response_model=CasePage)
def list_cases(
    session: DbSession,
    user: CurrentUser,
    state: Annotated[list[str] | None, Query()] = None,
    light: str | None = None,
    street: str | None = None,
    community: str | None = None,
    grid: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    source: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    reported_from: str | None = None,
    reported_to: str | None = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    queue: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict:
    """Cases of the caller's org units, newest first, with filters and cursor pagination."""
    box = None
    if bbox:
        try:
            box = tuple(float(x) for x in bbox.split(","))
        except ValueError:
            box = ()
        if len(box) != 4:
            raise BadAction(
                "bbox 应为 4 个数: 最小经度,最小纬度,最大经度,最大纬度",
                "bbox is min_lon,min_lat,max_lon,max_lat",
            )
    if state and any(s not in workflow.STATES for s in state):
        raise BadAction(
            f"state 应为 {', '.join(workflow.STATES)}",
            f"state must be one of {', '.join(workflow.STATES)}",
        )
    flt = queries.CaseFilter(
        state=state,
        light=light,
        street=street,
        community=community,
        grid=grid,
        unit=unit,
        category=category,
        source=source,
        q=q,
        reported_from=_when(reported_from, "reported_from"),
        reported_to=_when(reported_to, "reported_to"),
        bbox=box,
        queue=queue,
    )
    scope = auth_service.scope_codes(session, user)
    items = queries.list_cases(session, scope=scope, flt=flt, limit=limit, cursor=cursor)
    return {
        "items": [views.case_summary(c) for c in items],
        "next_cursor": items[-1].id if len(items) == limit else None,
    }


@router.get(
    "/lights",
    response_model=LightLists,
    dependencies=[Depends(require_roles("dispatcher", "leader", "admin"))],
)
def lights(
    session: DbSession, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> dict:
    """The yellow and red lists (亮灯): cases near or past their deadline."""
    scope = auth_service.scope_codes(session, user)
    out = {}
    for colour in ("yellow", "red"):
        found = queries.list_cases(
            session, scope=scope, flt=queries.CaseFilter(light=colour), limit=limit
        )
        out[colour] = [views.case_summary(c) for c in found]
    return out


@router.get("/{code}", response_model=CaseDetail)
def case_detail(case: CurrentCase, session: DbSession, user: CurrentUser) -> dict:
    """A case with its whole timeline and photos; the reporter's contact masked by role."""
    events = service.events_of(session, case)
    detail = views.case_detail(
        session, case, events, user.roles, media_service.photos_of(session, case.id)
    )
    detail["allowed_actions"] = policy.allowed_for(session, case, user)
    return detail


@router.get(
    "/{code}/photos/{photo_id}",
    response_class=Response,
    responses=binary_answer("image/jpeg", description="the photo"),
)
def photo(
    case: CurrentCase,
    photo_id: RowId,
    session: DbSession,
    settings: AppSettings,
    thumb: bool = False,
) -> Response:
    found = media_queries.case_photo(session, case_id=case.id, photo_id=photo_id)
    if found is None:
        raise CaseNotFound(f"{case.code}/photos/{photo_id}")
    return stored_file(settings, found.thumb_key if thumb else found.key, cache=PRIVATE_PHOTO)


class PhotoPublicIn(BaseModel):
    public: bool = Field(default=True, description="false withdraws the photo from the public")


@router.post(
    "/{code}/photos/{photo_id}/public",
    response_model=PhotoPublicRead,
    dependencies=[Depends(require_roles("dispatcher", "admin"))],
)
def photo_public(
    case: CurrentCase,
    photo_id: RowId,
    session: DbSession,
    user: CurrentUser,
    body: PhotoPublicIn | None = None,
) -> dict:
    """Mark a photo as reviewed for the public (审核公开), or withdraw it with
    `{"public": false}`: with public_photos=after_review, Open311 shows only such photos."""
    found = media_service.mark_public(
        session,
        case_id=case.id,
        photo_id=photo_id,
        by=user.username,
        public=body.public if body else True,
    )
    return {
        "photo_id": found.id,
        "public": found.public,
        "public_at": iso_local(found.public_at),
        "public_by": found.public_by,
    }


def _act(
    session,
    settings,
    user,
    case: Case,
    action: str,
    body: ActionIn,
    photos: list[tuple[str, bytes]] = (),
) -> dict:
    actor = policy.actor_for(session, user, action)
    payload = {
        k: v
        for k, v in {
            "unit": body.unit,
            "deadline": body.deadline,
            "until": body.until,
            "score": body.score,
        }.items()
        if v is not None
    }
    event = service.act(
        session,
        settings,
        case,
        action,
        actor=actor,
        note=body.note,
        payload=payload,
        public=body.public,
        photos=photos,
        expected_version=body.version,
    )
    return {**views.case_summary(case), "event": views.event_view(event)}


def _relocate(session, settings, user, case: Case, body: ActionIn) -> dict:
    events = intake.relocate(
        session,
        settings,
        case,
        actor=policy.actor_for(session, user, "relocate"),
        lon=body.lon,
        lat=body.lat,
        datum=body.datum,
        note=body.note,
        expected_version=body.version,
    )
    return {**views.case_summary(case), "event": views.event_view(events[0])}


def _idempotent(request: Request, session, user, digest: str, work) -> Response:
    """A case action's answer, stored with the request's Idempotency-Key (if any) in the
    action's transaction: a repeat gets the same answer and acts once (kit.idempotency)."""
    key = idempotency.checked_key(request.headers.get(idempotency.HEADER))
    return idempotency.run(
        session, key, f"user:{user.id}", digest, lambda: idempotency.Answer.json(200, work())
    ).response()


def _json_action(action: str):
    def endpoint(
        request: Request,
        case: CurrentCase,
        body: ActionIn,
        session: DbSession,
        user: CurrentUser,
        settings: AppSettings,
    ) -> Response:
        digest = idempotency.request_hash("case-action", case.code, action, body.model_dump())

        def work() -> dict:
            if action == "relocate":
                return _relocate(session, settings, user, case, body)
            return _act(session, settings, user, case, action, body)

        return _idempotent(request, session, user, digest, work)

    endpoint.__doc__ = f"{workflow.ACTION_NAMES_ZH[action]} ({action})."
    return endpoint


def _photo_action(action: str):
    def endpoint(
        request: Request,
        case: CurrentCase,
        session: DbSession,
        user: CurrentUser,
        settings: AppSettings,
        note: Annotated[str, Form(max_length=4000)] = "",
        version: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
        public: Annotated[bool, Form()] = False,
        photos: Annotated[list[UploadFile] | None, File()] = None,
    ) -> Response:
        files = [
            (f.filename or "photo", f.file.read(settings.photo_max_bytes + 1)) for f in photos or []
        ]
        digest = idempotency.request_hash(
            "case-action",
            case.code,
            action,
            note,
            version,
            public,
            [hashlib.sha256(data).hexdigest() for _n, data in files],
        )
        body = ActionIn(note=note, version=version, public=public)
        return _idempotent(
            request,
            session,
            user,
            digest,
            lambda: _act(session, settings, user, case, action, body, files),
        )

    endpoint.__doc__ = f"{workflow.ACTION_NAMES_ZH[action]} ({action}), with photos (multipart)."
    return endpoint


for _action in workflow.ACTIONS:
    if _action == "report":
        continue
    _path = f"/{{code}}/{_action.replace('_', '-')}"
    _factory = _photo_action if _action in PHOTO_ACTIONS else _json_action
    router.add_api_route(
        _path,
        _factory(_action),
        methods=["POST"],
        name=f"case_{_action}",
        response_model=CaseActed,
        summary=f"{workflow.ACTION_NAMES_ZH[_action]} {_action}",
    )


board_router = APIRouter(prefix="/api/v1", tags=["board"])


@board_router.get("/board", response_model=Board)
def board_data(session: DbSession, user: OptionalUser) -> dict:
    """Open cases with their light, and counts per street, for the dispatcher's board."""
    if user is None:
        raise NotSignedIn()
    scope = auth_service.scope_codes(session, user)
    now = utcnow()
    query = policy.scoped(select(Case).where(Case.state.in_(workflow.OPEN_STATES)), scope)
    cases = session.scalars(query.order_by(Case.id.desc()).limit(5000)).all()
    streets: dict[str, dict] = {}
    out = []
    for c in cases:
        light = workflow.light(c, now)
        out.append({"code": c.code, "lon": c.lon, "lat": c.lat, "light": light, "state": c.state})
        s = streets.setdefault(
            c.street_code or "—", {"green": 0, "yellow": 0, "red": 0, "none": 0, "total": 0}
        )
        # every case falls in exactly one colour column ("none": no deadline, so no light),
        # so a street's columns add up to its total
        s["total"] += 1
        s[light or "none"] += 1
    names = geo_service.area_names(session, list(streets))
    rows = [{"code": k, "name": names.get(k, k), **v} for k, v in sorted(streets.items())]
    return {"cases": out, "streets": rows}
