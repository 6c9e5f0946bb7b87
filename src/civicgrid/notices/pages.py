"""Notices' pages: the public list, a notice's page, its feed and CAP document; the staff's desk
(their notices with read state, every notice for editors), writing, review and read receipts.
Forms post to these routes and come back to a page (no script needed)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from civicgrid.auth import service as auth_service
from civicgrid.auth.deps import LoginRedirect, OptionalUser, PageUser
from civicgrid.config import get_settings
from civicgrid.geo import service as geo_service
from civicgrid.kit.db import session_scope, utcnow
from civicgrid.kit.guard import BodyLimit
from civicgrid.kit.http import AppSettings, DbSession, RowId
from civicgrid.kit.timefmt import local_zone
from civicgrid.media import service as media_service
from civicgrid.notices import content, feeds, service
from civicgrid.notices.exceptions import BadNotice, NotAllowed, NoticeNotFound
from civicgrid.notices.models import Notice
from civicgrid.org import service as org_service
from civicgrid.web.i18n import lang_of, page_words
from civicgrid.web.layout import TEMPLATES, render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
# an attachment's form: the file's limit and room for the form around it
BODY_LIMITS = [
    BodyLimit(
        "POST",
        re.compile(r"/notices/\d+/attachments"),
        lambda: get_settings().document_max_bytes + 64 * 1024,
    ),
]
PREFIX = "notices_"
ACTIONS = ("submit", "return", "approve", "publish", "withdraw")


def _unread(user) -> int:
    """The header's unread count of a signed-in user (its own short read; a failure shows 0)."""
    if user is None:
        return 0
    try:
        with session_scope(read_only=True) as session:
            return service.unread_count(session, user)
    except Exception:  # noqa: BLE001 - the header must not break a page
        log.warning("unread notices not counted", exc_info=True)
        return 0


TEMPLATES.env.globals["unread_notices"] = _unread


def words(request: Request) -> dict[str, str]:
    """The notices' words in the page's language, without their prefix."""
    index = 1 if lang_of(request) == "en" else 0
    out = page_words(request, PREFIX, also=())
    for code, pair in service.STATE_NAMES.items():
        out[f"state_{code}"] = pair[index]
    for code, pair in service.ACTION_NAMES.items():
        out[f"action_{code}"] = pair[index]
    return out


def _local(value: dt.datetime | None) -> str:
    value = service.aware(value)
    return value.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if value else ""


def _input_time(value: dt.datetime | None) -> str:
    value = service.aware(value)
    return value.astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M") if value else ""


TEMPLATES.env.filters["local_time"] = _local


def _parse_time(value: str, field: str) -> dt.datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadNotice(f"{field} 的时间格式有误", f"{field}: not a date and time") from None
    if not 2000 <= parsed.year <= 2099:
        raise BadNotice(f"{field} 的年份须在 2000–2099", f"{field}: years 2000–2099")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=local_zone())
    return parsed.astimezone(dt.UTC)


def _kind_names(session, request) -> dict[int, str]:
    english = lang_of(request) == "en"
    return {k.id: (k.name_en if english else k.name) for k in service.kinds(session)}


def _base(request: Request, settings) -> str:
    return settings.public_base_url or str(request.base_url)


# --- public ------------------------------------------------------------------------------------


@router.get("/notices", response_class=HTMLResponse)
def public_list(
    request: Request, session: DbSession, user: OptionalUser, kind: str | None = None
) -> HTMLResponse:
    """The public notices (of one kind), pinned first, with each kind's feed."""
    the_kind = service.get_kind(session, kind) if kind else None
    found = service.public(session, kind=the_kind)
    return render(
        request,
        "notices.html",
        user,
        w=words(request),
        kinds=service.kinds(session),
        kind_names=_kind_names(session, request),
        kind=the_kind,
        rows=[(n, content.plain(n.body, 120)) for n in found],
    )


@router.get("/notices/feed/{kind}.atom")
def feed(request: Request, session: DbSession, settings: AppSettings, kind: str) -> Response:
    """The public notices of one kind as an Atom feed."""
    the_kind = service.get_kind(session, kind)
    body = feeds.atom(the_kind, service.public(session, kind=the_kind), _base(request, settings))
    return Response(body, media_type="application/atom+xml; charset=utf-8")


# --- the staff's desk (before /notices/{id}: these paths are not ids) ---------------------------


