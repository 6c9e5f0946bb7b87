"""Notifications: one interface for SMS gateways, WeChat Work (企业微信) group robots and e-mail.

A `Provider` sends a rendered `Message` on one channel. Each channel has a provider that writes
to the log (the default: nothing leaves the machine until an operator configures a gateway);
the real ones are chosen in settings (`notify_sms_url`, `notify_wecom_url`, `notify_smtp_host`).
What is said for each event is a template (`TEMPLATES`); who hears it, on which channels, and
when not (quiet hours) is a person's `Preference`, kept by the domain that knows the people.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import string
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.message import EmailMessage

import httpx
from sqlalchemy import Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.config import Settings
from civicgrid.kit.db import Base, UTCDateTime, utcnow

log = logging.getLogger(__name__)

CHANNELS = ("sms", "wecom", "email")


@dataclass(frozen=True)
class Message:
    channel: str
    to: str  # a phone, a robot's webhook key (or "" for the configured robot), an address
    subject: str
    body: str


class NotifyError(Exception):
    """A provider could not hand the message over (the gateway refused or was unreachable)."""


class Provider(ABC):
    channel: str

    @abstractmethod
    def send(self, message: Message) -> None:
        """Hand the message over, or raise NotifyError."""


class LogProvider(Provider):
    """Writes the message to the log: the default of every channel."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        self.sent.append(message)
        del self.sent[:-100]  # the last ones, for a look in a shell or a test
        log.info(
            "notify %s to %s: %s | %s", message.channel, message.to, message.subject, message.body
        )


def _post(url: str, payload: dict, timeout: float) -> None:
    try:
        answer = httpx.post(url, json=payload, timeout=timeout)
    except httpx.HTTPError as exc:
        raise NotifyError(f"{type(exc).__name__}: {exc}") from exc
    if answer.status_code // 100 != 2:
        raise NotifyError(f"HTTP {answer.status_code}: {answer.text[:200]}")
    try:
        body = answer.json()
    except ValueError:
        return
    # WeChat Work answers 200 with {"errcode": n} when it refuses
    if isinstance(body, dict) and body.get("errcode") not in (None, 0):
        raise NotifyError(f"errcode {body.get('errcode')}: {body.get('errmsg', '')}")


class SmsGateway(Provider):
    """An HTTP SMS gateway taking JSON {"phone", "text", "sign"} (most Chinese gateways' shape,
    behind the provider's own relay when it wants its own signature scheme)."""

    channel = "sms"

    def __init__(self, url: str, *, sign: str = "", timeout: float = 10.0) -> None:
        self.url, self.sign, self.timeout = url, sign, timeout

    def send(self, message: Message) -> None:
        text = f"{message.subject}: {message.body}" if message.subject else message.body
        _post(self.url, {"phone": message.to, "text": text, "sign": self.sign}, self.timeout)


class WeComRobot(Provider):
    """A WeChat Work group robot: POST {"msgtype": "text", "text": {"content"}} to its webhook
    (`to`, when given, is the robot's key and replaces the configured one's)."""

    channel = "wecom"

    def __init__(self, webhook_url: str, *, timeout: float = 10.0) -> None:
        self.url, self.timeout = webhook_url, timeout

    def send(self, message: Message) -> None:
        url = self.url
        if message.to and "key=" in url:
            url = url.split("key=")[0] + "key=" + message.to
        content = f"{message.subject}\n{message.body}" if message.subject else message.body
        _post(url, {"msgtype": "text", "text": {"content": content}}, self.timeout)


class EmailProvider(Provider):
    """E-mail through an SMTP server (smtplib), STARTTLS when asked."""

    channel = "email"

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        user: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls, self.timeout = user, password, starttls, timeout

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message.to, message.subject
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotifyError(f"{type(exc).__name__}: {exc}") from exc


_log_providers = {channel: LogProvider(channel) for channel in CHANNELS}


def providers(settings: Settings) -> dict[str, Provider]:
    """The provider of each channel as the settings choose it; the log where none is set."""
    out: dict[str, Provider] = dict(_log_providers)
    timeout = settings.notify_timeout_seconds
    if settings.notify_sms_url:
        out["sms"] = SmsGateway(
            settings.notify_sms_url, sign=settings.notify_sms_sign, timeout=timeout
        )
    if settings.notify_wecom_url:
        out["wecom"] = WeComRobot(settings.notify_wecom_url, timeout=timeout)
    if settings.notify_smtp_host:
        out["email"] = EmailProvider(
            settings.notify_smtp_host,
            settings.notify_smtp_port,
            sender=settings.notify_smtp_sender,
            user=settings.notify_smtp_user,
            password=settings.notify_smtp_password,
            starttls=settings.notify_smtp_starttls,
            timeout=timeout,
        )
    return out


def log_provider(channel: str) -> LogProvider:
    return _log_providers[channel]


# --- what is said ----------------------------------------------------------------------------

