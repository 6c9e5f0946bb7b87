"""GeoReport v2 XML: the same documents as the JSON, in the element names of the spec.

Every text written goes through kit.text.xml_safe: a character XML 1.0 cannot carry (stored
before input refused it, or in an imported history) is left out rather than making the whole
document unreadable.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from civicgrid.kit.text import xml_safe


def _value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return escape(xml_safe(str(v)))


def _element(name: str, value) -> str:
    if isinstance(value, dict):
        return f"<{name}>" + "".join(_element(k, v) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, list):
        child = {
            "attributes": "attribute",
            "values": "value",
            "formats": "format",
            "endpoints": "endpoint",
        }.get(name, "item")
        return f"<{name}>" + "".join(_element(child, v) for v in value) + f"</{name}>"
    return f"<{name}>{_value(value)}</{name}>"


def document(root: str, item: str | None, data) -> str:
    """`<root><item>…</item>…</root>` for a list, `<root>…</root>` for a dict."""
    head = '<?xml version="1.0" encoding="utf-8"?>'
    if isinstance(data, list):
        return head + f"<{root}>" + "".join(_element(item, d) for d in data) + f"</{root}>"
    return head + _element(root, data)
