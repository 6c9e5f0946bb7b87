"""GeoReport v2 under /open311/v2/, JSON and XML (the spec's required format).

Errors are the spec's: a list of {code, description} or <errors><error>…</error></errors>.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable

import orjson
from fastapi import APIRouter, Request, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from civicgrid.categories import service as cat_service
from civicgrid.citizen import intake
from civicgrid.citizen import service as citizen_service
from civicgrid.config import get_settings
from civicgrid.kit import idempotency, ratelimit
from civicgrid.kit.db import session_scope, utcnow
from civicgrid.kit.errors import AppError, ErrorBody, headers_of
from civicgrid.kit.guard import BodyLimit
from civicgrid.kit.http import PUBLIC_PHOTO, RowId, binary_answer, stored_file
from civicgrid.kit.text import BadText, check_text
from civicgrid.kit.timefmt import iso_local, parse_time
from civicgrid.media import service as media_service
from civicgrid.open311 import photos, schemas, service
from civicgrid.open311.xmlout import document

# The JSON answer's model is each route's response_model; XML carries the same fields.
_BOTH = {"application/json": {}, "text/xml": {}}


def _errors(description: str) -> dict:
    return {"description": description, "model": list[schemas.Error], "content": _BOTH}


router = APIRouter(
    tags=["open311"],
    responses={
        400: _errors("GeoReport error list: bad input"),
        403: _errors("GeoReport error list: no valid api_key"),
        404: _errors("GeoReport error list: not found, or an unknown format"),
    },
)
ANSWER = {200: {"description": "JSON or XML, as the path's format says", "content": _BOTH}}
FORMATS = ("json", "xml")
MAX_SPAN = dt.timedelta(days=90)
ATTR_RE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
# the form fields that may carry an uploaded photo (clients' names for it)
PHOTO_FIELD = re.compile(r"^(media|photo\d*)$")
MEDIA_URLS_MAX = 10

# The longest text each field of a POST may carry (characters, after trimming); one line each
# but the description. first_name and last_name are stored together as the reporter's name,
# whose cap holds for the two together.
FIELD_MAX = {
    "api_key": 100,
    "service_code": 16,
    "lat": 40,
    "long": 40,
    "address_string": 200,
    "address_id": 100,
    "description": 4000,
    "email": 120,
    "phone": 40,
    "first_name": 60,
    "last_name": 60,
    "device_id": 100,
    "account_id": 100,
    "media_url": 2000,
}
NAME_MAX = 60
ATTRIBUTE_VALUE_MAX = 100
MULTILINE = frozenset({"description"})
# GET requests: at most so many ids (or service codes) in one list, pages of 1..PAGE_SIZE_MAX,
# and no page past PAGE_MAX (100 million requests deep; a bigger number is a probe, not a page).
LIST_MAX = 1000
PAGE_MAX = 100_000
PAGE_SIZE_MAX = 1000


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        self.status = status
        self.description = description


def _render(fmt: str, data, root: str, item: str | None = None, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(
            document(root, item, data), status_code=status, media_type="text/xml; charset=utf-8"
        )
    # orjson: a page of 1,000 requests is serialised ten times faster than by json.dumps
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _error(fmt: str, status: int, description: str) -> Response:
    return _render(
        fmt, [{"code": status, "description": description}], "errors", "error", status=status
    )


def refusal(path: str, exc: AppError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A refusal made before any route (kit.guard) as the spec's error document."""
    response = _error("xml" if path.endswith(".xml") else "json", exc.status_code, exc.detail)
    return response.status_code, response.raw_headers, response.body


def http_refusal(path: str, status: int, detail: str) -> Response:
    """A path or method no route takes, as the spec's error document (XML for a .xml path)."""
    words = {404: "no such Open311 resource", 405: "method not allowed"}.get(status, detail)
    return _error("xml" if path.endswith(".xml") else "json", status, f"{words}: {path}")


BODY_LIMITS = [
    BodyLimit(
        "POST",
        re.compile(r"/open311/v2/requests\.(json|xml)"),
        lambda: get_settings().photo_max_bytes * media_service.MAX_PHOTOS + 64 * 1024,
    ),
    # a citizen's update: words and a URL, no file
    BodyLimit(
        "POST", re.compile(r"/open311/v2/servicerequestupdates\.(json|xml)"), lambda: 64 * 1024
    ),
]


