"""A notice's Markdown as HTML that is safe to show: markdown-it-py renders it with raw HTML
turned off, and nh3 (ammonia) keeps only the allowed tags, attributes and URL schemes. Either
alone would do for today's inputs; both keep the page safe when one of them changes."""

from __future__ import annotations

import html

import nh3
from markdown_it import MarkdownIt

TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code",
    "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th",
    "td",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def render(text: str) -> str:
    """Markdown → sanitised HTML: no script, no event attributes, only TAGS with ATTRIBUTES and
    links and images of URL_SCHEMES (or relative to this site)."""
    return nh3.clean(
        _md.render(text or ""),
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def plain(text: str, limit: int = 200) -> str:
    """The text without markup, shortened: a list's excerpt, a feed's summary."""
    words = html.unescape(nh3.clean(_md.render(text or ""), tags=set())).split()
    out = " ".join(words)
    return out if len(out) <= limit else out[: limit - 1] + "…"
