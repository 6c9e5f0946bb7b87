"""The citizen API behind the phone page: no account, a code and a secret."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from civicgrid.cases import workflow
from civicgrid.categories import service as cat_service
from civicgrid.citizen import intake, service
from civicgrid.config import get_settings
from civicgrid.kit import idempotency, ratelimit
from civicgrid.kit.guard import BodyLimit
from civicgrid.kit.http import AppSettings, DbSession, RowId, client_address
from civicgrid.kit.timefmt import iso_local
from civicgrid.media import service as media_service

public_router = APIRouter(prefix="/api/v1/citizen", tags=["citizen"])
BODY_LIMITS = [
    BodyLimit(
        "POST",
        re.compile(r"/api/v1/citizen/reports"),
        lambda: get_settings().photo_max_bytes * media_service.MAX_PHOTOS + 64 * 1024,
    )
]


def _photo_url(case, secret: str):
    def url(photo, thumb: bool = False) -> str:
        extra = "&thumb=1" if thumb else ""
        return f"/api/v1/citizen/cases/{case.code}/photos/{photo.id}?s={secret}{extra}"

    return url


@public_router.get("/suggest")
def suggest(session: DbSession, text: Annotated[str, Query(max_length=4000)]) -> list[dict]:
    """Categories that a free-text description probably means, best first."""
    return [
        {"code": c.code, "kind": c.kind, "name": c.name, "major": c.major_name}
        for c in cat_service.suggest(session, text)
    ]


@public_router.post("/reports", status_code=201)
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

    return intake.write(intake.Report(prepared, answer, key=scoped, digest=digest)).response()


@public_router.get("/cases/{code}")
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


@public_router.post("/cases/{code}/rate")
def rate(code: str, body: RateIn, session: DbSession, settings: AppSettings) -> dict:
    """Rate a closed case once, 1-5 with a comment; 2 or less goes back to the dispatcher."""
    case = service.find_tracked(session, code, body.s)
    service.rate(session, settings, case, score=body.score, comment=body.comment)
    return {"code": case.code, "score": case.score}


@public_router.get("/cases/{code}/photos/{photo_id}")
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
    data = media_service.storage(settings).get(found.thumb_key if thumb else found.key)
    return Response(data, media_type="image/jpeg")