def _run(fmt: str, work: Callable[[], Response]) -> Response:
    """Run `work`, turning every refusal into the spec's error document."""
    if fmt not in FORMATS:
        return _error("json", 404, f"unknown format {fmt!r}: use json or xml")
    try:
        return work()
    except (Open311Error, AppError) as exc:
        return _refusal(fmt, exc)


def _refusal(fmt: str, exc: Open311Error | AppError) -> Response:
    if isinstance(exc, Open311Error):
        return _error(fmt, exc.status, exc.description)
    status = exc.status_code if exc.status_code in (400, 403, 404, 503) else 400
    response = _error(fmt, status, exc.detail)
    if status == 503:
        response.headers.update(headers_of(exc) or {})  # Retry-After
    return response


def _base_url(request: Request) -> str:
    configured = get_settings().public_base_url
    return (configured or str(request.base_url)).rstrip("/")


def _policy() -> service.PublicPolicy:
    return service.PublicPolicy.of(get_settings())


def _time(value: str | None, name: str) -> dt.datetime | None:
    """A date or date-time parameter, in the years timefmt allows (400 naming the range)."""
    return parse_time(value, name) if value else None


def _whole(value: str | None, name: str, default: int, most: int) -> int:
    """A whole-number parameter from 1 to `most` (no sign, no exponent, no 10^20)."""
    if not value:
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 9 and 1 <= int(value) <= most):
        raise Open311Error(400, f"{name} must be a whole number from 1 to {most}")
    return int(value)


def _listed(value: str | None, name: str) -> list[str]:
    """A comma-separated list parameter: at most LIST_MAX items of acceptable text."""
    if not value:
        return []
    items = [x.strip() for x in check_text(value, name, multiline=False).split(",") if x.strip()]
    if len(items) > LIST_MAX:
        raise Open311Error(400, f"{name} lists {len(items)} items: at most {LIST_MAX} at once")
    return items


def _path_text(value: str, name: str) -> str:
    return check_text(value, name, max_length=100, multiline=False)


@router.get("/open311/discovery.{fmt}", response_model=schemas.Discovery, responses=ANSWER)
def discovery(fmt: str, request: Request) -> Response:
    base = _base_url(request)

    def work():
        data = {
            "changeset": "2026-11-25T00:00:00+08:00",
            "contact": "香坊区数字城管指挥中心 12319",
            "key_service": "api_key: civicgrid apikey add NAME (ask the district's administrator)",
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": f"{base}/open311/v2/",
                    "changeset": "2026-11-25T00:00:00+08:00",
                    "type": "production",
                    "formats": ["application/json", "text/xml"],
                }
            ],
        }
        return _render(fmt, data, "discovery")

    return _run(fmt, work)


@router.get("/open311/v2/services.{fmt}", response_model=list[schemas.Service], responses=ANSWER)
def services(fmt: str) -> Response:
    def work():
        with session_scope(read_only=True) as session:
            return _render(fmt, service.services(session), "services", "service")

    return _run(fmt, work)


@router.get(
    "/open311/v2/services/{code}.{fmt}",
    response_model=schemas.ServiceDefinition,
    responses=ANSWER,
)
def service_definition(code: str, fmt: str) -> Response:
    def work():
        with session_scope(read_only=True) as session:
            _require_service(session, code, 404)
        return _render(fmt, service.definition(code), "service_definition")

    return _run(fmt, work)


def _require_service(session, code: str, status: int) -> None:
    """Open311Error(status) unless the code is a service (a category) of this endpoint."""
    if code not in cat_service.category_codes(session):
        raise Open311Error(status, f"service_code {code} is not a service of this endpoint")


def _one_or_none(form, name: str) -> str | None:
    """A text field of the form, trimmed, held to kit.text's rule and to FIELD_MAX (BadText,
    400, naming the field); None when absent or blank."""
    value = form.get(name)
    if isinstance(value, UploadFile):
        raise Open311Error(400, f"{name} must be a text field")
    value = check_text(value or "", name, multiline=name in MULTILINE).strip()
    if len(value) > FIELD_MAX[name]:
        raise BadText(name, max_length=FIELD_MAX[name])
    return value or None