# Each event's subject and text (zh-CN); `{name}` fields come from the event's data, a missing
# one is left empty. `urgent` events are sent in quiet hours too.
TEMPLATES: dict[str, tuple[str, str]] = {
    "hotline_order": ("12345工单", "收到12345工单 {order_no} ({case}): {content} 时限 {deadline}"),
    "case_dispatched": ("案件派遣", "案件 {case} 已派遣到 {unit}, 请于 {deadline} 前处置"),
    "case_yellow": ("案件黄灯", "案件 {case} 即将超时 (时限 {deadline})"),
    "case_red": ("案件超时", "案件 {case} 已超时 (时限 {deadline}), 请尽快处置"),
    "case_urged": ("督办", "案件 {case} 被督办: {note}"),
    "case_step": ("案件进展", "您反映的问题 {case}: {step}{link}"),
    "case_closed": ("案件结案", "您反映的问题 {case} 已处理完毕, 感谢监督{link}"),
    "case_reminded": ("黄灯提醒", "案件 {case} 即将超时 (时限 {deadline}), 请尽快处置"),
    "outbox_dead": ("12345回传失败", "工单 {order_no} 的状态 {status} 回传失败: {error}"),
}
URGENT_EVENTS = frozenset({"case_red", "outbox_dead"})


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def render(
    event: str, data: dict, *, templates: dict[str, tuple[str, str]] | None = None
) -> tuple[str, str]:
    """The event's subject and text with `data` filled in; KeyError for an unknown event."""
    subject, body = (templates or TEMPLATES)[event]
    values = _Blank({k: "" if v is None else str(v) for k, v in data.items()})
    formatter = string.Formatter()
    return formatter.vformat(subject, (), values), formatter.vformat(body, (), values)


# --- who hears it, and when ------------------------------------------------------------------


@dataclass(frozen=True)
class Preference:
    """A person's wishes: the address on each channel they use, the events they want (None:
    all), and quiet hours (local clock times; start > end wraps past midnight) during which only
    urgent events reach them."""

    addresses: dict[str, str]
    events: frozenset[str] | None = None
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None

    def wants(self, event: str) -> bool:
        return self.events is None or event in self.events


def in_quiet_hours(at: dt.time, start: dt.time | None, end: dt.time | None) -> bool:
    """Whether the clock time `at` falls in [start, end) (wrapping past midnight)."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


@dataclass
class Delivery:
    channel: str
    to: str
    outcome: str  # sent, failed, quiet (held back), unwanted
    error: str = ""


@dataclass
class Notifier:
    providers: dict[str, Provider]
    zone: dt.tzinfo
    templates: dict[str, tuple[str, str]] = field(default_factory=lambda: TEMPLATES)

    def notify(
        self, preference: Preference, event: str, data: dict, *, now: dt.datetime
    ) -> list[Delivery]:
        """Send the event to the person on every channel they gave an address for, unless they
        do not want it or it is their quiet hours (an urgent event is sent anyway). A failing
        provider is reported in its Delivery, never raised: the others still go."""
        messages, held = self.messages(preference, event, data, now=now)
        out = list(held)
        for message in messages:
            error = send(self.providers, message)
            outcome = "sent" if error is None else "failed"
            out.append(Delivery(message.channel, message.to, outcome, (error or "")[:500]))
        return out

    def messages(
        self, preference: Preference, event: str, data: dict, *, now: dt.datetime
    ) -> tuple[list[Message], list[Delivery]]:
        """What to send the person (a message on each channel they gave an address for), and
        what is held back: all of it when they do not want the event, or in their quiet hours
        unless it is urgent."""
        targets = [(c, a) for c, a in preference.addresses.items() if a and c in self.providers]
        if not preference.wants(event):
            return [], [Delivery(c, a, "unwanted") for c, a in targets]
        local = now.astimezone(self.zone).time()
        if event not in URGENT_EVENTS and in_quiet_hours(
            local, preference.quiet_start, preference.quiet_end
        ):
            return [], [Delivery(c, a, "quiet") for c, a in targets]
        subject, body = render(event, data, templates=self.templates)
        return [Message(channel, address, subject, body) for channel, address in targets], []


def send(providers_: dict[str, Provider], message: Message) -> str | None:
    """Hand one message to its channel's provider: None when it took it, else the reason
    (logged, never raised)."""
    try:
        providers_[message.channel].send(message)
    except NotifyError as exc:
        log.warning("notify %s to %s failed: %s", message.channel, message.to, exc)
        return str(exc)[:2000]
    except Exception as exc:  # noqa: BLE001 - a broken provider must not stop the others
        log.exception("notify %s to %s failed", message.channel, message.to)
        return f"{type(exc).__name__}: {exc}"[:2000]
    return None


# --- after the transaction: the outbox --------------------------------------------------------


class NotifyOutbox(Base):
    """A message decided in a transaction, written in it, and sent once it has committed: at
    once by the process that committed it; when that fails (a gateway down, the process gone
    between the commit and the send) by the `notify-outbox` job, after a wait that doubles
    with each failure, up to notify_max_attempts; then it is dead, kept with its last error.
    Nothing decided is lost, and a rolled-back change writes nothing."""

    __tablename__ = "notify_outbox"
    __table_args__ = (Index("ix_notify_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # the committing process's handle
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sent, dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


PENDING_KEY = "notify_after_commit"


def backoff(settings: Settings, attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failure: doubling from notify_backoff_seconds, capped."""
    seconds = settings.notify_backoff_seconds * 2 ** max(0, attempts - 1)
    return dt.timedelta(seconds=min(seconds, settings.notify_backoff_max_seconds))