@router.get("/notices/desk", response_class=HTMLResponse)
def desk(request: Request, session: DbSession, user: PageUser) -> HTMLResponse:
    """The signed-in person's internal notices (unread and reminded marked); editors and
    reviewers also see every notice with its state."""
    notices = service.desk(session) if service.may_manage(user) else []
    return render(
        request,
        "notice_desk.html",
        user,
        w=words(request),
        inbox=service.inbox(session, user),
        manage=service.may_manage(user),
        notices=notices,
        # a reviewer's first task: what waits for their review
        to_review=[n for n in notices if n.state == "submitted"]
        if user.has_role(*service.REVIEWERS)
        else [],
        kind_names=_kind_names(session, request),
    )


def _form_context(session, notice: Notice | None) -> dict:
    units = org_service.units(session)
    areas = [a for a in geo_service.areas(session) if a.level in ("district", "street")]
    return {
        "kinds": service.kinds(session),
        "units": units,
        "roles": auth_service.ROLES,
        "areas": areas,
        "urgency": service.URGENCY,
        "severity": service.SEVERITY,
        "certainty": service.CERTAINTY,
        "notice": notice,
        "publish_at": _input_time(notice.publish_at) if notice else "",
        "expires_at": _input_time(notice.expires_at) if notice else "",
    }


@router.get("/notices/new", response_class=HTMLResponse)
def new_form(request: Request, session: DbSession, user: PageUser) -> HTMLResponse:
    """The form of a new notice (editors)."""
    if not user.has_role(*service.EDITORS):
        raise NotAllowed("无权起草公告", "you may not write notices")
    return render(
        request, "notice_edit.html", user, w=words(request), **_form_context(session, None)
    )


def _fields(
    title: str,
    body: str,
    audience: str,
    unit_codes: list[str],
    roles: list[str],
    pinned: str,
    publish_at: str,
    expires_at: str,
    urgency: str,
    severity: str,
    certainty: str,
    area_codes: list[str],
) -> dict:
    fields = {
        "title": title,
        "body": body.replace("\r\n", "\n"),
        "audience": audience,
        "unit_codes": unit_codes,
        "roles": roles,
        "pinned": pinned == "on",
        "publish_at": _parse_time(publish_at, "publish_at"),
        "expires_at": _parse_time(expires_at, "expires_at"),
        "area_codes": area_codes,
    }
    for key, value in (("urgency", urgency), ("severity", severity), ("certainty", certainty)):
        if value:
            fields[key] = value
    return fields


TextField = Annotated[str, Form(max_length=service.TITLE_MAX)]
Body = Annotated[str, Form(max_length=service.BODY_MAX)]
Short = Annotated[str, Form(max_length=40)]
Codes = Annotated[list[str], Form()]


@router.post("/notices/new")
def create(
    request: Request,
    session: DbSession,
    user: PageUser,
    kind: Short,
    title: TextField,
    body: Body = "",
    audience: Short = "public",
    unit_codes: Codes = [],  # noqa: B006 - FastAPI copies form defaults
    roles: Codes = [],  # noqa: B006
    pinned: Short = "",
    publish_at: Short = "",
    expires_at: Short = "",
    urgency: Short = "",
    severity: Short = "",
    certainty: Short = "",
    area_codes: Codes = [],  # noqa: B006
) -> RedirectResponse:
    """Create a draft and go to its page."""
    fields = _fields(
        title, body, audience, unit_codes, roles, pinned, publish_at, expires_at,
        urgency, severity, certainty, area_codes,
    )  # fmt: skip
    notice = service.create(session, kind=kind, by=user, **fields)
    return RedirectResponse(f"/notices/{notice.id}", status_code=303)


# --- one notice ---------------------------------------------------------------------------------


def _readable(session, request: Request, notice_id: int, user) -> Notice:
    notice = service.get(session, notice_id)
    if not service.may_read(session, notice, user):
        if user is None and notice.audience == "internal":
            raise LoginRedirect(request.url.path)
        raise NoticeNotFound(notice_id)
    return notice


@router.get("/notices/{notice_id}", response_class=HTMLResponse)
def page(request: Request, session: DbSession, user: OptionalUser, notice_id: RowId):
    """A notice: its text (sanitised), attachments; for its readers a read button; for editors
    and reviewers its steps, versions, read receipts and the actions its state allows."""
    notice = _readable(session, request, notice_id, user)
    kind = next(k for k in service.kinds(session) if k.id == notice.kind_id)
    manage = service.may_manage(user)
    receipt = None
    if user is not None:
        receipt = next(
            (r for r in service.receipts(session, notice) if r.username == user.username), None
        )
    form = _form_context(session, notice) if manage and notice.state == "draft" else {}
    actions = []
    if manage:
        reviewer = user.has_role(*service.REVIEWERS)
        actions = [
            a
            for a in ACTIONS
            if (a, notice.state) in service.TRANSITIONS and (a == "submit" or reviewer)
        ]
    return render(
        request,
        "notice.html",
        user,
        w=words(request),
        notice=notice,
        kind=kind,
        kind_name=_kind_names(session, request)[kind.id],
        html=content.render(notice.body),
        files=service.attachments(session, notice),
        manage=manage,
        receipt=receipt,
        receipts=service.receipts(session, notice) if manage else [],
        steps=service.steps(session, notice) if manage else [],
        versions=service.versions(session, notice) if manage else [],
        actions=actions,
        shown=service.is_shown(notice),
        edit=bool(form),
        **{k: v for k, v in form.items() if k != "notice"},
    )


