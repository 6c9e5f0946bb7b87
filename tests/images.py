"""Real images made with Pillow for upload tests."""

import io

from PIL import Image


def jpeg(width: int = 64, height: int = 48, color=(200, 80, 40), exif_gps=None) -> bytes:
    img = Image.new("RGB", (width, height), color)
    buf = io.BytesIO()
    if exif_gps:
        lon, lat = exif_gps
        exif = Image.Exif()

        def dms(v):
            d = int(v)
            m = int((v - d) * 60)
            s = round(((v - d) * 60 - m) * 60 * 1000)
            return ((d, 1), (m, 1), (s, 1000))

        from PIL import TiffImagePlugin

        gps = {
            1: "N",
            2: tuple(TiffImagePlugin.IFDRational(*x) for x in dms(lat)),
            3: "E",
            4: tuple(TiffImagePlugin.IFDRational(*x) for x in dms(lon)),
        }
        exif[0x8825] = gps
        img.save(buf, "JPEG", exif=exif)
    else:
        img.save(buf, "JPEG")
    return buf.getvalue()


def png(width: int = 32, height: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()
