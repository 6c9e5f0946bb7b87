"""The snow season's pages render (server side) with their data; /command switches to the snow
layout while an event is going on."""

from __future__ import annotations

import datetime as dt

from civicgrid.kit.db import utcnow
from civicgrid.snowfields import queries, service
from tests.factories import login
from tests.snowfields.test_snowfall import declare, generate


def test_the_pages_show_the_event(session, client):
    generate(session)
    event = declare(session)
    login(client, "lead")
    page = client.get("/snow")
    assert page.status_code == 200
    assert "雪场管理" in page.text and 'id="snow-limits"' in page.text
    assert f'href="/snow/events/{event.id}"' in page.text
    page = client.get(f"/snow/events/{event.id}")
    assert page.status_code == 200
    assert page.text.count('<tr data-code="S') == 5
    assert 'class="fill-bar' in page.text and "先通再净" in page.text
    page = client.get(f"/snow/events/{event.id}/report", params={"day": "2026-11-20"})
    assert page.status_code == 200 and 'id="snow-district"' in page.text
    assert client.get(f"/snow/events/{event.id}/report", params={"day": "x"}).status_code == 400
    page = client.get("/snow/gate")
    assert page.status_code == 200


def test_command_switches_to_the_snow_layout_during_an_event(session, client):
    generate(session)
    login(client, "disp")
    assert "snow-layout" not in client.get("/command").text
    now = utcnow()
    event = declare(session, started_at=now - dt.timedelta(hours=1), snow_end_at=None)
    page = client.get("/command")
    assert "snow-layout" in page.text and 'id="snow-fields"' in page.text
    assert page.text.count('class="snow-field"') == len(queries.fields_of(session, event.id))
    assert "/static/js/snow-command.js" in page.text
    service.update_event(session, event, closed_at=now - dt.timedelta(minutes=1))
    assert "snow-layout" not in client.get("/command").text
