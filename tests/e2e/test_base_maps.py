"""Base maps on a closed network, measured in pixels in Chromium: tiles from a local folder, a
PMTiles and an MBTiles file, made in WGS-84 (CGCS2000) and in GCJ-02 with a red mark where a
known WGS-84 point lies on them. On each, the point's overlays (a tap's pin, a searched place's
pin, a case's point) land on the mark, and the tap comes back as the WGS-84 point. A source
whose datum is set wrong is measured too: hundreds of pixels off, so the measure can fail.

The offsets are printed (pytest -s) and written to $CIVICGRID_MAP_OFFSETS when that is set."""

import json
import math
import os
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import expect

from civicgrid.config import get_settings
from civicgrid.geo import datum as datum_mod
from civicgrid.geo import gazetteer, tiles
from tests.conftest import live_server
from tests.e2e.conftest import DESK, PHONE
from tests.e2e.test_browser import sign_in_with_keyboard
from tests.factories import world
from tests.geo.tilesets import marked_tiles, red_centre

P = (126.6988839, 45.7029325)  # WGS-84, in 东风1号网格 (EX-01 of the examples)
ZOOM = 16
METRES_PER_PIXEL = 2 * math.pi * 6378137 * math.cos(math.radians(P[1])) / (256 * 2**ZOOM)
TOLERANCE_PX = 1.5
MEASURED: list[dict] = []

PANES = ", ".join(
    f"#map .leaflet-{p}-pane" for p in ("overlay", "marker", "shadow", "tooltip", "cgLabels")
)
HIDE = (
    f"hide => document.querySelectorAll('{PANES}, #map .leaflet-control-container')"
    ".forEach(e => { e.style.visibility = hide ? 'hidden' : ''; })"
)
# the tiles of the view loaded and faded in, the view's communities and grids drawn
SETTLED = """() => { const el = document.getElementById('map');
  const tiles = [...el.querySelectorAll('.leaflet-tile-loaded')];
  return el.dataset.tiles === 'loaded' && el.dataset.areas === 'drawn' && tiles.length > 0
    && tiles.every(t => getComputedStyle(t).opacity === '1'); }"""


@contextmanager
def tile_site(committed, tmp_path, monkeypatch, kind: str, tiles_datum: str, setting: str):
    folder = tmp_path / "tiles"
    marked_tiles(folder, *P, datum="wgs84" if tiles_datum == "cgcs2000" else tiles_datum)
    location = folder
    if kind != "folder":
        location = tmp_path / f"district.{kind}"
        tiles.pack(folder, location)
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("CIVICGRID_TILE_LOCAL", str(location))
    monkeypatch.setenv("CIVICGRID_TILE_DATUM", setting)
    get_settings.cache_clear()
    gcj = datum_mod.from_wgs84(*P, "gcj02")
    with committed() as session:
        world(session)
        # a landmark at the point, given in GCJ-02 as an AMap pick would give it
        line = f"示例小学,,{gcj[0]:.9f},{gcj[1]:.9f},gcj02\n"
        gazetteer.import_places(session, ("name,aliases,lon,lat,datum\n" + line).encode())
        session.commit()
    with live_server() as base:
        yield base


def settle_at(page, lon: float, lat: float) -> None:
    page.evaluate(
        """([lon, lat, z]) => { const el = document.getElementById('map');
            el.dataset.areas = 'asked';  // (tiles say "loading" at once when new ones are asked)
            el.cgMap.setView([lat, lon], z, {animate: false}); }""",
        [lon, lat, ZOOM],
    )
    page.wait_for_function(SETTLED)


def the_mark(page) -> tuple[float, float] | None:
    """Where the red mark is in the map's box, the overlays hidden."""
    page.evaluate(HIDE, True)
    shot = page.locator("#map").screenshot()
    page.evaluate(HIDE, False)
    return red_centre(shot)


def pin_point(page) -> tuple[float, float]:
    """The map point of the pin (Leaflet's marker: 25 × 41, anchored at its bottom middle)."""
    return tuple(
        page.evaluate(
            """() => { const box = document.getElementById('map').getBoundingClientRect();
                const r = document.querySelector('#map .leaflet-marker-pane img')
                  .getBoundingClientRect();
                return [r.left + 12 - box.left, r.top + 41 - box.top]; }"""
        )
    )


def offset(a, b) -> float:
    return round(math.hypot(a[0] - b[0], a[1] - b[1]), 2)


