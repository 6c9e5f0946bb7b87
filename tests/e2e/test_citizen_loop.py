"""The citizen's loop on a 360 px phone in Debian's Chromium: a case already reported nearby
is offered and followed ("我也遇到这个问题"); the required fields are marked and explained
before sending; a 4 MB photo (a real JPEG made by Pillow, turned by its EXIF orientation) is
scaled in the browser before upload; the answer gives the code, a copy button and a QR code;
"我的上报" is still there after the page is opened again. The page's weight is measured."""

import io
import re
import tempfile
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from civicgrid.config import get_settings
from tests.conftest import live_server
from tests.e2e.conftest import DESK, PHONE
from tests.factories import POINT_A, world

SHOTS = Path(tempfile.mkdtemp(prefix="civicgrid-citizen-shots-"))
# where the map is on the page (not on the screen, which scrolls), and its size
PLACE_OF_MAP = """() => { const r = document.getElementById('map').getBoundingClientRect();
    return [r.left + scrollX, r.top + scrollY, r.width, r.height]; }"""
NEAR = (POINT_A[0] + 0.0002, POINT_A[1])  # about 16 m east of the first report


@pytest.fixture()
def site(committed, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("CIVICGRID_REPORT_REQUIRES", "photo_or_words,place")  # the default
    get_settings.cache_clear()
    with committed() as session:
        world(session)
        session.commit()
    with live_server() as base:
        yield base


def big_photo(path) -> int:
    """A 4000 x 3000 photo-like JPEG of about 4 MB (gradients, waves, sensor noise) whose EXIF
    orientation (6) says: turn it a quarter clockwise, so it shows 3000 x 4000."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:3000, 0:4000]
    base = np.stack([x / 4000 * 200 + 30, y / 3000 * 180 + 40, (x + y) / 7000 * 150 + 60], -1)
    base += (np.sin(x / 37.0) * np.cos(y / 53.0) * 40)[..., None]
    pixels = np.clip(base + rng.normal(0, 8, (3000, 4000, 1)), 0, 255).astype("uint8")
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=90, exif=exif)
    path.write_bytes(buf.getvalue())
    return len(buf.getvalue())


def tap(page, lon: float, lat: float) -> None:
    """Centre the map on the point (WGS-84) and tap it, as a finger would."""
    page.evaluate(
        "([lat, lon]) => document.getElementById('map').cgMap"
        ".setView([lat, lon], 17, {animate: false})",
        [lat, lon],
    )
    point = page.evaluate(
        "([lat, lon]) => document.getElementById('map').cgMap.latLngToContainerPoint([lat, lon])",
        [lat, lon],
    )
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def test_the_citizens_loop_on_a_phone(site, browser, tmp_path):
    # Given a citizen's report already open at POINT_A
    first = httpx.post(
        f"{site}/api/v1/citizen/reports",
        data={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], "description": "垃圾"},
        timeout=30,
    )
    assert first.status_code == 201, first.text
    first_code = first.json()["code"]
    photo = tmp_path / "big.jpg"
    size = big_photo(photo)
    assert 3_500_000 < size < 4_500_000

    context = browser.new_context(viewport=PHONE)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()
    page.goto(f"{site}/report")
    page.wait_for_load_state("networkidle")
    weight = page.evaluate("""() => performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'))
        .reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0)""")
    print(f"/report weighs {weight} bytes transferred before photos")
    assert weight <= 150 * 1024, f"the report page weighs {weight} bytes"

    # The required fields are marked, and explained before sending
    expect(page.locator("label[for=photos] abbr.req")).to_have_count(1)
    expect(page.locator("label[for=description] abbr.req")).to_have_count(1)
    expect(page.locator("#needs")).to_contain_text("照片或问题描述")
    page.fill("#cat-search", "bllj")  # 暴露垃圾
    page.get_by_role("option", name="暴露垃圾").click()
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#message")).to_contain_text("还缺少")
    expect(page.locator("#description")).to_have_attribute("aria-invalid", "true")
    map_box = page.evaluate(PLACE_OF_MAP)  # (the category's choices above it are settled)

    # When the citizen taps 16 m from the open case, it is offered on the map and below it
    tap(page, *NEAR)
    expect(page.locator("#nearby")).to_have_attribute("data-state", "shown")
    item = page.locator(f"#nearby-list li[data-code='{first_code}']")
    expect(item).to_contain_text(re.compile(r"· 1[4-8] 米"))  # a pixel is a metre here
    assert page.locator("#map .leaflet-interactive").count() >= 1  # its circle
    assert page.evaluate(PLACE_OF_MAP) == map_box  # the list is below: the map did not move
    # and "我也遇到这个问题" with a phone counts the citizen on that case
    item.get_by_role("button", name="我也遇到这个问题").click()
    item.locator("input[type=tel]").fill("13700001111")
    item.get_by_role("button", name="确认").click()
    expect(item).to_contain_text("已记录, 共 1 人反映")
    page.screenshot(path=str(SHOTS / "report-nearby-phone.png"), full_page=True)
    found = httpx.get(
        f"{site}/api/v1/citizen/nearby", params={"lon": NEAR[0], "lat": NEAR[1]}
    ).json()
    assert found[0]["followers"] == 1

    # A 4 MB photo is previewed and scaled in the browser, upright, before upload
    page.set_input_files("#photos", str(photo))
    expect(page.locator("#photo-preview")).to_have_attribute("data-state", "ready")
    figure = page.locator("#photo-preview figure")
    scaled = int(figure.get_attribute("data-bytes"))
    print(f"photo {size} bytes scaled to {scaled} bytes")
    assert (figure.get_attribute("data-width"), figure.get_attribute("data-height")) == (
        "1920",
        "2560",
    )
    assert 250_000 < scaled < 900_000
    expect(figure.locator("figcaption")).to_contain_text("已压缩")
    page.fill("#description", "这里也有一堆垃圾")
    with page.expect_request("**/api/v1/citizen/reports") as sent:
        page.get_by_role("button", name="提交").click()
    body = int(sent.value.all_headers()["content-length"])  # the upload: the scaled photo
    assert scaled < body < scaled + 20_000

    # The answer keeps the case: its code, a QR code of the link, a copy button
    expect(page.locator("#done")).to_be_visible()
    code = page.locator("#done-code").inner_text()
    link = page.locator("#done-link").inner_text()
    assert code.startswith("XF") and link.startswith(f"{site}/track/{code}?s=")
    qr = page.locator("#done-qr")
    expect(qr).to_have_attribute("src", f"/track/{code}/qr.svg?s={link.split('?s=')[1]}")
    page.wait_for_function("() => document.getElementById('done-qr').complete")
    assert page.evaluate("document.getElementById('done-qr').naturalWidth") > 100
    page.get_by_role("button", name="复制链接").click()
    expect(page.locator("#done-copied")).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == link
    # the server kept the scaled photo, upright
    stored = httpx.get(f"{site}/api/v1/citizen/cases/{code}", params={"s": link.split("?s=")[1]})
    [photo_url] = [p["url"] for p in stored.json()["photos"]]
    kept = Image.open(io.BytesIO(httpx.get(f"{site}{photo_url}").content))
    assert kept.height > kept.width
    page.screenshot(path=str(SHOTS / "report-done-phone.png"), full_page=True)

    # "我的上报": opened again on this phone, the page lists the report and the followed case
    page.close()
    again = context.new_page()
    again.goto(f"{site}/report")
    expect(again.locator("#mine")).to_be_visible()
    expect(again.locator(f"#mine-list li[data-code='{code}'] a")).to_have_attribute(
        "href", link.removeprefix(site)
    )
    expect(again.locator(f"#mine-list li[data-code='{first_code}']")).to_contain_text("已关注")
    # and the nearby case it followed is not offered to follow again
    again.fill("#cat-search", "bllj")
    tap(again, *NEAR)
    expect(again.locator("#nearby")).to_have_attribute("data-state", "shown")
    followed = again.locator(f"#nearby-list li[data-code='{first_code}']")
    expect(followed).to_contain_text("已关注")
    expect(followed.get_by_role("button", name="我也遇到这个问题")).to_have_count(0)
    again.screenshot(path=str(SHOTS / "report-mine-phone.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["phone", "desk"])
def test_the_public_map_of_reports(site, browser, viewport):
    for point in (POINT_A, NEAR):
        r = httpx.post(
            f"{site}/api/v1/citizen/reports",
            data={"category": "06010", "lon": point[0], "lat": point[1], "description": "垃圾"},
            timeout=30,
        )
        assert r.status_code == 201, r.text
    page = browser.new_page(viewport=viewport)
    page.goto(f"{site}/reports")
    expect(page.locator("#map")).to_have_attribute("data-points", "2")
    expect(page.locator("#report-list li[data-code]")).to_have_count(2)
    assert page.locator("#map .leaflet-interactive").count() >= 2
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.select_option("select[name=street]", label="东风街道")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("link[type='application/atom+xml']")).to_have_count(1)
    expect(page.locator("#report-list li[data-code]")).to_have_count(2)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"reports-{viewport['width']}.png"), full_page=True)
    code = page.locator("#report-list li[data-code] a").first.inner_text()
    page.locator("#report-list li[data-code] a").first.click()
    expect(page.locator("#public-case h1")).to_have_text(code)
    expect(page.locator("#timeline")).to_contain_text("已派遣")
    page.close()
