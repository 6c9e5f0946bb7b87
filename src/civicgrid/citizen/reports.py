"""The public map of reports (/reports, FixMyStreet's "all reports"): the cases the public
policy shows (service.PublicPolicy), by street, state and category, each with its public
steps and its after photo, and an Atom feed of each street. No reporter's name or phone."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from feedgen.feed import FeedGenerator
from sqlalchemy.orm import Session

from civicgrid.cases import queries as case_queries
from civicgrid.cases import workflow
from civicgrid.categories import queries as categories_queries
from civicgrid.citizen import service
from civicgrid.citizen.exceptions import PublicCaseNotFound
from civicgrid.config import Settings
from civicgrid.geo import service as geo_service
from civicgrid.kit.db import utcnow
from civicgrid.kit.timefmt import iso_local
from civicgrid.media import queries as media_queries
from civicgrid.media import service as media_service
from civicgrid.org import queries as org_queries

# What the public list shows by state: a rejected case (a duplicate, not a city problem) is
# not on it (a merged duplicate's original is); "open" and "closed" as the filter's groups.
SHOWN_STATES = tuple(s for s in workflow.STATES if s != "rejected")
STATE_GROUPS = {
    "open": tuple(s for s in SHOWN_STATES if s != "closed"),
    "closed": ("closed",),
    **{s: (s,) for s in SHOWN_STATES},
}
LIST_LIMIT = 200
FEED_LIMIT = 50
# the public list's last page: its offset bounded (400 pages of 200 is 80,000 cases back)
MAX_PAGE = 400
_PAGE = re.compile(r"[1-9][0-9]{0,5}")


def page_number(text: str) -> int:
    """The page asked for: ASCII digits from 1 to MAX_PAGE, or else the first."""
    return int(text) if _PAGE.fullmatch(text) and int(text) <= MAX_PAGE else 1


def photo_url(code: str, photo_id: int) -> str:
    """A public photo's address: Open311's media route, which applies the same policy."""
    return f"/open311/v2/media/{code}/{photo_id}.jpg"


def streets(session: Session) -> dict[str, str]:
    """The district's streets, name by code, in code order."""
    return {a.code: a.name for a in geo_service.areas(session, level="street")}


def find(
    session: Session,
    settings: Settings,
    *,
    street: str | None = None,
    state: str | None = None,
    category: str | None = None,
    limit: int = LIST_LIMIT,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The public cases of the street, state group (STATE_GROUPS) and category, newest first,
    at most `limit` after the first `offset`: each with its public step, its street's name,
    its first after photo and (as the policy shows them) its first report photo, and its
    count of followers.
    Set-based: a fixed number of queries whatever the number of cases."""
    policy = service.PublicPolicy.of(settings)
    rows = case_queries.public_cases(
        session,
        sources=policy.sources,
        street=street or None,
        states=STATE_GROUPS.get(state or "", SHOWN_STATES),
        category=category or None,
        limit=limit,
        offset=offset,
    )
    ids = [r.id for r in rows]
    units = org_queries.names_by_code(session, {r.unit_code for r in rows if r.unit_code})
    names = categories_queries.names_by_code(session, {r.category_code for r in rows})
    street_names = streets(session)
    after = media_queries.first_case_after_photos(session, ids) if policy.photos != "none" else {}
    before = (
        media_queries.first_report_photos(session, ids, public_only=policy.public_photos_only)
        if policy.photos != "none"
        else {}
    )
    followers = service.follower_counts(session, ids)
    return [
        {
            "code": r.code,
            "state": r.state,
            "state_zh": workflow.STATE_NAMES_ZH.get(r.state),
            "step": service.public_step_text(r.state, units.get(r.unit_code)),
            "unit": units.get(r.unit_code),
            "category": {"code": r.category_code, "name": names.get(r.category_code, "")},
            "description": r.description,
            "address": r.address,
            "street": {"code": r.street_code, "name": street_names.get(r.street_code or "")},
            "lon": r.lon,
            "lat": r.lat,
            "reported_at": iso_local(r.reported_at),
            "updated_at": iso_local(r.last_event_at or r.reported_at),
            "after_photo": photo_url(r.code, after[r.id]) if r.id in after else None,
            "photo": photo_url(r.code, before[r.id]) if r.id in before else None,
            "followers": followers.get(r.id, 0),
            "url": f"/reports/{r.code}",
        }
        for r in rows
    ]


def case_view(session: Session, settings: Settings, code: str) -> dict[str, Any]:
    """One public case as /reports/{code} shows it: its public steps (service.public_view),
    its photos as the policy shows them, its street and count of followers. A case the
    policy hides, or a rejected one, is not found (alike: no code of an internal case leaks)."""
    case = service.public_case(session, settings, code)
    if case.state not in SHOWN_STATES:
        raise PublicCaseNotFound()
    policy = service.PublicPolicy.of(settings)
    view = service.public_view(session, case, photo_url=lambda p, thumb=False: None)
    shown = []
    if policy.photos != "none":
        for p in media_service.photos_of(session, case.id):
            if p.stage == "done" or (
                p.stage == "report" and (not policy.public_photos_only or p.public)
            ):
                shown.append({"stage": p.stage, "url": photo_url(case.code, p.id)})
    view.pop("can_rate", None)
    view.pop("score", None)
    view["photos"] = shown
    view["street"] = streets(session).get(case.street_code or "")
    view["followers"] = service.follower_counts(session, [case.id]).get(case.id, 0)
    view["lon"], view["lat"] = case.lon, case.lat
    return view


def atom(session: Session, settings: Settings, street: str, base_url: str) -> bytes:
    """The public cases of one street as an Atom 1.0 feed, the latest changed first (at most
    FEED_LIMIT): each entry names the case's step and links its public page. Unknown
    street: geo's AreaNotFound (404)."""
    area = geo_service.get_area(session, street)
    base = base_url.rstrip("/")
    cases = find(session, settings, street=area.code, limit=FEED_LIMIT)
    cases.sort(key=lambda c: c["updated_at"] or "", reverse=True)
    feed = FeedGenerator()
    feed.id(f"{base}/reports/feed/{area.code}.atom")
    feed.title(f"{area.name} · 市民反映的问题")
    feed.subtitle(f"Public reports of {area.name}")
    feed.language("zh-CN")
    feed.link(href=f"{base}/reports?street={area.code}", rel="alternate")
    feed.link(href=f"{base}/reports/feed/{area.code}.atom", rel="self")
    feed.author({"name": "civicgrid"})
    feed.updated(max((dt.datetime.fromisoformat(c["updated_at"]) for c in cases), default=utcnow()))
    for c in reversed(cases):  # feedgen puts the last added first
        entry = feed.add_entry()
        entry.id(f"{base}/reports/{c['code']}")
        entry.title(f"{c['category']['name']} · {c['step']}")
        entry.link(href=f"{base}/reports/{c['code']}")
        entry.published(dt.datetime.fromisoformat(c["reported_at"]))
        entry.updated(dt.datetime.fromisoformat(c["updated_at"]))
        entry.summary(" · ".join(x for x in (c["code"], c["address"], c["description"]) if x))
    return feed.atom_str(pretty=True)
