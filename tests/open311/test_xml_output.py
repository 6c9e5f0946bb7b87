"""The XML feed stays well-formed XML 1.0 whatever text is stored (issue 12, item 7): the
writer leaves out what XML cannot carry, on every text it writes."""

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import update

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.open311.xmlout import document
from tests.conftest import IS_PG
from tests.open311.conftest import a_case

V2 = "/open311/v2"
# Characters XML 1.0 cannot carry. PostgreSQL refuses to store NUL in text at all, so there
# it cannot reach a feed; SQLite stores it.
ILLEGAL = ["\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\ufffe", "\uffff"]
STORABLE = ILLEGAL if IS_PG else ["\x00", *ILLEGAL]


def strict(xml_bytes: bytes) -> ET.Element:
    """Parse with expat, which refuses any document that is not well-formed XML 1.0."""
    return ET.fromstring(xml_bytes)


@pytest.mark.parametrize("char", STORABLE, ids=lambda c: f"U+{ord(c):04X}")
def test_a_stored_control_character_leaves_the_feed_valid(client, session, api_key, char):
    # Given a case whose description, address and public note carry the character, written
    # straight into the database (as an old row or an import would, past the input checks)
    case = a_case(session)
    session.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(description=f"井盖{char}缺失", address=f"香坊大街{char}12号")
    )
    session.execute(
        update(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.seq == 1)
        .values(action="reject", note=f"不予{char}立案", public=True)
    )
    session.flush()

    # When the feed is read as XML: the list, one request, and by id
    answers = [
        client.get(f"{V2}/requests.xml"),
        client.get(f"{V2}/requests/{case.code}.xml"),
        client.get(f"{V2}/requests.xml", params={"service_request_id": case.code}),
    ]

    # Then each is well-formed, with the texts less the character only
    for r in answers:
        assert r.status_code == 200, r.text
        request = strict(r.content).find("request")
        assert request.findtext("service_request_id") == case.code
        assert request.findtext("description") == "井盖缺失"
        assert request.findtext("address") == "香坊大街12号"
        assert request.findtext("status_notes") == "已派遣至东风街道; 不予立案"
    # and the JSON carries the stored text as it is (JSON can)
    one = client.get(f"{V2}/requests/{case.code}.json").json()[0]
    assert one["description"] == f"井盖{char}缺失"


def test_an_error_document_echoing_input_is_valid_xml(client, api_key):
    # Given an attribute name with a vertical tab (the error names the attribute)
    data = {
        "api_key": api_key,
        "service_code": "06010",
        "lat": "45.7029325",
        "long": "126.6988839",
        "attribute[a\x0bb]": "x",
    }
    # When it is posted in the XML format
    r = client.post(f"{V2}/requests.xml", data=data)
    # Then the refusal (kit.guard's, before the route) is a well-formed error document that
    # does not echo the character
    assert r.status_code == 400
    error = strict(r.content).find("error")
    assert error.findtext("code") == "400"
    assert "U+000B" in error.findtext("description")


def test_the_writer_leaves_out_every_character_xml_cannot_carry():
    # Given every C0 control, the non-characters and a lone surrogate, beside legal text
    controls = "".join(chr(c) for c in range(0x20))
    text = f"<a&b>{controls}\ufffe\uffff\ud800末"
    # When a document is written with it as a value, in a dict, in a list and in a nested list
    xml = document("root", "item", [{"x": text, "n": None, "b": True, "l": [text]}])
    # Then it is well-formed, and only the illegal characters are gone
    item = strict(xml.encode("utf-8")).find("item")
    assert item.findtext("x") == "<a&b>\t\n\r末".replace("\r", "\n")  # XML reads \r as \n
    assert item.findtext("l/item") == item.findtext("x")
    assert item.findtext("b") == "true" and item.findtext("n") == ""
