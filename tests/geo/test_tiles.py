"""The local base map: a folder, a PMTiles and an MBTiles source served at /tiles/{z}/{x}/{y}
with cache headers and a declared 404; the tile settings (bd09 refused)."""

import io
import sqlite3

import pytest
from PIL import Image
from pydantic import ValidationError

from civicgrid.config import Settings, get_settings
from civicgrid.geo import tiles
from tests.geo.tilesets import RED, global_pixel, marked_tiles

LON, LAT = 126.7075, 45.7055  # in 东风1号网格


@pytest.fixture()
def tile_folder(tmp_path):
    folder = tmp_path / "tiles"
    mark = marked_tiles(folder, LON, LAT, datum="gcj02", around=(1, 1))
    return folder, mark


def _serve(monkeypatch, location) -> None:
    monkeypatch.setenv("CIVICGRID_TILE_LOCAL", str(location))
    get_settings.cache_clear()


def _source(tmp_path, folder, kind):
    if kind == "folder":
        return folder
    out = tmp_path / f"packed.{kind}"
    assert tiles.pack(folder, out) == 9
    return out


@pytest.mark.parametrize("kind", ["folder", "pmtiles", "mbtiles"])
def test_each_source_serves_its_tiles_with_cache_headers(
    client, tmp_path, monkeypatch, tile_folder, kind
):
    # Given tiles with a red mark, as a folder or packed into one file
    folder, (mx, my) = tile_folder
    _serve(monkeypatch, _source(tmp_path, folder, kind))
    z, x, y = 16, mx // 256, my // 256
    # When the map asks for the tile holding the mark
    r = client.get(f"/tiles/{z}/{x}/{y}")
    # Then it is the PNG with the mark on its pixel, kept a day, with an ETag
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "public, max-age=86400"
    image = Image.open(io.BytesIO(r.content)).convert("RGB")
    assert image.getpixel((mx % 256, my % 256)) == RED
    again = client.get(f"/tiles/{z}/{x}/{y}", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    # a tile the source lacks, or one outside the world: 404 as the API says, never cached
    for path in (f"/tiles/{z}/{x + 5}/{y}", "/tiles/3/8/0", "/tiles/15/0/0"):
        missing = client.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["cache-control"] == "no-store"
        assert missing.json()["message"]["en"].lower().startswith("no tile")


def test_without_a_local_source_tiles_are_404(client):
    r = client.get("/tiles/16/56000/23000")
    assert r.status_code == 404
    assert "no usable local tile source" in r.json()["message"]["en"].lower()


def test_an_unusable_source_answers_404_and_says_why_in_the_log(
    client, tmp_path, monkeypatch, caplog
):
    broken = tmp_path / "broken.pmtiles"
    broken.write_bytes(b"not a pmtiles archive at all" * 10)
    _serve(monkeypatch, broken)
    r = client.get("/tiles/16/56000/23000")
    assert r.status_code == 404
    assert "not a PMTiles archive" in caplog.text


def test_the_pages_draw_on_the_local_source_and_its_datum(client, tmp_path, monkeypatch):
    # Given a local source of GCJ-02 tiles
    folder = tmp_path / "t"
    marked_tiles(folder, LON, LAT, datum="gcj02", around=(0, 0))
    _serve(monkeypatch, folder)
    monkeypatch.setenv("CIVICGRID_TILE_DATUM", "gcj02")
    get_settings.cache_clear()
    # Then the report page's maps ask this site's /tiles/ and draw on GCJ-02
    page = client.get("/report").text
    assert '"tiles": "/tiles/{z}/{x}/{y}"' in page and '"datum": "gcj02"' in page


def test_tile_settings():
    # CGCS2000 (Tianditu) is drawn as WGS-84; Baidu's BD-09 is refused with its reason
    assert Settings(tile_datum="cgcs2000").map_datum() == "wgs84"
    assert Settings(tile_datum="gcj02").map_datum() == "gcj02"
    with pytest.raises(ValidationError, match="Baidu's tiles are not an EPSG:3857"):
        Settings(tile_datum="bd09")
    # a local source becomes the maps' tile URL unless another is set
    assert Settings(tile_local="/srv/tiles").tile_url == "/tiles/{z}/{x}/{y}"
    own = "https://t{s}.example.cn/{z}/{x}/{y}.png"
    assert Settings(tile_local="/srv/tiles", tile_url=own).tile_url == own


def test_a_source_of_vector_tiles_or_no_tiles_is_refused(tmp_path):
    mb = tmp_path / "vector.mbtiles"
    with sqlite3.connect(mb) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute("INSERT INTO metadata VALUES ('format', 'pbf')")
    with pytest.raises(tiles.TileSourceError, match="raster tiles are needed"):
        tiles.open_source(str(mb))
    with pytest.raises(tiles.TileSourceError, match="no such folder or file"):
        tiles.open_source(str(tmp_path / "missing.pmtiles"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(tiles.TileSourceError, match="no z/x/y tiles"):
        tiles.pack(tmp_path / "empty", tmp_path / "out.pmtiles")


def test_the_mark_is_where_mercator_puts_the_point():
    # the test's own projection agrees with a known value: (0, 0) is the world's centre
    assert global_pixel(0.0, 0.0, 1) == (256.0, 256.0)


def test_doctor_checks_the_local_tiles(session, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from civicgrid.cli import app as cli_app

    folder = tmp_path / "tiles"
    marked_tiles(folder, LON, LAT, datum="wgs84", around=(0, 0))
    _serve(monkeypatch, folder)
    result = CliRunner().invoke(cli_app, ["doctor"])
    assert "ok   local tiles:" in result.output  # (the console wraps the long path)
    _serve(monkeypatch, tmp_path / "nothing.mbtiles")
    result = CliRunner().invoke(cli_app, ["doctor"])
    assert result.exit_code == 1
    assert "local tiles unusable" in result.output