@router.post(
    "/open311/v2/requests.{fmt}",
    response_model=list[schemas.RequestCreated],
    status_code=201,
    responses={201: {"description": "The request was created", "content": _BOTH}},
)
async def post_request(fmt: str, request: Request) -> Response:
    """Create a service request; the answer carries its service_request_id at once."""
    if fmt not in FORMATS:
        return _error("json", 404, f"unknown format {fmt!r}: use json or xml")
    try:
        form = await request.form(max_part_size=get_settings().photo_max_bytes + 1024)
    except Exception:  # noqa: BLE001 - a body that is not a form
        return _error(fmt, 400, "the body must be form-encoded or multipart/form-data")
    # photos uploaded in the request, under the names clients use: media, photo, photo1 …
    media_files = [
        (v.filename or k, await v.read())
        for k, v in form.multi_items()
        if isinstance(v, UploadFile) and PHOTO_FIELD.match(k)
    ]
    if len(media_files) > media_service.MAX_PHOTOS:
        return _error(fmt, 400, f"at most {media_service.MAX_PHOTOS} photos in one request")
    try:
        key = _one_or_none(form, "api_key")
        # the client's Idempotency-Key, within its api_key's scope (kit.idempotency)
        given = idempotency.checked_key(request.headers.get(idempotency.HEADER))
        stored = (
            idempotency.scoped(f"open311:{hashlib.sha256((key or '').encode()).hexdigest()}", given)
            if given
            else None
        )
        digest = idempotency.request_hash(
            "open311",
            fmt,
            sorted((k, v) for k, v in form.multi_items() if not isinstance(v, UploadFile)),
            [hashlib.sha256(data).hexdigest() for _, data in media_files],
        )
        # The checks, the routing and the photo, in a thread: they read cached data, but a
        # refresh of it (every few seconds), the rate limits' Redis and a photo's decoding and
        # storing are blocking I/O, never to be done on the event loop.
        checked = await run_in_threadpool(_check, form, media_files, stored, digest)
        if isinstance(checked, idempotency.Answer):
            return checked.response()  # a repeat: the first answer, nothing written again
        prepared, account_id = checked

        written_case: dict[str, int] = {}

        def answer(done: citizen_service.Submitted) -> idempotency.Answer:
            case = done.case
            written_case["id"] = case.id
            data = [
                {
                    "service_request_id": case.code,
                    "token": case.code,
                    "service_notice": service.service_notice(case),
                    "account_id": account_id,
                }
            ]
            sent = _render(fmt, data, "service_requests", "request", status=201)
            return idempotency.Answer(sent.status_code, sent.body.decode(), sent.media_type)

        # the write, with whatever other reports are waiting (citizen.intake)
        written = await intake.write_async(
            intake.Report(
                prepared,
                answer,
                key=stored or idempotency.generated(),
                digest=digest,
                client_key=stored is not None,
                api_key=key,
                live_keys=service.live_keys,
                # what it gets if the key is revoked between the check and the write
                refusal=Open311Error(403, "a valid api_key is required"),
            )
        )
    except (Open311Error, AppError) as exc:
        return _refusal(fmt, exc)
    response = written.response()
    urls = _media_urls(form)
    if urls and "id" in written_case:
        # photos by URL: queued now, fetched once the answer is sent (open311.photos)
        queued = await run_in_threadpool(_queue_fetches, written_case["id"], None, urls)
        if queued:
            response.background = BackgroundTask(photos.run, get_settings(), queued)
    return response


def _queue_fetches(case_id: int, event_id: int | None, urls: list[str]) -> list[int]:
    settings = get_settings()
    if not settings.media_fetch_hosts():
        return []
    with session_scope() as session:
        return photos.queue(session, settings, case_id=case_id, event_id=event_id, urls=urls)


def _media_urls(form) -> list[str]:
    """Every media_url of the form (repeated ones kept, in order), each checked."""
    urls = []
    for value in form.getlist("media_url"):
        if isinstance(value, UploadFile):
            raise Open311Error(400, "media_url must be a text field")
        url = check_text(value, "media_url", multiline=False).strip()
        if len(url) > FIELD_MAX["media_url"]:
            raise BadText("media_url", max_length=FIELD_MAX["media_url"])
        if url:
            urls.append(_checked_url(url))
    if len(urls) > MEDIA_URLS_MAX:
        raise Open311Error(400, f"at most {MEDIA_URLS_MAX} media_url in one request")
    return urls