def after_commit(session, preference: Preference, event: str, data: dict) -> None:
    """Tell the person of the event once the session's transaction commits: the messages
    (with the providers, the person's wishes and the quiet hours of this moment) go into the
    outbox in this transaction, and are sent right after its commit (a step rolled back tells
    nobody; a committed one is told once, or twice should the process stop between a send
    and its record). A failure is logged, never raised."""
    from civicgrid.config import get_settings
    from civicgrid.kit.timefmt import local_zone

    settings = get_settings()
    now = utcnow()
    messages, _held = Notifier(providers(settings), local_zone()).messages(
        preference, event, data, now=now
    )
    # not before the job's first retry: the committing process sends it first
    first_retry = now + backoff(settings, 1)
    pending = session.info.setdefault(PENDING_KEY, [])
    for message in messages:
        row = NotifyOutbox(
            key=uuid.uuid4().hex,
            event=event,
            channel=message.channel,
            address=message.to,
            subject=message.subject,
            body=message.body,
            next_attempt_at=first_retry,
        )
        session.add(row)
        pending.append((row.key, message))


def _outcome(row: NotifyOutbox, error: str | None, settings: Settings, now: dt.datetime) -> None:
    row.attempts += 1
    if error is None:
        row.state, row.sent_at, row.last_error = "sent", now, None
        return
    row.last_error = error
    if row.attempts >= settings.notify_max_attempts:
        row.state = "dead"
        log.error(
            "notify %s to %s dead after %d attempts: %s",
            row.channel,
            row.address,
            row.attempts,
            error,
        )
    else:
        row.next_attempt_at = now + backoff(settings, row.attempts)


def _send_pending(session) -> None:
    """Right after the commit: send what this transaction put in the outbox (what a savepoint
    rolled back is not there, and is not sent) and record each outcome."""
    pending = session.info.pop(PENDING_KEY, [])
    if not pending:
        return
    from civicgrid.config import get_settings
    from civicgrid.kit.db import session_scope

    try:
        settings = get_settings()
        chosen = providers(settings)
        with session_scope() as recorder:
            rows = recorder.scalars(
                select(NotifyOutbox).where(
                    NotifyOutbox.key.in_([key for key, _m in pending]),
                    NotifyOutbox.state == "pending",
                )
            )
            by_key = {row.key: row for row in rows}
            for key, message in pending:
                if key in by_key:
                    _outcome(by_key[key], send(chosen, message), settings, utcnow())
    except Exception:  # noqa: BLE001 - a notification must never fail a committed write
        # what was not recorded is still pending: the job sends it (again) later
        log.exception("notifications after commit failed")


def _drop_pending(session, previous) -> None:
    if not previous.nested:  # a savepoint's rollback leaves the rest of the transaction
        session.info.pop(PENDING_KEY, None)


def send_due(session, settings: Settings, *, now: dt.datetime | None = None) -> dict:
    """Send the outbox's messages that are due (the job), oldest first; the job owns its
    transaction and commits after each, so that nothing is held while a gateway answers."""
    now = now or utcnow()
    started = utcnow()  # the outcomes' times: `now`, moved on as the job goes
    ids = list(
        session.scalars(
            select(NotifyOutbox.id)
            .where(NotifyOutbox.state == "pending", NotifyOutbox.next_attempt_at <= now)
            .order_by(NotifyOutbox.id)
            .limit(1000)
        )
    )
    session.commit()
    chosen = providers(settings)
    counts = {"sent": 0, "retry": 0, "dead": 0}
    for message_id in ids:
        row = session.get(NotifyOutbox, message_id)
        message = Message(row.channel, row.address, row.subject, row.body)
        session.commit()
        error = send(chosen, message)
        row = session.get(NotifyOutbox, message_id)
        _outcome(row, error, settings, now + (utcnow() - started))
        counts["sent" if row.state == "sent" else "dead" if row.state == "dead" else "retry"] += 1
        session.commit()
    return counts


def _install() -> None:
    from sqlalchemy import event as sa_event
    from sqlalchemy.orm import Session

    from civicgrid.config import get_settings
    from civicgrid.kit import scheduler

    sa_event.listen(Session, "after_commit", _send_pending)
    sa_event.listen(Session, "after_soft_rollback", _drop_pending)
    scheduler.register(
        scheduler.Job(
            "notify-outbox",
            dt.timedelta(seconds=get_settings().notify_outbox_seconds),
            send_due,
            description="send the notifications a commit could not (retries, dead letters)",
        )
    )


_install()
