"""The supervision API: the rule table (administrators change it) and the urge list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from civicgrid.auth.deps import CurrentUser, require_roles
from civicgrid.kit import webpush
from civicgrid.kit.http import AppSettings, DbSession
from civicgrid.supervision import service, views
from civicgrid.supervision.schemas import (
    PushEndpointIn,
    PushKeyRead,
    PushSubscriptionIn,
    PushSubscriptionRead,
    RuleIn,
    RuleList,
    RuleRead,
    UrgeList,
)

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])

LEADERS = ("leader", "dispatcher", "admin")


@router.get("/rules", response_model=RuleList)
def rules(session: DbSession, _user: CurrentUser) -> dict:
    """The escalation rule table (督办规则)."""
    return {"rules": [views.rule_view(r) for r in service.rules(session)]}


@router.put(
    "/rules/{step}", response_model=RuleRead, dependencies=[Depends(require_roles("admin"))]
)
def update_rule(
    step: Annotated[str, Path(max_length=20, description="remind | unit_leader | district_leader")],
    body: RuleIn,
    session: DbSession,
    user: CurrentUser,
) -> dict:
    """Change one rule: its light, its working hours after the light, on or off (404: no such
    step)."""
    rule = service.update_rule(
        session,
        step,
        light=body.light,
        after_hours=body.after_hours,
        enabled=body.enabled,
        by=user.username,
    )
    return views.rule_view(rule)


@router.get("/urges", response_model=UrgeList, dependencies=[Depends(require_roles(*LEADERS))])
def urges(session: DbSession, user: CurrentUser) -> dict:
    """The latest 督办 of the units the user may see, newest first (督办列表)."""
    return {"urges": [views.urge_view(e) for e in service.urge_list(session, user)]}


# --- Web Push of the handler app -------------------------------------------------------------


@router.get("/push/key", response_model=PushKeyRead)
def push_key(settings: AppSettings, _user: CurrentUser) -> dict:
    """The key a browser subscribes to this server's Web Push with (VAPID)."""
    return {"public_key": webpush.public_key(settings)}


@router.post("/push/subscriptions", response_model=PushSubscriptionRead, status_code=201)
def push_subscribe(
    body: PushSubscriptionIn, session: DbSession, settings: AppSettings, user: CurrentUser
) -> dict:
    """Keep this browser's push subscription: the new cases of the user's unit reach it (400:
    not a push service's https URL, or keys that are not a browser's)."""
    row = service.subscribe(
        session,
        settings,
        user.username,
        endpoint=body.endpoint,
        p256dh=body.keys.p256dh,
        auth=body.keys.auth,
    )
    return {"endpoint": row.endpoint, "username": row.username}


@router.post("/push/unsubscribe", status_code=204)
def push_unsubscribe(body: PushEndpointIn, session: DbSession, user: CurrentUser) -> Response:
    """Forget this browser's subscription (sign-out); nothing happens for an unknown one."""
    service.unsubscribe(session, user.username, body.endpoint)
    return Response(status_code=204)