def _check(
    form, media: list[tuple[str, bytes]], stored_key: str | None, digest: str
) -> tuple[citizen_service.Prepared, str | None] | idempotency.Answer:
    """What only reads, beside the writers: the key, the photo's decoding, the routing (or, for
    a repeat of a request with an Idempotency-Key, its stored answer)."""
    settings = get_settings()
    with session_scope(read_only=True) as session:
        if not service.key_seen_live(session, _one_or_none(form, "api_key")):
            raise Open311Error(403, "a valid api_key is required")
        found = idempotency.replay(session, stored_key, digest)
        if found is not None:
            return found
        return _prepare(session, form, media_service.check_images(media, settings))


def _prepare(
    session, form, images: list[media_service.CheckedImage]
) -> tuple[citizen_service.Prepared, str | None]:
    settings = get_settings()
    code = _one_or_none(form, "service_code")
    if not code:
        raise Open311Error(400, "service_code is required")
    _require_service(session, code, 400)
    lat, lon = _one_or_none(form, "lat"), _one_or_none(form, "long")
    address_string = _one_or_none(form, "address_string") or ""
    address_id = _one_or_none(form, "address_id")
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat and long must be given together")
    if lat is None and not address_string and not address_id:
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    try:
        lat_f = float(lat) if lat is not None else None
        lon_f = float(lon) if lon is not None else None
    except ValueError:
        raise Open311Error(400, "lat and long must be numbers") from None
    if lat_f is not None and not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
        raise Open311Error(400, "lat or long is out of range")
    description = _one_or_none(form, "description") or ""
    attributes: dict[str, list[str]] = {}
    for key in form:
        match = ATTR_RE.match(key)
        if match:
            attributes.setdefault(match.group(1), []).extend(
                check_text(v, key, max_length=ATTRIBUTE_VALUE_MAX, multiline=False)
                for v in form.getlist(key)
                if not isinstance(v, UploadFile)
            )
    attributes = service.clean_attributes(attributes)
    problems = service.check_attributes(code, attributes, strict=settings.open311_strict_attributes)
    if problems:
        raise Open311Error(400, "; ".join(problems))
    phone = _one_or_none(form, "phone") or ""
    name = " ".join(
        p for p in (_one_or_none(form, "first_name"), _one_or_none(form, "last_name")) if p
    )
    if len(name) > NAME_MAX:
        raise BadText("first_name + last_name", max_length=NAME_MAX)
    media_urls = _media_urls(form)
    # A client with an api_key is a known partner (one server may post for many citizens, and
    # its key can be revoked): no per-address limit; the per-phone one still holds.
    ratelimit.check_report(settings, address=None, phone=phone or None)
    extra = {
        k: v
        for k, v in {
            "device_id": _one_or_none(form, "device_id"),
            "account_id": _one_or_none(form, "account_id"),
            "address_id": address_id,
            # every media_url as given; the first also under its old key
            "media_url": media_urls[0] if media_urls else None,
            "media_urls": media_urls if len(media_urls) > 1 else None,
            "attributes": attributes or None,
        }.items()
        if v
    }
    prepared = citizen_service.prepare(
        session,
        settings,
        category=code,
        source="open311",
        lon=lon_f,
        lat=lat_f,
        address=address_string,
        description=description,
        phone=phone,
        name=name,
        email=_one_or_none(form, "email") or "",
        photos=images,
        extra=extra,
    )
    return prepared, extra.get("account_id")


@router.get(
    "/open311/v2/requests.{fmt}", response_model=list[schemas.ServiceRequest], responses=ANSWER
)
def get_requests(fmt: str, request: Request) -> Response:
    """The public requests (README: "Open311: what the public sees"), newest first."""
    q = request.query_params
    base = _base_url(request)

    def work():
        ids = _listed(q.get("service_request_id"), "service_request_id")
        codes = _listed(q.get("service_code"), "service_code")
        start, end = _time(q.get("start_date"), "start_date"), _time(q.get("end_date"), "end_date")
        if start and end and end - start > MAX_SPAN:
            raise Open311Error(400, "start_date and end_date may not be more than 90 days apart")
        if start and end and end < start:
            raise Open311Error(400, "end_date is before start_date")
        updated_after = _time(q.get("updated_after"), "updated_after")
        status = q.get("status")
        if status:
            wanted = {s.strip() for s in status.split(",")}
            if not wanted <= {"open", "closed"}:
                raise Open311Error(400, "status must be open or closed")
            status = wanted.pop() if len(wanted) == 1 else None
        page = _whole(q.get("page"), "page", 1, PAGE_MAX)
        page_size = _whole(q.get("page_size"), "page_size", 100, PAGE_SIZE_MAX)
        policy = _policy()
        with session_scope(read_only=True) as session:
            found = service.find_requests(
                session,
                policy=policy,
                ids=ids or None,
                service_codes=codes or None,
                start=start,
                end=end,
                status=status,
                updated_after=updated_after,
                page=page,
                page_size=page_size,
            )
            data = service.request_views(session, found, policy=policy, base_url=base)
        return _render(fmt, data, "service_requests", "request")

    return _run(fmt, work)


