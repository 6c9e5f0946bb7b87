"""Vehicle tracks in the browser: the fleet page and a vehicle-day's playback, at 360 px and
1280 px (screenshots to SHOTS), fed by the HTTP ingest of the running server."""

import re

import httpx
from playwright.sync_api import expect

from civicgrid.vehicles import service
from tests.e2e.conftest import DESK, PHONE
from tests.e2e.test_browser import (
    SHOTS,
    sign_in_with_keyboard,
    site,  # noqa: F401 - the fixture
)
from tests.factories import STREET_A
from tests.vehicles.test_motion import at


def a_vehicle_day(site_url, committed):
    with committed() as session:
        vehicle = service.create_vehicle(
            session, plate="黑A7777", type_code="sweeper", unit_code=STREET_A
        )
        token = service.create_tracker(
            session, terminal_id="phone-77", protocol="http", vehicle_id=vehicle.id
        ).token
        session.commit()
        vehicle_id = vehicle.id
    points = [at(t, 0) for t in range(0, 601, 60)]
    points += [at(660, 500, 30), at(720, 1000, 30), at(780, 1500, 30), at(840, 2000, 30)]
    points += [at(t, 2000) for t in range(900, 1501, 60)]
    body = [
        {"time": p.time.isoformat(), "lon": p.lon, "lat": p.lat, "speed": p.speed} for p in points
    ]
    r = httpx.post(f"{site_url}/api/v1/gps/fixes", json=body, headers={"X-Device-Token": token})
    assert r.json()["stored"] == len(points), r.text
    return vehicle_id


