"""The citizen API behind the phone page: no account, a code and a secret."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from civicgrid.auth import service as auth_service
from civicgrid.auth.deps import CurrentUser
from civicgrid.cases import policy, views, workflow
from civicgrid.cases import service as case_service
from civicgrid.cases.deps import CurrentCase
from civicgrid.cases.exceptions import ActionForbidden
from civicgrid.cases.schemas import CaseCreate, CaseSummary
from civicgrid.categories import queries as categories_queries
from civicgrid.categories import service as cat_service
from civicgrid.citizen import intake, service
from civicgrid.citizen.schemas import (
    CallerCase,
    Followed,
    FollowIn,
    NearbyCase,
    Rated,
    Submitted,
    Suggestion,
    TrackedCase,
)
from civicgrid.config import get_settings
from civicgrid.geo import datum as geo_datum
from civicgrid.kit import idempotency, ratelimit
from civicgrid.kit.guard import BodyLimit
from civicgrid.kit.http import (
    PRIVATE_PHOTO,
    AppSettings,
    DbSession,
    RowId,
    binary_answer,
    client_address,
    stored_file,
)
from civicgrid.kit.timefmt import iso_local
from civicgrid.media import service as media_service

public_router = APIRouter(prefix="/api/v1/citizen", tags=["citizen"])
# Staff entry: a new case by staff comes in by the one intake path, as the citizen's and
# Open311's do; and a duplicate is merged into its original, its reporter following it (the
# reporter's tracking is citizen's). Signed-in users only: civicgrid.app includes it among the
# private routers.
staff_router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

BODY_LIMITS = [
    BodyLimit(
        "POST",
        re.compile(r"/api/v1/citizen/reports|/api/v1/cases/entry"),
        lambda: get_settings().photo_max_bytes * media_service.MAX_PHOTOS + 64 * 1024,
    )
]


def _photo_url(case, secret: str):
    def url(photo, thumb: bool = False) -> str:
        extra = "&thumb=1" if thumb else ""
        return f"/api/v1/citizen/cases/{case.code}/photos/{photo.id}?s={secret}{extra}"

    return url


@public_router.get("/suggest", response_model=list[Suggestion])
def suggest(session: DbSession, text: Annotated[str, Query(max_length=4000)]) -> list[dict]:
    """Categories that a free-text description probably means, best first."""
    return [
        {"code": c.code, "kind": c.kind, "name": c.name, "major": c.major_name}
        for c in cat_service.suggest(session, text)
    ]


@public_router.get("/nearby", response_model=list[NearbyCase])
def nearby(
    session: DbSession,
    settings: AppSettings,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    datum: Annotated[str, Query(max_length=10)] = "wgs84",
    category: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
) -> list[dict]:
    """Open public cases near the point (any datum; the answer's points are WGS-84) by the
    duplicate rule (the settings' radius and days), nearest first: what the phone page shows
    before a report, so that a citizen can follow one instead of reporting it again."""
    wlon, wlat = geo_datum.to_wgs84(lon, lat, geo_datum.check_datum(datum))
    policy = service.PublicPolicy.of(settings)
    near = service.near_cases(
        session, settings, lon=wlon, lat=wlat, category=category, sources=policy.sources
    )
    counts = service.follower_counts(session, [c.id for c in near])
    names = categories_queries.names_by_code(session, {c.category_code for c in near})
    return [
        {
            "code": c.code,
            "category": {"code": c.category_code, "name": names.get(c.category_code, "")},
            "state": c.state,
            "state_zh": workflow.STATE_NAMES_ZH[c.state],
            "reported_at": iso_local(c.reported_at),
            "address": c.address,
            "description": c.description,
            "lon": c.lon,
            "lat": c.lat,
            "distance_m": round(service.metres(c.lon, c.lat, wlon, wlat), 1),
            "followers": counts.get(c.id, 0),
            "url": f"/reports/{c.code}",
        }
        for c in near
    ]


@public_router.post("/cases/{code}/follow", response_model=Followed)
def follow(
    code: Annotated[str, Path(max_length=40)],
    body: FollowIn,
    request: Request,
    session: DbSession,
    settings: AppSettings,
) -> dict:
    """ "我也遇到这个问题": count one more citizen on an open public case instead of a new report;
    with a phone, they are told of its public steps. The same phone follows a case once."""
    ratelimit.check_report(settings, address=client_address(request), phone=body.phone or None)
    case = service.public_case(session, settings, code)
    followers = service.follow(session, settings, case, phone=body.phone)
    return {"code": service.followed(session, case).code, "followers": followers}


@public_router.post("/reports", response_model=Submitted, status_code=201)
def submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    category: Annotated[str, Form(pattern=r"^\d{5}$")],
    lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    datum: Annotated[str, Form()] = "wgs84",
    address: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """Report a problem: a category, photos, a place (any datum), words; answers the case code
    and the secret of its tracking link at once (routing is synchronous). With an
    `Idempotency-Key` header a repeat of the same report gets the same answer, written once."""
    key = idempotency.checked_key(request.headers.get(idempotency.HEADER))
    files = [
        (f.filename or "photo", f.file.read(settings.photo_max_bytes + 1)) for f in photos or []
    ]
    fields = (category, lon, lat, datum, address, description, phone)
    digest = idempotency.request_hash(
        "citizen-report", fields, [hashlib.sha256(data).hexdigest() for _n, data in files]
    )
    scoped = idempotency.scoped("citizen", key) if key else idempotency.generated()
    found = idempotency.replay(session, scoped, digest) if key else None
    if found is not None:
        return found.response()
    ratelimit.check_report(settings, address=client_address(request), phone=phone or None)
    # planned with the request's session, which only reads (it takes no write lock), and the
    # photos stored; then written with whatever other reports are waiting (citizen.intake)
    prepared = service.prepare(
        session,
        settings,
        category=category,
        lon=lon,
        lat=lat,
        datum=datum,
        address=address,
        description=description,
        phone=phone.strip(),
        photos=files,
        needs=True,
    )
    duplicates = [
        c.code for c in service.possible_duplicates(session, settings, prepared.plan.case)
    ]

    def answer(done: service.Submitted) -> idempotency.Answer:
        case = done.case
        return idempotency.Answer.json(
            201,
            {
                "code": case.code,
                "secret": done.secret,
                "track_url": f"/track/{case.code}?s={done.secret}",
                "state": case.state,
                "state_zh": workflow.STATE_NAMES_ZH[case.state],
                "unit": case.unit_code,
                "deadline": iso_local(case.deadline),
                "queue_reason": case.queue_reason,
                "possible_duplicates": duplicates,
            },
        )

    return intake.write(
        intake.Report(prepared, answer, key=scoped, digest=digest, client_key=bool(key))
    ).response()


@public_router.get("/cases/{code}", response_model=TrackedCase, response_model_exclude_unset=True)
def track(code: str, session: DbSession, s: Annotated[str, Query(max_length=100)]) -> dict:
    """The case as its reporter sees it (a merged duplicate shows its original as well)."""
    case = service.find_tracked(session, code, s)
    view = service.public_view(session, case, photo_url=_photo_url(case, s))
    original = service.followed(session, case)
    if original is not case:
        view["merged_into"] = service.public_view(
            session, original, photo_url=lambda p, thumb=False: None
        )
    return view


class RateIn(BaseModel):
    s: str = Field(max_length=100, description="the tracking secret")
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


@public_router.post("/cases/{code}/rate", response_model=Rated)
def rate(code: str, body: RateIn, session: DbSession, settings: AppSettings) -> dict:
    """Rate a closed case once, 1-5 with a comment; 2 or less goes back to the dispatcher."""
    case = service.find_tracked(session, code, body.s)
    service.rate(session, settings, case, score=body.score, comment=body.comment)
    return {"code": case.code, "score": case.score}


@public_router.get(
    "/cases/{code}/photos/{photo_id}",
    response_class=Response,
    responses=binary_answer("image/jpeg", description="the photo"),
)
def photo(
    code: str,
    photo_id: RowId,
    session: DbSession,
    settings: AppSettings,
    s: Annotated[str, Query(max_length=100)],
    thumb: bool = False,
) -> Response:
    case = service.find_tracked(session, code, s)
    found = service.public_photo(session, case, photo_id)
    return stored_file(settings, found.thumb_key if thumb else found.key, cache=PRIVATE_PHOTO)


@staff_router.post("", response_model=CaseSummary, status_code=201)
def report_case(
    request: Request,
    body: CaseCreate,
    session: DbSession,
    user: CurrentUser,
    settings: AppSettings,
) -> Response:
    """A report by staff (supervisor's patrol, operator's hotline call, any staff). With an
    `Idempotency-Key` header a repeat gets the same answer, the case written once."""
    return _enter(request, session, user, settings, body, [])


@staff_router.post("/entry", response_model=CaseSummary, status_code=201)
def enter_case(
    request: Request,
    body: Annotated[CaseCreate, Form()],
    session: DbSession,
    user: CurrentUser,
    settings: AppSettings,
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """`POST /api/v1/cases` as a form with photos (the staff entry page, `/console/new`): the
    same fields, source and role rules and `Idempotency-Key`; the photos are checked images
    (JPEG, PNG or WebP, at most the settings' size and count), kept as the report's."""
    files = [
        (f.filename or "photo", f.file.read(settings.photo_max_bytes + 1)) for f in photos or []
    ]
    return _enter(request, session, user, settings, body, files)


def _enter(
    request: Request,
    session,
    user,
    settings,
    body: CaseCreate,
    files: list[tuple[str, bytes]],
) -> Response:
    """Staff's entry, JSON or form: the idempotency key, the rules, the one intake path."""
    key = idempotency.checked_key(request.headers.get(idempotency.HEADER))
    fields = body.model_dump(mode="json")
    hashes = [hashlib.sha256(data).hexdigest() for _n, data in files]
    digest = idempotency.request_hash("case-report", fields, *([hashes] if files else []))
    scoped = idempotency.scoped(f"user:{user.id}", key) if key else idempotency.generated()
    found = idempotency.replay(session, scoped, digest) if key else None
    if found is not None:
        return found.response()
    actor = policy.actor_for(session, user, "report")
    source = service.source_for(user, body.source, auto_dispatch=body.auto_dispatch)
    # planned with the request's session, which only reads (no write lock), the photos stored
    # (pending), then written with whatever other reports are waiting (citizen.intake)
    prepared = service.prepare(
        session,
        settings,
        actor=actor,
        source=source,
        category=body.category,
        category_kind=body.category_kind,
        urgency=body.urgency,
        lon=body.lon,
        lat=body.lat,
        datum=body.datum,
        address=body.address,
        description=body.description,
        name=body.contact_name,
        phone=body.contact_phone,
        auto_dispatch=body.auto_dispatch,
        photos=files,
        extra={"callback": True} if body.callback else None,
    )

    def answer(done: service.Submitted) -> idempotency.Answer:
        return idempotency.Answer.json(201, views.case_summary(done.case))

    return intake.write(
        intake.Report(prepared, answer, key=scoped, digest=digest, client_key=bool(key))
    ).response()


@staff_router.get("/entry/caller", response_model=list[CallerCase])
def caller(
    session: DbSession, user: CurrentUser, phone: Annotated[str, Query(max_length=40)]
) -> list[dict]:
    """A caller's earlier cases (the latest 20, newest first) that the user may see: for the
    roles that may see reporters' phones (the hotline's operators, dispatchers, admins)."""
    if not user.has_role(*views.CONTACT_ROLES):
        raise ActionForbidden(
            "您的角色不能查看来电人的历史案件", "your roles may not see a caller's earlier cases"
        )
    scope = auth_service.scope_codes(session, user)
    return service.caller_history(session, phone, scope=scope)


class MergeIn(BaseModel):
    into: str = Field(description="the code of the original case")


@staff_router.post("/{code}/merge", response_model=CaseSummary)
def merge(
    case: CurrentCase, body: MergeIn, session: DbSession, user: CurrentUser, settings: AppSettings
) -> dict:
    """Merge a duplicate into the original: it is rejected with duplicate_of, and its reporter
    follows the original."""
    scope = auth_service.scope_codes(session, user)
    original = case_service.get_visible_case(session, body.into, scope)
    actor = policy.actor_for(session, user, "reject")
    service.merge(session, settings, case, original, actor=actor)
    return views.case_summary(case)


@staff_router.get("/{code}/duplicates", response_model=list[CaseSummary])
def duplicates(case: CurrentCase, session: DbSession, settings: AppSettings) -> list[dict]:
    """Open cases of the same category nearby (the settings' radius and days)."""
    return [views.case_summary(c) for c in service.possible_duplicates(session, settings, case)]
