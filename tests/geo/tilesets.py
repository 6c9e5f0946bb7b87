"""Small raster tile sets made with Pillow for the base-map tests: plain tiles around a place,
with a red mark on the pixel where a WGS-84 point lies in the tiles' own datum (GCJ-02 shifts
it by a few hundred metres, as AMap's tiles do)."""

from __future__ import annotations

import io
import math
from pathlib import Path

from PIL import Image, ImageDraw

from civicgrid.geo import datum as datum_mod

TILE = 256
RED = (230, 20, 20)
BACKGROUND = (236, 232, 220)


def global_pixel(lon: float, lat: float, z: int) -> tuple[float, float]:
    """The point's pixel in the whole EPSG:3857 world at zoom z (256-pixel tiles)."""
    size = TILE * 2**z
    x = (lon + 180.0) / 360.0 * size
    rad = math.radians(lat)
    y = (1 - math.log(math.tan(rad) + 1 / math.cos(rad)) / math.pi) / 2 * size
    return x, y


def marked_tiles(
    folder: Path,
    lon: float,
    lat: float,
    *,
    datum: str,
    z: int = 16,
    around: tuple[int, int] = (4, 2),
    fmt: str = "png",
) -> tuple[int, int]:
    """Write z/x/y tiles around the WGS-84 point (lon, lat) with a 5×5 red mark centred on the
    pixel where the point lies on tiles of `datum`; returns that pixel (global, whole)."""
    tlon, tlat = datum_mod.from_wgs84(lon, lat, datum)
    px, py = global_pixel(tlon, tlat, z)
    mx, my = int(px), int(py)
    tx, ty = mx // TILE, my // TILE
    for x in range(tx - around[0], tx + around[0] + 1):
        for y in range(ty - around[1], ty + around[1] + 1):
            image = Image.new("RGB", (TILE, TILE), BACKGROUND)
            draw = ImageDraw.Draw(image)
            draw.rectangle([0, 0, TILE - 1, TILE - 1], outline=(210, 205, 190))
            lx, ly = mx - x * TILE, my - y * TILE
            draw.rectangle([lx - 2, ly - 2, lx + 2, ly + 2], fill=RED)
            out = folder / str(z) / str(x)
            out.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            image.save(buffer, "PNG" if fmt == "png" else "JPEG", quality=95)
            (out / f"{y}.{fmt}").write_bytes(buffer.getvalue())
    return mx, my


def red_centre(png: bytes) -> tuple[float, float] | None:
    """The centre of the red mark in a screenshot (pixel centres), or None."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    xs, ys = [], []
    width, height = image.size
    pixels = image.load()
    for y in range(height):
        for x in range(width):
            r, g, b = pixels[x, y]
            if r > 180 and g < 90 and b < 90:
                xs.append(x)
                ys.append(y)
    if not xs:
        return None
    return sum(xs) / len(xs) + 0.5, sum(ys) / len(ys) + 0.5
