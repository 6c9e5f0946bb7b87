"""督办 escalation: the rule table applied to late cases by a job of the one scheduler.

Each enabled rule is a step: `remind` (yellow: the handlers of the case's unit), `unit_leader`
(red: 督办 to the unit's leaders, with a numbered 督办单) and `district_leader` (red plus N
working hours: the district's leaders). A step is taken once per case and deadline (an
extension gives the case a new deadline, and the steps may come again), written as an `urge`
event on the case in the same transaction as its row here. Once that transaction commits, the
step's people hear of it at their contacts in the staff directory (kit.notify)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from civicgrid.auth import service as auth_service
from civicgrid.cases import queries as case_queries
from civicgrid.cases import service as case_service
from civicgrid.config import Settings, get_settings
from civicgrid.kit import events, notify, scheduler, webpush
from civicgrid.kit.db import session_scope, utcnow
from civicgrid.kit.errors import BadRequest, NotFound
from civicgrid.kit.timefmt import local_zone
from civicgrid.org import queries as org_queries
from civicgrid.org import service as org_service
from civicgrid.supervision import queries
from civicgrid.supervision.models import (
    LIGHTS,
    STEPS,
    Escalation,
    EscalationRule,
    PushSubscription,
)

log = logging.getLogger(__name__)

MAX_AFTER_HOURS = 2000.0
# Which role is told, and where, at each step.
STEP_NAMES = {
    "remind": ("黄灯提醒处置人员", "Yellow light: remind the handlers"),
    "unit_leader": ("红灯督办单位领导", "Red light: escalate to the unit's leaders"),
    "district_leader": ("红灯超时督办区领导", "Red for long: escalate to the district's leaders"),
}


class RuleNotFound(NotFound):
    def __init__(self, step: str) -> None:
        super().__init__(f"督办规则 {step} 不存在", f"no escalation rule {step}")


class SheetNotFound(NotFound):
    def __init__(self, number: str) -> None:
        super().__init__(f"督办单 {number} 不存在", f"no 督办单 numbered {number}")


# The three steps; the district's leaders after 8 working hours (one working day) of
# red. The migration writes them; a database made otherwise (create_all) gets them on first use.
DEFAULT_RULES = (
    ("remind", "yellow", 0.0),
    ("unit_leader", "red", 0.0),
    ("district_leader", "red", 8.0),
)


def rules(session: Session) -> list[EscalationRule]:
    """The rule table (STEPS' order); a step missing from it is taken as its default."""
    found = {r.step: r for r in queries.rules(session)}
    return [
        found.get(step) or EscalationRule(step=step, light=light, after_hours=hours, enabled=True)
        for step, light, hours in DEFAULT_RULES
    ]


def update_rule(
    session: Session,
    step: str,
    *,
    light: str | None,
    after_hours: float | None,
    enabled: bool | None,
    by: str,
) -> EscalationRule:
    """Change one rule (audited); BadRequest naming the field when a value is out of range."""
    rule = next((r for r in rules(session) if r.step == step), None)
    if rule is None:
        raise RuleNotFound(step)
    if rule.id is None:
        session.add(rule)
    if light is not None:
        if light not in LIGHTS:
            raise BadRequest("light 须为 yellow 或 red", "light must be yellow or red")
        rule.light = light
    if after_hours is not None:
        if not 0 <= after_hours <= MAX_AFTER_HOURS:
            raise BadRequest(
                f"after_hours 须在 0 到 {MAX_AFTER_HOURS:g} 之间",
                f"after_hours must be 0 to {MAX_AFTER_HOURS:g}",
            )
        rule.after_hours = after_hours
    if enabled is not None:
        rule.enabled = enabled
    rule.updated_at = utcnow()
    rule.updated_by = by
    session.flush()  # the audit log's hooks write the change (models: audit.register)
    return rule


def _district_of(session: Session, unit_code: str | None) -> list[str]:
    """The codes of the districts above (or at) the unit."""
    unit = org_service.find_unit(session, unit_code) if unit_code else None
    if unit is None:
        return []
    codes = [c for c in unit.path.strip("/").split("/") if c]
    found = org_queries.units_by_code(session, codes)
    return [c for c in codes if c in found and found[c].kind == "district"]


def _targets(session: Session, step: str, unit_code: str | None, holders: dict) -> list[str]:
    if step == "remind":
        return list(holders["handler"].get(unit_code, []))
    if step == "unit_leader":
        return list(holders["leader"].get(unit_code, []))
    out: list[str] = []
    for code in _district_of(session, unit_code):
        out.extend(holders["leader"].get(code, []))
    return out


def _due(working, rule: EscalationRule, case, now: dt.datetime) -> bool:
    """Whether the rule's step is due on the case now."""
    if rule.light == "red":
        since = case.deadline
        if now <= since:
            return False
    else:
        since = case.warn_at if case.warn_at is not None else case.deadline
        if now <= since:
            return False
    wanted = dt.timedelta(hours=rule.after_hours)
    if not wanted:
        return True
    if now - since < wanted:  # working time is never more than the time itself
        return False
    return working(since, now) >= wanted


def _note(step: str, number: str | None, targets: list[str]) -> str:
    zh = STEP_NAMES[step][0]
    who = "、".join(targets) if targets else "(未设账号)"
    head = f"督办单 {number}: " if number else ""
    return f"{head}{zh} → {who}"


def _tell(session: Session, step: str, row: Escalation, reach: dict) -> None:
    """The step's people hear of it at their directory contacts (kit.notify: SMS to the first
    phone, e-mail), once the step is committed: the handlers a yellow reminder, the leaders the
    督办 with its sheet's number."""
    event = "case_reminded" if step == "remind" else "case_urged"
    data = {
        "case": row.case_code,
        "deadline": row.deadline.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M"),
        "sheet": row.number,
        "note": row.note,
    }
    for username in row.targets:
        if reach.get(username):
            notify.after_commit(session, notify.Preference(reach[username]), event, data)


def escalate(session: Session, settings: Settings, now: dt.datetime | None = None) -> dict:
    """Take every due step on every late case; how many of each step were taken."""
    now = now or utcnow()
    active = [r for r in rules(session) if r.enabled]
    counts = dict.fromkeys(STEPS, 0)
    if not active:
        return counts
    cases = case_queries.past_warning(session, now=now)
    working = case_service.working_time(session, settings)
    done = queries.taken(session, [c.id for c in cases])
    holders = {
        "handler": auth_service.holders_by_unit(session, "handler"),
        "leader": auth_service.holders_by_unit(session, "leader"),
    }
    reach = auth_service.contacts(
        session, {u for units in holders.values() for names in units.values() for u in names}
    )
    for case in cases:
        for rule in active:
            if (case.id, rule.step, case.deadline) in done:
                continue
            if not _due(working, rule, case, now):
                continue
            light = "red" if now > case.deadline else "yellow"
            targets = _targets(session, rule.step, case.unit_code, holders)
            row = Escalation(
                case_id=case.id,
                case_code=case.code,
                unit_code=case.unit_code,
                step=rule.step,
                light=light,
                deadline=case.deadline,
                targets=targets,
                at=now,
            )
            session.add(row)
            session.flush()
            if rule.step != "remind":
                row.number = f"DB{now.year}{row.id:06d}"
            row.note = _note(rule.step, row.number, targets)[:400]
            event = case_service.transition(
                session,
                settings,
                case,
                "urge",
                actor=case_service.Actor.system(),
                at=max(now, case.last_event_at or now),
                note=row.note,
                payload={"step": rule.step, "sheet": row.number, "targets": targets},
            )
            row.event_seq = event.seq
            _tell(session, rule.step, row, reach)
            done.add((case.id, rule.step, case.deadline))
            counts[rule.step] += 1
    return counts


def urge_list(session: Session, user) -> list[Escalation]:
    """The 督办 the user may see: a city-wide user every one, others their scope's units."""
    scope = auth_service.scope_codes(session, user)
    return queries.urges(session, units=None if scope is None else scope)


def sheet(session: Session, user, number: str) -> Escalation:
    """One 督办单, if the user may see its unit; SheetNotFound (404) otherwise."""
    row = queries.by_number(session, number)
    scope = auth_service.scope_codes(session, user)
    if row is None or (scope is not None and row.unit_code not in scope):
        raise SheetNotFound(number)
    return row


def urged_cases_by_unit(
    session: Session, *, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> dict[str, int]:
    """For the stats: how many distinct cases each unit had 督办 on (queries'); see there."""
    return queries.urged_cases_by_unit(session, start=start, end=end)


def _escalate_job(session: Session, settings: Settings) -> str:
    counts = escalate(session, settings)
    return ", ".join(f"{k} {v}" for k, v in counts.items())


ESCALATE_JOB = scheduler.register(
    scheduler.Job(
        "supervision-escalate",
        every=dt.timedelta(minutes=5),
        run=_escalate_job,
        description="按督办规则提醒与督办超时案件 / escalate late cases by the rule table",
    )
)


# --- Web Push: new cases to the handler app ------------------------------------------------


class BadSubscription(BadRequest):
    pass


def subscribe(
    session: Session, settings: Settings, username: str, *, endpoint: str, p256dh: str, auth: str
) -> PushSubscription:
    """Keep a browser's push subscription for the user (the endpoint's earlier owner, if any,
    loses it). BadSubscription (400) for an endpoint that is not an https URL (http only in
    development and tests) or keys that are not a P-256 point and a 16-byte secret."""
    schemes = ("https",) if settings.mode == "production" else ("https", "http")
    try:
        parts = urlsplit(endpoint)
        usable = parts.scheme in schemes and bool(parts.hostname)
    except ValueError:  # a broken address ("https://[")
        usable = False
    if not usable:
        raise BadSubscription(
            "推送地址须为浏览器推送服务的 https 地址",
            "the endpoint must be a push service's https URL",
        )
    try:
        point, secret = webpush.unb64url(p256dh), webpush.unb64url(auth)
    except ValueError:
        point, secret = b"", b""
    if len(point) != 65 or point[0] != 4 or len(secret) != 16:
        raise BadSubscription(
            "订阅密钥无效 (须为 P-256 公钥与 16 字节密钥)",
            "the subscription's keys must be a P-256 public key and a 16-byte secret",
        )
    row = queries.push_subscription(session, endpoint)
    if row is None:
        row = PushSubscription(endpoint=endpoint)
        session.add(row)
    row.username, row.p256dh, row.auth, row.last_error = username, p256dh, auth, None
    session.flush()
    return row


def unsubscribe(session: Session, username: str, endpoint: str) -> bool:
    """Forget the user's subscription at this endpoint (sign-out); whether there was one."""
    row = queries.push_subscription(session, endpoint)
    if row is None or row.username != username:
        return False
    session.delete(row)
    session.flush()
    return True


def push_new_case(settings: Settings, code: str, targets: list[tuple]) -> dict[str, int]:
    """Tell these browsers (id, endpoint, p256dh, auth) that a case came to their unit (Web
    Push); subscriptions the push service says are gone are dropped, failures noted on the
    row. Counts of sent, gone and failed."""
    counts = {"sent": 0, "gone": 0, "failed": 0}
    message = {
        "title": "新案件 / New case",
        "body": f"案件 {code} 已派遣到本单位, 请处置",
        "code": code,
        "url": f"/app/#/case/{code}",
    }
    outcome: dict[int, int | str] = {}
    for row_id, endpoint, p256dh, auth in targets:
        try:
            status = webpush.send(settings, webpush.Subscription(endpoint, p256dh, auth), message)
        except Exception as exc:  # noqa: BLE001 - one browser's service must not stop others
            outcome[row_id] = f"{type(exc).__name__}: {exc}"[:400]
        else:
            outcome[row_id] = (
                status if status // 100 == 2 or status in webpush.GONE else (f"HTTP {status}")
            )
    with session_scope() as session:
        now = utcnow()
        for row_id, result in outcome.items():
            row = session.get(PushSubscription, row_id)
            if row is None:
                continue
            if result in webpush.GONE:
                session.delete(row)
                counts["gone"] += 1
            elif isinstance(result, str):
                row.last_error = result
                counts["failed"] += 1
                log.warning("web push to %s failed: %s", row.endpoint[:80], result)
            else:
                row.last_sent_at, row.last_error = now, None
                counts["sent"] += 1
    return counts


PUSH_KEY = "web_push"


def _on_change(session: Session, message: dict) -> None:
    """A case dispatched to a unit: the subscribed browsers of its handlers are read in the
    transaction, and told once it commits (kit.events.before_commit; see _after_commit)."""
    if message.get("type") != "case" or message.get("action") != "dispatch":
        return
    unit = message.get("unit")
    if not unit or not queries.any_push_subscription(session):
        return
    handlers = auth_service.holders_by_unit(session, "handler").get(unit, [])
    rows = queries.push_subscriptions_of(session, handlers)
    if rows:
        targets = [(r.id, r.endpoint, r.p256dh, r.auth) for r in rows]
        session.info.setdefault(PUSH_KEY, []).append((message.get("code"), targets))


def _after_commit(session: Session) -> None:
    for code, targets in session.info.pop(PUSH_KEY, []):
        # from a thread of its own: a push service's delay never holds the request
        _spawn(_push_quietly, get_settings(), code, targets)


def _after_rollback(session: Session, _previous) -> None:
    session.info.pop(PUSH_KEY, None)


def _spawn(target, *args) -> None:
    threading.Thread(target=target, args=args, daemon=True, name="web-push").start()


def _push_quietly(settings: Settings, code, targets) -> None:
    try:
        push_new_case(settings, code, targets)
    except Exception:  # noqa: BLE001 - a push must never fail anything else
        log.exception("web push for %s failed", code)


def _install() -> None:
    from sqlalchemy import event as sa_event

    events.before_commit(_on_change)
    sa_event.listen(Session, "after_commit", _after_commit)
    sa_event.listen(Session, "after_soft_rollback", _after_rollback)


_install()
