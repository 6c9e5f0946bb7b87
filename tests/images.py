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


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height pixels, with a tiny (invalid) image body:
    what a decompression bomb looks like before it is decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def big_png(width: int, height: int) -> bytes:
    """A real, highly compressible PNG of width × height (1-bit, so it fits in memory)."""
    img = Image.new("1", (width, height), 0)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def noisy_jpeg(width: int, height: int, seed: int = 1) -> bytes:
    """A JPEG of random pixels: it does not compress, so its size follows its pixels."""
    import random

    rnd = random.Random(seed)
    img = Image.frombytes("RGB", (width, height), rnd.randbytes(width * height * 3))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()