@pytest.mark.parametrize(
    ("kind", "tiles_datum", "setting"),
    [
        ("folder", "wgs84", "wgs84"),
        ("folder", "cgcs2000", "cgcs2000"),
        ("folder", "gcj02", "gcj02"),
        ("pmtiles", "wgs84", "wgs84"),
        ("pmtiles", "gcj02", "gcj02"),
        ("mbtiles", "wgs84", "wgs84"),
        ("mbtiles", "gcj02", "gcj02"),
    ],
)
def test_overlays_land_on_the_tiles_pixel(
    committed, browser, tmp_path, monkeypatch, kind, tiles_datum, setting
):
    with tile_site(committed, tmp_path, monkeypatch, kind, tiles_datum, setting) as site:
        page = browser.new_page(viewport=DESK)
        page.goto(f"{site}/report")
        page.wait_for_selector("#map[data-outlines=drawn]")
        # Given the report map at case zoom over the point, its tiles shown
        settle_at(page, *P)
        mark = the_mark(page)
        assert mark is not None, "the tiles' mark is not in view"
        # When the citizen taps the mark
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + mark[0], box["y"] + mark[1])
        expect(page.locator("#where")).to_contain_text("东风1号网格")
        expect(page.locator("#map path.cg-grid-focus")).to_have_count(1)
        # Then the place sent is the WGS-84 point, and the pin stands on the mark
        sent = (float(page.input_value("#lon")), float(page.input_value("#lat")))
        dx = (sent[0] - P[0]) * 111_320 * math.cos(math.radians(P[1]))
        tap_m = math.hypot(dx, (sent[1] - P[1]) * 110_574)
        tap_pin = offset(pin_point(page), mark)
        assert tap_m < TOLERANCE_PX * METRES_PER_PIXEL, tap_m
        assert tap_pin <= TOLERANCE_PX

        # When a place of the gazetteer (given in GCJ-02) is searched and chosen
        page.fill("#place-q", "示例小学")
        page.locator("#place-results button", has_text="示例小学").click()
        expect(page.locator("#where")).to_contain_text("东风1号网格")
        settle_at(page, *P)
        search_pin = offset(pin_point(page), the_mark(page))
        assert search_pin <= TOLERANCE_PX
        page.close()

        # And a case at the point: its circle on the case map at case zoom stands on the mark
        r = httpx.post(
            f"{site}/api/v1/citizen/reports",
            data={"category": "07001", "lon": str(P[0]), "lat": str(P[1])},
            timeout=30,
        )
        code = r.json()["code"]
        page = browser.new_page(viewport=DESK)
        sign_in_with_keyboard(page, site, "disp")
        page.goto(f"{site}/console/cases/{code}")
        page.wait_for_selector("#map[data-outlines=drawn]")
        settle_at(page, *P)
        mark = the_mark(page)
        circle = page.evaluate(
            """() => { const box = document.getElementById('map').getBoundingClientRect();
                const c = document.querySelector('#map path[stroke="#d93025"]')
                  .getBoundingClientRect();
                return [c.left + c.width / 2 - box.left, c.top + c.height / 2 - box.top]; }"""
        )
        case_point = offset(circle, mark)
        assert case_point <= TOLERANCE_PX
        # the case map also outlines the grids around the point, with their names
        expect(page.locator("#map .cg-area-grid", has_text="东风1号网格")).to_have_count(1)
        # and the grid holding the case, bold
        expect(page.locator("#map path.cg-grid-focus")).to_have_count(1)
        page.close()
    record(
        kind,
        tiles_datum,
        setting,
        tap_pin=tap_pin,
        tap_m=round(tap_m, 2),
        search_pin=search_pin,
        case_point=case_point,
    )


def test_a_wrong_datum_setting_is_seen_in_pixels(committed, browser, tmp_path, monkeypatch):
    # GCJ-02 tiles (AMap's) set as WGS-84: the overlays stand hundreds of metres off
    with tile_site(committed, tmp_path, monkeypatch, "folder", "gcj02", "wgs84") as site:
        page = browser.new_page(viewport=DESK)
        page.goto(f"{site}/report")
        page.wait_for_selector("#map[data-outlines=drawn]")
        settle_at(page, *P)
        mark = the_mark(page)
        where = page.evaluate(
            """([lon, lat]) => { const p = document.getElementById('map').cgMap
                .latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }""",
            list(P),
        )
        off = offset(where, mark) if mark else math.inf
        assert off > 50, off
        page.close()
    record("folder", "gcj02", "wgs84", point=off)


def record(kind, tiles_datum, setting, **offsets) -> None:
    row = {"source": kind, "tiles": tiles_datum, "setting": setting, **offsets}
    MEASURED.append(row)
    print("map offsets (px):", json.dumps(row, ensure_ascii=False))
    target = os.environ.get("CIVICGRID_MAP_OFFSETS")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def test_a_tap_at_district_zoom_zooms_to_the_place_and_names_it(
    committed, browser, tmp_path, monkeypatch
):
    with tile_site(committed, tmp_path, monkeypatch, "folder", "wgs84", "wgs84") as site:
        page = browser.new_page(viewport=PHONE)
        page.goto(f"{site}/report", wait_until="domcontentloaded")
        top = page.evaluate("document.getElementById('map').getBoundingClientRect().top + scrollY")
        page.wait_for_selector("#map[data-outlines=drawn]")
        page.wait_for_selector("#place-q")
        # the search box filled in above the map, which has not moved
        after = page.evaluate(
            "document.getElementById('map').getBoundingClientRect().top + scrollY"
        )
        assert after == top
        # When the citizen taps the district map
        page.locator("#map").scroll_into_view_if_needed()
        box = page.locator("#map").bounding_box()
        x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
        tapped = page.evaluate(
            """([x, y]) => { const m = document.getElementById('map').cgMap;
                const b = document.getElementById('map').getBoundingClientRect();
                const ll = m.containerPointToLatLng([x - b.left, y - b.top]);
                return [ll.lng, ll.lat, m.getZoom()]; }""",
            [x, y],
        )
        assert tapped[2] < 16
        page.mouse.click(x, y)
        # Then the map zooms in on the place, draws its grids and names the place
        page.wait_for_selector("#map[data-areas=drawn]")
        expect(page.locator("#where")).to_contain_text("东风街道")
        expect(page.locator("#map path.cg-grid-focus")).to_have_count(1)
        view = page.evaluate(
            """() => { const m = document.getElementById('map').cgMap, c = m.getCenter();
                return [c.lng, c.lat, m.getZoom()]; }"""
        )
        assert view[2] == 16
        # centred on the place sent, which is where the finger was (a pixel is ~13 m there)
        sent = (float(page.input_value("#lon")), float(page.input_value("#lat")))
        assert abs(view[0] - sent[0]) < 1e-6 and abs(view[1] - sent[1]) < 1e-6
        assert abs(sent[0] - tapped[0]) < 3e-4 and abs(sent[1] - tapped[1]) < 3e-4
        page.close()
