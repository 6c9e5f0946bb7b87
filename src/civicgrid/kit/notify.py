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
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.message import EmailMessage

import httpx

from civicgrid.config import Settings

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
        targets = [(c, a) for c, a in preference.addresses.items() if a and c in self.providers]
        if not preference.wants(event):
            return [Delivery(c, a, "unwanted") for c, a in targets]
        local = now.astimezone(self.zone).time()
        if event not in URGENT_EVENTS and in_quiet_hours(
            local, preference.quiet_start, preference.quiet_end
        ):
            return [Delivery(c, a, "quiet") for c, a in targets]
        subject, body = render(event, data, templates=self.templates)
        out = []
        for channel, address in targets:
            try:
                self.providers[channel].send(Message(channel, address, subject, body))
            except NotifyError as exc:
                log.warning("notify %s to %s failed: %s", channel, address, exc)
                out.append(Delivery(channel, address, "failed", str(exc)[:500]))
            else:
                out.append(Delivery(channel, address, "sent"))
        return out


# --- after the transaction -------------------------------------------------------------------

PENDING_KEY = "notify_after_commit"


def after_commit(session, preference: Preference, event: str, data: dict) -> None:
    """Send the event to the person once the session's transaction commits (a step rolled back
    tells nobody, and a committed one is told once); the providers the settings of that moment
    choose. A failure is logged, never raised into the committed write."""
    session.info.setdefault(PENDING_KEY, []).append((preference, event, data))


def _send_pending(session) -> None:
    pending = session.info.pop(PENDING_KEY, [])
    if not pending:
        return
    from civicgrid.config import get_settings
    from civicgrid.kit.db import utcnow
    from civicgrid.kit.timefmt import local_zone

    notifier = Notifier(providers(get_settings()), local_zone())
    now = utcnow()
    for preference, event, data in pending:
        try:
            notifier.notify(preference, event, data, now=now)
        except Exception:  # noqa: BLE001 - a notification must never fail a committed write
            log.exception("notification %s failed", event)


def _drop_pending(session, _previous) -> None:
    session.info.pop(PENDING_KEY, None)


def _install() -> None:
    from sqlalchemy import event as sa_event
    from sqlalchemy.orm import Session

    sa_event.listen(Session, "after_commit", _send_pending)
    sa_event.listen(Session, "after_soft_rollback", _drop_pending)


_install()
