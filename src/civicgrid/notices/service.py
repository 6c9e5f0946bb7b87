"""Information publishing (信息发布): a notice's life from draft to publication, its audience and
read receipts, its versions and attachments. Services flush, never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civicgrid.auth import service as auth_service
from civicgrid.config import Settings
from civicgrid.geo import queries as geo_queries
from civicgrid.kit import scheduler
from civicgrid.kit.db import utcnow
from civicgrid.media import service as media_service
from civicgrid.notices import content, queries
from civicgrid.notices.exceptions import (
    BadNotice,
    KindNotFound,
    NotAllowed,
    NoticeNotFound,
    WrongState,
)
from civicgrid.notices.models import (
    AUDIENCES,
    Notice,
    NoticeAttachment,
    NoticeKind,
    NoticeRecipient,
    NoticeStep,
    NoticeVersion,
)
from civicgrid.org import service as org_service

# Who writes notices and who reviews (审核) and publishes them.
EDITORS = ("admin", "leader", "dispatcher", "operator")
REVIEWERS = ("admin", "leader")

# (action, from state) → to state; who may take it is checked in `step`.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("submit", "draft"): "submitted",
    ("return", "submitted"): "draft",
    ("approve", "submitted"): "approved",
    ("publish", "approved"): "published",
    ("withdraw", "published"): "withdrawn",
    ("withdraw", "approved"): "withdrawn",
    ("expire", "published"): "expired",
}
STATE_NAMES = {
    "draft": ("草稿", "draft"),
    "submitted": ("待审核", "submitted"),
    "approved": ("已审核", "approved"),
    "published": ("已发布", "published"),
    "expired": ("已过期", "expired"),
    "withdrawn": ("已撤回", "withdrawn"),
}
ACTION_NAMES = {
    "create": ("起草", "drafted"),
    "edit": ("修改", "edited"),
    "submit": ("提交审核", "submitted"),
    "return": ("退回修改", "returned"),
    "approve": ("审核通过", "approved"),
    "publish": ("发布", "published"),
    "withdraw": ("撤回", "withdrawn"),
    "expire": ("到期", "expired"),
    "remind": ("催阅", "reminded"),
}
# CAP 1.2's words for a warning (the schema's enumerations).
URGENCY = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITY = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTY = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
TITLE_MAX = 200
BODY_MAX = 100_000


def kinds(session: Session) -> list[NoticeKind]:
    """Every notice kind, in their order."""
    return list(session.scalars(select(NoticeKind).order_by(NoticeKind.position, NoticeKind.id)))


def get_kind(session: Session, code: str) -> NoticeKind:
    kind = session.scalar(select(NoticeKind).where(NoticeKind.code == code))
    if kind is None:
        raise KindNotFound(code)
    return kind


def get(session: Session, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NoticeNotFound(notice_id)
    return notice


def aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite hands back naive UTC
        return value.replace(tzinfo=dt.UTC)
    return value


def _require(user, roles: tuple[str, ...], zh: str, en: str) -> None:
    if not user.has_role(*roles):
        raise NotAllowed(zh, en)


def _check_fields(session: Session, fields: dict, *, warning: bool) -> dict:
    """The editable fields checked: a clear 400 naming the field for each mistake."""
    out = dict(fields)
    if "title" in out:
        out["title"] = (out["title"] or "").strip()
        if not out["title"] or len(out["title"]) > TITLE_MAX:
            raise BadNotice(
                f"标题 (title) 不能为空, 最多 {TITLE_MAX} 字",
                f"title must be 1–{TITLE_MAX} characters",
            )
    if "body" in out:
        out["body"] = out["body"] or ""
        if len(out["body"]) > BODY_MAX:
            raise BadNotice(
                f"正文 (body) 最多 {BODY_MAX} 字", f"body must be at most {BODY_MAX} characters"
            )
    if "audience" in out and out["audience"] not in AUDIENCES:
        raise BadNotice(
            "发布范围 (audience) 只能是 public 或 internal", "audience: public or internal"
        )
    if "unit_codes" in out:
        codes = [c.strip() for c in out["unit_codes"] or [] if c and c.strip()]
        missing = [c for c in codes if org_service.find_unit(session, c) is None]
        if missing:
            raise BadNotice(
                f"发布范围的单位 (unit_codes) 不存在: {', '.join(missing)}",
                f"unit_codes: no such unit {', '.join(missing)}",
            )
        out["unit_codes"] = list(dict.fromkeys(codes))
    if "roles" in out:
        roles = [r.strip() for r in out["roles"] or [] if r and r.strip()]
        wrong = [r for r in roles if r not in auth_service.ROLES]
        if wrong:
            raise BadNotice(
                f"角色 (roles) 不存在: {', '.join(wrong)}", f"roles: unknown {', '.join(wrong)}"
            )
        out["roles"] = list(dict.fromkeys(roles))
    for key in ("publish_at", "expires_at"):
        if key in out:
            out[key] = aware(out[key])
    if out.get("publish_at") and out.get("expires_at") and out["expires_at"] <= out["publish_at"]:
        raise BadNotice(
            "到期时间 (expires_at) 必须晚于发布时间", "expires_at must be after publish_at"
        )
    for key, allowed in (("urgency", URGENCY), ("severity", SEVERITY), ("certainty", CERTAINTY)):
        if key in out:
            if not warning:
                out[key] = None
            elif out[key] not in allowed:
                raise BadNotice(
                    f"预警的 {key} 只能是 {', '.join(allowed)}",
                    f"{key} must be one of {', '.join(allowed)}",
                )
    if "area_codes" in out:
        codes = list(dict.fromkeys(c for c in out["area_codes"] or [] if c)) if warning else []
        missing = [c for c in codes if not geo_queries.area_exists(session, c)]
        if missing:
            raise BadNotice(
                f"预警区域 (area_codes) 不存在: {', '.join(missing)}",
                f"area_codes: no such area {', '.join(missing)}",
            )
        out["area_codes"] = codes
    return out


def _record(session: Session, notice: Notice, action: str, before: str | None, by: str, note=""):
    session.add(
        NoticeStep(
            notice_id=notice.id,
            action=action,
            from_state=before,
            to_state=notice.state,
            by=by,
            at=utcnow(),
            note=note[:500],
        )
    )


def create(session: Session, *, kind: str, by, **fields) -> Notice:
    """A new draft by `by` (an editor), with its first version and its first step."""
    _require(by, EDITORS, "无权起草公告", "you may not write notices")
    the_kind = get_kind(session, kind)
    checked = _check_fields(session, fields, warning=the_kind.warning)
    if "title" not in checked:
        raise BadNotice("标题 (title) 不能为空", "title is required")
    if the_kind.warning:
        checked.setdefault("urgency", "Expected")
        checked.setdefault("severity", "Moderate")
        checked.setdefault("certainty", "Likely")
    now = utcnow()
    notice = Notice(
        kind_id=the_kind.id,
        author=by.username,
        state="draft",
        version=1,
        created_at=now,
        updated_at=now,
        **{"body": "", "unit_codes": [], "roles": [], "area_codes": [], **checked},
    )
    session.add(notice)
    session.flush()
    session.add(
        NoticeVersion(
            notice_id=notice.id,
            number=1,
            title=notice.title,
            body=notice.body,
            by=by.username,
            at=now,
        )
    )
    _record(session, notice, "create", None, by.username)
    session.flush()
    return notice


def edit(session: Session, notice: Notice, *, by, **fields) -> Notice:
    """Change a draft (its author or a reviewer). A change of title or text is a new version;
    the earlier ones are kept."""
    if notice.state != "draft":
        raise WrongState(
            "只能修改草稿 (已提交的公告请先退回)", "only a draft can be edited (return it first)"
        )
    if by.username != notice.author and not by.has_role(*REVIEWERS):
        raise NotAllowed("只有起草人或审核人可以修改", "only the author or a reviewer may edit")
    kind = session.get(NoticeKind, notice.kind_id)
    checked = _check_fields(session, fields, warning=kind.warning)
    text_changed = any(k in checked and checked[k] != getattr(notice, k) for k in ("title", "body"))
    for key, value in checked.items():
        setattr(notice, key, value)
    notice.updated_at = utcnow()
    if text_changed:
        notice.version += 1
        session.add(
            NoticeVersion(
                notice_id=notice.id,
                number=notice.version,
                title=notice.title,
                body=notice.body,
                by=by.username,
                at=notice.updated_at,
            )
        )
        _record(session, notice, "edit", notice.state, by.username, f"v{notice.version}")
    session.flush()
    return notice


def step(session: Session, notice: Notice, action: str, *, by, note: str = "") -> Notice:
    """Move a notice along its life (submit, return, approve, publish, withdraw), recording who
    and when. The author submits; a reviewer returns, approves (another person than the author
    when the kind says so), publishes and withdraws. Publishing fixes an internal notice's
    readers. An action the state does not allow is a 409."""
    to_state = TRANSITIONS.get((action, notice.state))
    if to_state is None or action == "expire":
        state = STATE_NAMES[notice.state]
        name = ACTION_NAMES.get(action, (action, action))
        raise WrongState(
            f"公告状态为「{state[0]}」, 不能{name[0]}",
            f"a notice that is {state[1]} cannot be {name[1]}",
        )
    if action == "submit":
        if by.username != notice.author and not by.has_role(*REVIEWERS):
            raise NotAllowed("只有起草人可以提交审核", "only the author may submit")
    else:
        _require(by, REVIEWERS, "只有审核人 (领导、管理员) 可以审核和发布", "only reviewers may")
    if action == "approve":
        kind = session.get(NoticeKind, notice.kind_id)
        if kind.distinct_reviewer and by.username == notice.author:
            raise NotAllowed(
                f"「{kind.name}」须由起草人以外的人审核", f"a {kind.name_en} needs another reviewer"
            )
    if action == "publish" and notice.audience == "internal" and not notice.unit_codes:
        raise BadNotice(
            "内部公告须选择发布单位 (unit_codes)", "an internal notice needs unit_codes"
        )
    before = notice.state
    notice.state = to_state
    now = utcnow()
    notice.updated_at = now
    if action == "publish":
        publish_at = aware(notice.publish_at)
        notice.published_at = publish_at if publish_at and publish_at > now else now
        if notice.audience == "internal":
            _fix_readers(session, notice)
    _record(session, notice, action, before, by.username, note)
    session.flush()
    return notice


def readers(session: Session, notice: Notice) -> list:
    """The users an internal notice is for: active accounts in its units (with their sub-units)
    holding one of its roles (any role when it names none)."""
    unit_ids: set[int] = set()
    for code in notice.unit_codes or []:
        unit = org_service.find_unit(session, code)
        if unit is not None:
            unit_ids.update(u.id for u in org_service.units(session, unit))
    roles = set(notice.roles or [])
    return [
        u
        for u in auth_service.list_users(session)
        if not u.disabled
        and u.person.org_unit_id in unit_ids
        and (not roles or roles.intersection(u.roles))
    ]


def _fix_readers(session: Session, notice: Notice) -> None:
    for user in readers(session, notice):
        session.merge(NoticeRecipient(notice_id=notice.id, user_id=user.id, reminders=0))


def is_shown(notice: Notice, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    published, expires = aware(notice.published_at), aware(notice.expires_at)
    return (
        notice.state == "published"
        and published is not None
        and published <= now
        and (expires is None or expires > now)
    )


def may_manage(user) -> bool:
    return user is not None and user.has_role(*EDITORS, *REVIEWERS)


def may_read(session: Session, notice: Notice, user) -> bool:
    """Public notices once shown: everyone. Internal ones: their readers once shown, and the
    editors and reviewers at any time."""
    if may_manage(user):
        return True
    if not is_shown(notice):
        return False
    if notice.audience == "public":
        return True
    return user is not None and session.get(NoticeRecipient, (notice.id, user.id)) is not None


def mark_read(session: Session, notice: Notice, user) -> bool:
    """Record that `user` read this notice (the first time counts); whether they are a reader."""
    if user is None:
        return False
    row = session.get(NoticeRecipient, (notice.id, user.id))
    if row is None:
        return False
    if row.read_at is None and is_shown(notice):
        row.read_at = utcnow()
        session.flush()
    return True


@dataclass
class Receipt:
    username: str
    name: str
    unit: str
    read_at: dt.datetime | None
    reminded_at: dt.datetime | None
    reminders: int


def receipts(session: Session, notice: Notice) -> list[Receipt]:
    """Who has read an internal notice and who not (unread first, then by name)."""
    rows = list(
        session.scalars(select(NoticeRecipient).where(NoticeRecipient.notice_id == notice.id))
    )
    users = {u.id: u for u in auth_service.list_users(session)}
    out = []
    for row in rows:
        user = users[row.user_id]
        out.append(
            Receipt(
                user.username,
                user.person.name,
                user.person.org_unit.name,
                aware(row.read_at),
                aware(row.reminded_at),
                row.reminders,
            )
        )
    out.sort(key=lambda r: (r.read_at is not None, r.name, r.username))
    return out


def remind(session: Session, notice: Notice, *, by) -> int:
    """A reminder to every reader who has not read the notice yet: their receipt says when and
    how often, and the notice stands out in their list. Returns how many were reminded."""
    _require(by, REVIEWERS + EDITORS, "无权催阅", "you may not send reminders")
    if not is_shown(notice) or notice.audience != "internal":
        raise WrongState("只有已发布的内部公告可以催阅", "only a published internal notice")
    now = utcnow()
    result = session.execute(
        update(NoticeRecipient)
        .where(NoticeRecipient.notice_id == notice.id, NoticeRecipient.read_at.is_(None))
        .values(reminded_at=now, reminders=NoticeRecipient.reminders + 1)
        .execution_options(synchronize_session=False)
    )
    count = result.rowcount or 0
    _record(session, notice, "remind", notice.state, by.username, f"{count}")
    session.flush()
    session.expire_all()
    return count


def unread_count(session: Session, user) -> int:
    return queries.unread_count(session, user_id=user.id, now=utcnow())


def inbox(session: Session, user) -> list[tuple[Notice, NoticeRecipient]]:
    """The internal notices shown now that are for `user`, pinned first, newest first."""
    now = utcnow()
    query = (
        select(Notice, NoticeRecipient)
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .where(NoticeRecipient.user_id == user.id, queries.shown(now))
        .order_by(Notice.pinned.desc(), Notice.published_at.desc(), Notice.id.desc())
    )
    return [(n, r) for n, r in session.execute(query)]


def public(session: Session, *, kind: NoticeKind | None = None, limit: int = 200) -> list[Notice]:
    """The public notices shown now (of one kind), pinned first, newest first."""
    query = select(Notice).where(Notice.audience == "public", queries.shown(utcnow()))
    if kind is not None:
        query = query.where(Notice.kind_id == kind.id)
    query = query.order_by(Notice.pinned.desc(), Notice.published_at.desc(), Notice.id.desc())
    return list(session.scalars(query.limit(limit)))


def desk(session: Session) -> list[Notice]:
    """Every notice, newest change first: the editors' and reviewers' list."""
    query = select(Notice).order_by(Notice.updated_at.desc(), Notice.id.desc()).limit(500)
    return list(session.scalars(query))


def steps(session: Session, notice: Notice) -> list[NoticeStep]:
    query = select(NoticeStep).where(NoticeStep.notice_id == notice.id).order_by(NoticeStep.id)
    return list(session.scalars(query))


def versions(session: Session, notice: Notice) -> list[NoticeVersion]:
    query = select(NoticeVersion).where(NoticeVersion.notice_id == notice.id)
    return list(session.scalars(query.order_by(NoticeVersion.number.desc())))


def attachments(session: Session, notice: Notice) -> list[NoticeAttachment]:
    query = select(NoticeAttachment).where(NoticeAttachment.notice_id == notice.id)
    return list(session.scalars(query.order_by(NoticeAttachment.id)))


def attach(
    session: Session, settings: Settings, notice: Notice, *, filename: str, data: bytes, by
) -> NoticeAttachment:
    """Add a file to a draft: checked by its content (media), stored in the media store."""
    if notice.state != "draft":
        raise WrongState("只能给草稿添加附件", "attachments are added to drafts only")
    if by.username != notice.author and not by.has_role(*REVIEWERS):
        raise NotAllowed("只有起草人或审核人可以添加附件", "only the author or a reviewer may")
    if len(attachments(session, notice)) >= settings.notice_max_attachments:
        most = settings.notice_max_attachments
        raise BadNotice(f"每条公告最多 {most} 个附件", f"at most {most} attachments a notice")
    document = media_service.check_document(data, filename, settings)
    stored = media_service.store_document(session, settings, document)
    row = NoticeAttachment(
        notice_id=notice.id,
        filename=document.filename,
        content_type=document.content_type,
        by=by.username,
        at=utcnow(),
        key=stored.key,
        size=stored.size,
        sha256=stored.sha256,
    )
    session.add(row)
    session.flush()
    return row


def attachment(session: Session, notice: Notice, attachment_id: int) -> NoticeAttachment:
    row = session.get(NoticeAttachment, attachment_id)
    if row is None or row.notice_id != notice.id:
        raise NoticeNotFound(f"{notice.id}/{attachment_id}")
    return row


def html(notice: Notice) -> str:
    """The notice's text as safe HTML (content.render)."""
    return content.render(notice.body)


