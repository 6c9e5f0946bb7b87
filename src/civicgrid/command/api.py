"""The command centre (城管信息中心): today's counters, open cases, latest reports, rankings,
and a server-sent event stream that tells every screen when a case changes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from types import SimpleNamespace

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from civicgrid.auth import service as auth_service
from civicgrid.auth.deps import CurrentUser
from civicgrid.cases import policy as case_policy
from civicgrid.cases import queries as case_queries
from civicgrid.cases import views, workflow
from civicgrid.command.schemas import Summary
from civicgrid.kit.db import utcnow
from civicgrid.kit.events import broadcaster
from civicgrid.kit.http import DbSession, binary_answer
from civicgrid.kit.timefmt import local_zone
from civicgrid.stats import assessment

router = APIRouter(prefix="/api/v1/command", tags=["command"])
HEARTBEAT_SECONDS = 15.0
# the open cases drawn on the big screen's map (the counters count them all)
MAP_POINTS = 3000


@router.get("/summary", response_model=Summary)
def summary(session: DbSession, user: CurrentUser) -> dict:
    """Today's counters (local day), the open cases by light, the latest reports, and this
    month's street ranking."""
    scope = auth_service.scope_codes(session, user)
    now = utcnow()
    local = now.astimezone(local_zone())
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)

    # counted in the database, all of them; the map shows the newest MAP_POINTS
    counts = case_queries.count_open_by_light(session, scope=scope, now=now)
    open_cases = case_queries.list_open(session, scope=scope, limit=MAP_POINTS)
    points = [
        {"code": c.code, "lon": c.lon, "lat": c.lat, "light": workflow.light(c, now)}
        for c in open_cases
    ]
    latest = case_queries.list_cases(session, scope=scope, flt=case_queries.CaseFilter(), limit=10)
    ranking = assessment.ranking(
        session, start=month, end=month + dt.timedelta(days=32), group_by="street", now=now
    )
    return {
        "now": local.isoformat(timespec="seconds"),
        "today": {
            **case_queries.count_since(session, scope=scope, since=day),
            **counts,
        },
        "cases": points,
        "latest": [views.case_summary(c, now) for c in latest],
        "ranking": [
            {
                "key": r["key"],
                "name": r["name"],
                "rank": r["rank"],
                "composite": r["composite"],
                "grade": r["grade"],
            }
            for r in ranking["rows"]
        ][:10],
    }


def _seen_by(scope):
    """Whether a live message is about a case the scope may see (the same rule as the lists)."""

    def seen(message: dict) -> bool:
        places = SimpleNamespace(
            unit_code=message.get("unit"),
            street_code=message.get("street"),
            community_code=message.get("community"),
        )
        return case_policy.visible(places, scope)

    return seen


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses=binary_answer("text/event-stream", description="server-sent events"),
)
async def stream(request: Request, user: CurrentUser, session: DbSession) -> StreamingResponse:
    """Server-sent events: `case` when a case this user may see changes, a comment line as a
    heartbeat."""
    seen = _seen_by(auth_service.scope_codes(session, user))

    async def events():
        source = broadcaster().subscribe()
        # subscribed before the first line goes out: a client that has read it misses nothing
        pending = asyncio.ensure_future(anext(source))
        await asyncio.sleep(0)
        yield "retry: 3000\n\n"
        try:
            while not await request.is_disconnected():
                if pending is None:
                    pending = asyncio.ensure_future(anext(source))
                done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT_SECONDS)
                if not done:
                    yield ": heartbeat\n\n"
                    continue
                message = pending.result()
                pending = None
                if not seen(message):
                    continue
                yield f"event: case\ndata: {json.dumps(message, ensure_ascii=False)}\n\n"
        finally:
            if pending is not None:
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
            await source.aclose()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
