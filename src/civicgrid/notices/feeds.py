"""What the public side sends besides pages: an Atom feed per notice kind (feedgen) and, for a
warning, its CAP 1.2 alert (OASIS Common Alerting Protocol,
urn:oasis:names:tc:emergency:cap:1.2)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from feedgen.feed import FeedGenerator
from shapely.geometry import shape
from sqlalchemy.orm import Session

from civicgrid.geo import service as geo_service
from civicgrid.kit.db import utcnow
from civicgrid.kit.timefmt import local_zone
from civicgrid.notices import content
from civicgrid.notices.models import Notice, NoticeKind
from civicgrid.notices.service import aware

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
# Simplification of an area's outline for the alert (degrees, about 20 m): a street's boundary
# keeps its shape, the document stays small.
SIMPLIFY_DEGREES = 0.0002


def atom(kind: NoticeKind, notices: list[Notice], base_url: str) -> bytes:
    """The public notices of one kind as an Atom 1.0 feed, newest first."""
    base = base_url.rstrip("/")
    feed = FeedGenerator()
    feed.id(f"{base}/notices/feed/{kind.code}.atom")
    feed.title(f"{kind.name} · 信息发布")
    feed.subtitle(kind.name_en)
    feed.language("zh-CN")
    feed.link(href=f"{base}/notices?kind={kind.code}", rel="alternate")
    feed.link(href=f"{base}/notices/feed/{kind.code}.atom", rel="self")
    feed.author({"name": "civicgrid"})
    newest = max((aware(n.published_at) for n in notices), default=utcnow())
    feed.updated(newest)
    for notice in reversed(notices):  # feedgen puts the last added first
        entry = feed.add_entry()
        entry.id(f"{base}/notices/{notice.id}")
        entry.title(notice.title)
        entry.link(href=f"{base}/notices/{notice.id}")
        entry.published(aware(notice.published_at))
        entry.updated(max(aware(notice.published_at), aware(notice.updated_at)))
        entry.summary(content.plain(notice.body))
        entry.content(content.render(notice.body), type="html")
        entry.author({"name": notice.author})
    return feed.atom_str(pretty=True)


def _cap_time(value: dt.datetime) -> str:
    """CAP's dateTime: local time with its offset, whole seconds (2026-11-30T09:00:00+08:00)."""
    return aware(value).astimezone(local_zone()).replace(microsecond=0).isoformat()


def _rings(geometry: dict) -> list[list[tuple[float, float]]]:
    geom = shape(geometry).simplify(SIMPLIFY_DEGREES, preserve_topology=True)
    parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    return [list(p.exterior.coords) for p in parts if p.geom_type == "Polygon"]


def cap_areas(session: Session, notice: Notice) -> list[tuple[str, list[str]]]:
    """(description, polygons) of each area of a warning: the streets or district it names, or
    every district when it names none. A polygon is CAP's "lat,lon lat,lon ..." ring, closed."""
    if notice.area_codes:
        found = [geo_service.get_area(session, code) for code in notice.area_codes]
    else:
        found = geo_service.areas(session, level="district")
    out = []
    for area in found:
        polygons = [
            " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in ring)
            for ring in _rings(area.geometry)
            if len(ring) >= 4
        ]
        out.append((area.name, polygons))
    return out


def cap(
    notice: Notice,
    kind: NoticeKind,
    areas: list[tuple[str, list[str]]],
    *,
    base_url: str,
    sender: str,
) -> bytes:
    """The warning as a CAP 1.2 alert: Actual, an Alert while it is shown (a Cancel once it is
    withdrawn or expired), Public; one info block in zh-CN with urgency, severity and certainty,
    and an area per district or street with its polygons."""
    base = base_url.rstrip("/")
    ET.register_namespace("", CAP_NS)

    def sub(parent, tag: str, text: str | None = None):
        element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        if text is not None:
            element.text = text
        return element

    sent = aware(notice.published_at) or aware(notice.updated_at)
    identifier = f"civicgrid-notice-{notice.id}"
    cancelled = notice.state in ("withdrawn", "expired")
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    sub(alert, "identifier", identifier + ("-cancel" if cancelled else ""))
    sub(alert, "sender", sender)
    sub(alert, "sent", _cap_time(aware(notice.updated_at) if cancelled else sent))
    sub(alert, "status", "Actual")
    sub(alert, "msgType", "Cancel" if cancelled else "Alert")
    sub(alert, "scope", "Public")
    if cancelled:
        sub(alert, "references", f"{sender},{identifier},{_cap_time(sent)}")
    info = sub(alert, "info")
    sub(info, "language", "zh-CN")
    sub(info, "category", "Met")
    sub(info, "event", kind.name)
    sub(info, "urgency", notice.urgency or "Unknown")
    sub(info, "severity", notice.severity or "Unknown")
    sub(info, "certainty", notice.certainty or "Unknown")
    sub(info, "effective", _cap_time(sent))
    if notice.expires_at is not None:
        sub(info, "expires", _cap_time(notice.expires_at))
    sub(info, "senderName", "civicgrid")
    sub(info, "headline", notice.title[:160])
    sub(info, "description", content.plain(notice.body, limit=4000))
    sub(info, "web", f"{base}/notices/{notice.id}")
    for description, polygons in areas:
        area = sub(info, "area")
        sub(area, "areaDesc", description)
        for polygon in polygons:
            sub(area, "polygon", polygon)
    return ET.tostring(alert, encoding="utf-8", xml_declaration=True)