def expire_due(session: Session, now: dt.datetime | None = None) -> int:
    """Mark every published notice whose expiry has passed as expired (a step by `system`)."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Notice).where(
                Notice.state == "published",
                Notice.expires_at.is_not(None),
                Notice.expires_at <= now,
            )
        )
    )
    for notice in due:
        notice.state, notice.updated_at = "expired", now
        _record(session, notice, "expire", "published", "system")
    session.flush()
    return len(due)


def _expire_job(session: Session, _settings: Settings) -> str:
    return f"expired {expire_due(session)} notices"


EXPIRE_JOB = scheduler.register(
    scheduler.Job(
        "notices-expire",
        every=dt.timedelta(minutes=5),
        run=_expire_job,
        description="公告到期下线 / expire notices past their expiry",
    )
)


def publish_warning(
    session: Session,
    *,
    title: str,
    body: str,
    by,
    area_codes: list[str],
    urgency: str = "Expected",
    severity: str = "Moderate",
    certainty: str = "Likely",
    expires_at: dt.datetime | None = None,
) -> Notice:
    """A public warning (预警信息) written, approved and published in one go by a system
    account (a snow event's forecast): `by` must be a reviewer. Its CAP document follows."""
    notice = create(
        session,
        kind="warning",
        by=by,
        title=title,
        body=body,
        audience="public",
        area_codes=area_codes,
        urgency=urgency,
        severity=severity,
        certainty=certainty,
        expires_at=expires_at,
    )
    notice.state = "approved"
    _record(session, notice, "approve", "submitted", by.username, "auto")
    return step(session, notice, "publish", by=by)