def test_fleet_and_playback_on_a_phone_and_a_desk(site, committed, browser):  # noqa: F811
    vehicle_id = a_vehicle_day(site, committed)
    for name, viewport in (("phone", PHONE), ("desk", DESK)):
        page = browser.new_page(viewport=viewport)
        sign_in_with_keyboard(page, site, "boss")
        page.goto(f"{site}/vehicles")
        expect(page.locator("#fleet")).to_contain_text("黑A7777")
        expect(page.locator("#fleet")).to_contain_text("清扫车")
        page.screenshot(path=str(SHOTS / f"{name}-vehicles.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.goto(f"{site}/vehicles/{vehicle_id}/playback?day=2026-11-29")
        # the summary, one trip (08:10–08:17) and two stops, with markers on the map
        expect(page.locator("#trips tbody tr")).to_have_count(1)
        expect(page.locator("#trips tbody")).to_contain_text("08:10:00")
        expect(page.locator("#stops tbody tr")).to_have_count(2)
        expect(page.locator("#summary")).to_contain_text("2.00 km")
        expect(page.locator("path.leaflet-interactive")).to_have_count(4)  # track, 2 stops, marker
        page.select_option("#factor", "20")
        before = page.locator("#clock").inner_text()
        page.click("#play")
        expect(page.locator("#clock")).not_to_have_text(before)
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / f"{name}-playback.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.close()


def test_a_bad_day_is_a_400_page(site, committed, browser):  # noqa: F811
    vehicle_id = a_vehicle_day(site, committed)
    page = browser.new_page(viewport=DESK)
    sign_in_with_keyboard(page, site, "boss")
    response = page.goto(f"{site}/vehicles/{vehicle_id}/playback?day=1999-01-01")
    assert response.status == 400
    page.close()


TOOLTIPS = """() => { const out = [];
  document.getElementById('map').cgMap.eachLayer(l => {
    if (l.getTooltip && l.getTooltip()) out.push(l.getTooltip().getContent()); });
  return out; }"""


def test_live_positions_on_the_command_screen_and_the_board(site, committed, browser):  # noqa: F811
    a_vehicle_day(site, committed)
    page = browser.new_page(viewport=DESK)
    sign_in_with_keyboard(page, site, "boss")
    for path in ("command", "board"):
        page.goto(f"{site}/{path}")
        labels = []
        for _ in range(100):  # the page's CSP allows no eval: poll from here
            labels = [t for t in page.evaluate(TOOLTIPS) if "黑A7777" in t]
            if labels:
                break
            page.wait_for_timeout(100)
        (label,) = labels
        assert "清扫车" in label and ("天前" in label or "小时前" in label or "分钟前" in label)
    page.close()


def test_an_administrator_draws_a_road_and_a_geofence_on_a_phone_and_a_desk(
    site,  # noqa: F811
    committed,
    browser,
):
    from sqlalchemy import select

    from civicgrid.vehicles.models import Geofence, Road

    for name, viewport in (("phone", PHONE), ("desk", DESK)):
        page = browser.new_page(viewport=viewport)
        sign_in_with_keyboard(page, site, "boss")
        page.goto(f"{site}/vehicles/places/road/new")
        # nothing drawn yet: the problems beside their fields, in words
        page.click("#place-form button[type=submit]")
        expect(page.locator("#err-code")).to_have_text("请填写编号")
        expect(page.locator("#err-geometry")).to_contain_text("请在地图上画出位置")
        expect(page.locator("#err-types")).to_contain_text("请至少选择一种车辆类型")
        page.screenshot(path=str(SHOTS / f"{name}-place-errors.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.fill("#f-code", f"R-{name}")
        page.fill("#f-name", "红旗大街")
        page.select_option("#f-unit", STREET_A)
        page.check("input[name=types][value=sweeper]")
        # three clicks along the road on the map write its line
        page.locator("#map").scroll_into_view_if_needed()
        box = page.locator("#map").bounding_box()
        for dx in (0.25, 0.5, 0.75):
            page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * 0.5)
        expect(page.locator("#f-geometry")).to_have_value(re.compile("LineString"))
        page.click("#undo")  # the last point taken back, and clicked again elsewhere
        page.locator("#map").scroll_into_view_if_needed()
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.3)
        expect(page.locator("#f-geometry")).to_have_value(re.compile(r"(\[[^\[\]]+\],?){3}\]"))
        drawn = page.input_value("#f-geometry")
        page.screenshot(path=str(SHOTS / f"{name}-place-road.png"), full_page=True)
        page.click("#place-form button[type=submit]")
        page.wait_for_url(f"{site}/vehicles/places?done=saved#roads")
        expect(page.locator("#roads")).to_contain_text(f"R-{name}")
        page.screenshot(path=str(SHOTS / f"{name}-places.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        with committed() as session:
            road = session.scalar(select(Road).where(Road.code == f"R-{name}"))
            import json

            assert road.coordinates == json.loads(drawn)["coordinates"]
            assert len(road.coordinates) == 3 and road.length_m > 0
        # a circle: its centre clicked, its radius typed
        page.goto(f"{site}/vehicles/places/geofence/new")
        page.fill("#f-code", f"G-{name}")
        page.fill("#f-name", "中央广场")
        page.select_option("#f-kind", "circle")
        page.fill("#f-distance", "120")
        page.locator("#map").scroll_into_view_if_needed()
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        expect(page.locator("#f-geometry")).to_have_value(re.compile('"Point"'))
        page.screenshot(path=str(SHOTS / f"{name}-place-circle.png"), full_page=True)
        page.click("#place-form button[type=submit]")
        page.wait_for_url(f"{site}/vehicles/places?done=saved#geofences")
        with committed() as session:
            fence = session.scalar(select(Geofence).where(Geofence.code == f"G-{name}"))
            assert fence.kind == "circle" and fence.distance_m == 120.0
        # deleted, after the question
        page.once("dialog", lambda d: d.accept())
        page.locator(f"tr[data-code='G-{name}'] button").click()
        page.wait_for_url(f"{site}/vehicles/places?done=deleted#geofences")
        expect(page.locator("#geofences")).not_to_contain_text(f"G-{name}")
        page.close()
    print("screenshots in", SHOTS)