@router.get(
    "/open311/v2/requests/{request_id}.{fmt}",
    response_model=list[schemas.ServiceRequest],
    responses=ANSWER,
)
def get_request(request_id: str, fmt: str, request: Request) -> Response:
    base = _base_url(request)

    def work():
        code = _path_text(request_id, "service_request_id")
        policy = _policy()
        with session_scope(read_only=True) as session:
            found = service.public_request(session, policy=policy, code=code)
            if found is None:
                raise Open311Error(404, f"service_request_id {code} not found")
            data = service.request_views(session, [found], policy=policy, base_url=base)
        return _render(fmt, data, "service_requests", "request")

    return _run(fmt, work)


@router.get(
    "/open311/v2/tokens/{token}.{fmt}",
    response_model=list[schemas.RequestToken],
    responses=ANSWER,
)
def get_token(token: str, fmt: str) -> Response:
    def work():
        code = _path_text(token, "token")
        with session_scope(read_only=True) as session:
            if service.public_request(session, policy=_policy(), code=code) is None:
                raise Open311Error(404, f"token {code} not found")
        return _render(
            fmt, [{"service_request_id": code, "token": code}], "service_requests", "request"
        )

    return _run(fmt, work)


@router.get(
    "/open311/v2/media/{code}/{photo_id}.jpg",
    response_class=Response,
    responses={
        **binary_answer("image/jpeg", description="the photo"),
        # a photo_id that is not a row id is refused before the route, in the API's shape
        400: {
            "description": "GeoReport error list, or the API's refusal of a bad photo_id",
            "model": list[schemas.Error] | ErrorBody,
        },
    },
)
def media(code: str, photo_id: RowId) -> Response:
    """A report photo of a public request, as the policy shows photos (404 otherwise)."""
    try:
        code = _path_text(code, "code")
    except BadText as exc:
        return _refusal("json", exc)
    with session_scope(read_only=True) as session:
        found = service.public_photo(session, policy=_policy(), code=code, photo_id=photo_id)
        if found is None:
            return _error("json", 404, "no such media")
    try:
        return stored_file(get_settings(), found.key, cache=PUBLIC_PHOTO)
    except FileNotFoundError:
        return _error("json", 404, "no such media")


# --- FixMyStreet's service request updates -----------------------------------------------------

# At most so many updates in one answer (a narrower start_date..end_date gets the rest).
UPDATES_MAX = 10_000
UPDATES_DEFAULT_SPAN = dt.timedelta(days=1)
UPDATE_FIELD_MAX = {
    "api_key": 100,
    "service_request_id": 40,
    "update_id": 100,
    "status": 40,
    "updated_datetime": 40,
    "description": 4000,
    "media_url": 2000,
}


@router.get(
    "/open311/v2/servicerequestupdates.{fmt}",
    response_model=list[schemas.RequestUpdate],
    responses=ANSWER,
)
def get_updates(fmt: str, request: Request) -> Response:
    """The public steps of the public requests taken between start_date and end_date (the last
    day by default), oldest first (FixMyStreet's service request updates)."""
    q = request.query_params
    base = _base_url(request)

    def work():
        key = q.get("api_key")
        start, end = _time(q.get("start_date"), "start_date"), _time(q.get("end_date"), "end_date")
        end = end or (start + UPDATES_DEFAULT_SPAN if start else utcnow())
        start = start or end - UPDATES_DEFAULT_SPAN
        if end < start:
            raise Open311Error(400, "end_date is before start_date")
        if end - start > MAX_SPAN:
            raise Open311Error(400, "start_date and end_date may not be more than 90 days apart")
        ids = _listed(q.get("service_request_id"), "service_request_id")
        policy = _policy()
        with session_scope(read_only=True) as session:
            if key and not service.key_seen_live(session, key):
                raise Open311Error(403, "the api_key is not valid (send none to read anonymously)")
            rows = service.find_updates(
                session, policy=policy, start=start, end=end, ids=ids or None, limit=UPDATES_MAX + 1
            )
            if len(rows) > UPDATES_MAX:
                raise Open311Error(
                    400,
                    f"more than {UPDATES_MAX} updates between start_date and end_date: "
                    "ask for a shorter span",
                )
            data = service.update_views(session, rows, policy=policy, base_url=base)
        return _render(fmt, data, "service_request_updates", "request_update")

    return _run(fmt, work)