@router.get("/notices/{notice_id}/cap.xml")
def cap(request: Request, session: DbSession, settings: AppSettings, notice_id: RowId) -> Response:
    """A public warning as a CAP 1.2 alert (a Cancel once withdrawn or expired)."""
    notice = service.get(session, notice_id)
    kind = next(k for k in service.kinds(session) if k.id == notice.kind_id)
    if (
        not kind.warning
        or notice.audience != "public"
        or notice.published_at is None
        or notice.state not in ("published", "withdrawn", "expired")
        or service.aware(notice.published_at) > utcnow()
    ):
        raise NoticeNotFound(notice_id)
    body = feeds.cap(
        notice,
        kind,
        feeds.cap_areas(session, notice),
        base_url=_base(request, settings),
        sender=settings.notice_cap_sender,
    )
    return Response(body, media_type="application/cap+xml; charset=utf-8")


@router.get("/notices/{notice_id}/files/{file_id}")
def file(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: OptionalUser,
    notice_id: RowId,
    file_id: RowId,
) -> Response:
    """An attachment, to whoever may read its notice; documents are downloaded, not shown."""
    notice = _readable(session, request, notice_id, user)
    row = service.attachment(session, notice, file_id)
    data = media_service.read_document(settings, row.key)
    inline = row.content_type.startswith("image/")
    disposition = "inline" if inline else "attachment"
    return Response(
        data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(row.filename)}",
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/notices/{notice_id}/edit")
def edit(
    request: Request,
    session: DbSession,
    user: PageUser,
    notice_id: RowId,
    title: TextField,
    body: Body = "",
    audience: Short = "public",
    unit_codes: Codes = [],  # noqa: B006
    roles: Codes = [],  # noqa: B006
    pinned: Short = "",
    publish_at: Short = "",
    expires_at: Short = "",
    urgency: Short = "",
    severity: Short = "",
    certainty: Short = "",
    area_codes: Codes = [],  # noqa: B006
) -> RedirectResponse:
    """Save a draft's changes (a new version when its text changed)."""
    notice = service.get(session, notice_id)
    fields = _fields(
        title, body, audience, unit_codes, roles, pinned, publish_at, expires_at,
        urgency, severity, certainty, area_codes,
    )  # fmt: skip
    service.edit(session, notice, by=user, **fields)
    return RedirectResponse(f"/notices/{notice.id}", status_code=303)


@router.post("/notices/{notice_id}/attachments")
async def upload(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: PageUser,
    notice_id: RowId,
    file: UploadFile,
) -> RedirectResponse:
    """Add an attachment to a draft (checked by content)."""
    data = await file.read(settings.document_max_bytes + 1)
    notice = service.get(session, notice_id)
    service.attach(session, settings, notice, filename=file.filename or "", data=data, by=user)
    return RedirectResponse(f"/notices/{notice.id}", status_code=303)


@router.post("/notices/{notice_id}/step")
def step(
    session: DbSession,
    user: PageUser,
    notice_id: RowId,
    action: Short,
    note: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    """Submit, return, approve, publish or withdraw."""
    if action not in ACTIONS:
        raise BadNotice(f"未知操作 (action) {action}", f"action: unknown {action}")
    notice = service.get(session, notice_id)
    service.step(session, notice, action, by=user, note=note)
    return RedirectResponse(f"/notices/{notice.id}", status_code=303)


@router.post("/notices/{notice_id}/read")
def read(
    request: Request, session: DbSession, user: PageUser, notice_id: RowId
) -> RedirectResponse:
    """The signed-in reader confirms they have read the notice (their receipt)."""
    notice = _readable(session, request, notice_id, user)
    service.mark_read(session, notice, user)
    return RedirectResponse(f"/notices/{notice.id}", status_code=303)


@router.post("/notices/{notice_id}/remind")
def remind(session: DbSession, user: PageUser, notice_id: RowId) -> RedirectResponse:
    """Remind every reader who has not read the notice yet."""
    notice = service.get(session, notice_id)
    service.remind(session, notice, by=user)
    return RedirectResponse(f"/notices/{notice.id}#receipts", status_code=303)