def _update_field(form, name: str, *, required: bool = False) -> str | None:
    value = form.get(name)
    if isinstance(value, UploadFile):
        raise Open311Error(400, f"{name} must be a text field")
    value = check_text(value or "", name, multiline=name == "description").strip()
    if len(value) > UPDATE_FIELD_MAX[name]:
        raise BadText(name, max_length=UPDATE_FIELD_MAX[name])
    if required and not value:
        raise Open311Error(400, f"{name} is required")
    return value or None


@router.post(
    "/open311/v2/servicerequestupdates.{fmt}",
    response_model=list[schemas.UpdateCreated],
    responses={200: {"description": "The update was taken", "content": _BOTH}},
)
async def post_update(fmt: str, request: Request) -> Response:
    """A citizen's update on their request, sent by a partner (FixMyStreet): answered with its
    update_id; the same update_id from the same api_key again gets the same answer and writes
    nothing (kit.idempotency)."""
    if fmt not in FORMATS:
        return _error("json", 404, f"unknown format {fmt!r}: use json or xml")
    try:
        form = await request.form(max_files=0)
    except Exception:  # noqa: BLE001 - a body that is not a form
        return _error(fmt, 400, "the body must be form-encoded or multipart/form-data")
    try:
        return await run_in_threadpool(_take_update, fmt, form)
    except (Open311Error, AppError) as exc:
        return _refusal(fmt, exc)


def _take_update(fmt: str, form) -> Response:
    settings = get_settings()
    key = _update_field(form, "api_key")
    code = _update_field(form, "service_request_id", required=True)
    update_id = _update_field(form, "update_id", required=True)
    if not all(33 <= ord(c) <= 126 for c in update_id):
        raise Open311Error(400, "update_id must be visible ASCII characters")
    status = (_update_field(form, "status", required=True) or "").upper()
    if status not in service.UPDATE_STATUSES:
        raise Open311Error(400, f"status must be one of {', '.join(service.UPDATE_STATUSES)}")
    description = _update_field(form, "description") or ""
    given = {"update_id": update_id}
    when = _update_field(form, "updated_datetime")
    if when:
        given["updated_datetime"] = iso_local(_time(when, "updated_datetime"))
    media_url = _update_field(form, "media_url")
    if media_url:
        given["media_url"] = _checked_url(media_url)
    digest = idempotency.request_hash(
        "open311-update",
        fmt,
        sorted((k, v) for k, v in form.multi_items() if k != "api_key"),
    )
    policy = _policy()
    with session_scope() as session:
        partner = service.key_name(session, key)
        if partner is None:
            raise Open311Error(403, "a valid api_key is required")

        def work() -> idempotency.Answer:
            event = service.citizen_update(
                session,
                settings,
                policy=policy,
                partner=partner,
                code=code,
                status=status,
                description=description,
                given=given,
            )
            if event is None:
                raise Open311Error(404, f"service_request_id {code} not found")
            if media_url:
                queued.extend(
                    photos.queue(
                        session,
                        settings,
                        case_id=event.case_id,
                        event_id=event.id,
                        urls=[media_url],
                    )
                )
            sent = _render(
                fmt, [{"update_id": str(event.id)}], "service_request_updates", "request_update"
            )
            return idempotency.Answer(sent.status_code, sent.body.decode(), sent.media_type)

        scope = f"open311-update:{hashlib.sha256(key.encode()).hexdigest()}"
        queued: list[int] = []
        answer = idempotency.run(session, update_id, scope, digest, work)
    response = answer.response()
    if queued:
        # the photo by URL, fetched once the answer is sent (open311.photos)
        response.background = BackgroundTask(photos.run, settings, queued)
    return response


def _checked_url(url: str) -> str:
    if not url.lower().startswith(("http://", "https://")):
        raise Open311Error(400, "media_url must be an http:// or https:// URL")
    return url
