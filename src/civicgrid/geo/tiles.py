"""Local base-map tiles for closed networks, served by the app at /tiles/{z}/{x}/{y}.

A source is one of: a folder of XYZ tiles (`z/x/y.png`, `.jpg`, `.jpeg` or `.webp`), a PMTiles
archive (read with the `pmtiles` library) or an MBTiles file (SQLite, rows in TMS order: y
counted from the south). Raster tiles only: Leaflet draws images. The tiles are EPSG:3857; their
datum is the setting `tile_datum`, and the pages draw every overlay on it (static/js/map.js).
"""

from __future__ import annotations

import gzip
import sqlite3
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType

IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
_PMTILES_TYPES = {
    TileType.PNG: "image/png",
    TileType.JPEG: "image/jpeg",
    TileType.WEBP: "image/webp",
}


class TileSourceError(ValueError):
    """The configured source cannot serve raster tiles (missing, vector tiles, unreadable)."""


@dataclass(frozen=True)
class Tile:
    data: bytes
    media_type: str


def _sniff(data: bytes) -> str | None:
    """The image type of tile bytes by their magic number."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def in_range(z: int, x: int, y: int) -> bool:
    return 0 <= z <= 30 and 0 <= x < 2**z and 0 <= y < 2**z


class TileSource(ABC):
    """Raster tiles by XYZ address (y from the north, as Leaflet asks)."""

    @abstractmethod
    def get(self, z: int, x: int, y: int) -> Tile | None:
        """The tile, or None when the source has none there."""

    def close(self) -> None:  # noqa: B027 (most sources hold nothing open)
        pass


class FolderSource(TileSource):
    def __init__(self, root: Path):
        self.root = root.resolve()

    def get(self, z: int, x: int, y: int) -> Tile | None:
        for ext, media_type in IMAGE_TYPES.items():
            path = self.root / str(z) / str(x) / f"{y}.{ext}"
            if path.is_file():
                return Tile(path.read_bytes(), media_type)
        return None


class PMTilesSource(TileSource):
    def __init__(self, path: Path):
        self._file = path.open("rb")
        try:
            self._reader = Reader(MmapSource(self._file))
            header = self._reader.header()
        except Exception as exc:  # the library raises its own errors for a file not PMTiles
            self._file.close()
            raise TileSourceError(f"{path}: not a PMTiles archive ({exc})") from exc
        self.media_type = _PMTILES_TYPES.get(header["tile_type"])
        if self.media_type is None:
            self._file.close()
            raise TileSourceError(
                f"{path}: tiles of type {header['tile_type'].name}; raster tiles "
                "(PNG, JPEG, WebP) are needed"
            )
        self._gzip = header["tile_compression"] == Compression.GZIP

    def get(self, z: int, x: int, y: int) -> Tile | None:
        data = self._reader.get(z, x, y)
        if not data:
            return None
        data = bytes(data)
        return Tile(gzip.decompress(data) if self._gzip else data, self.media_type)

    def close(self) -> None:
        self._file.close()


class MBTilesSource(TileSource):
    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()  # a connection per thread (sqlite3's rule)
        try:
            rows = dict(self._db().execute("SELECT name, value FROM metadata").fetchall())
        except sqlite3.DatabaseError as exc:
            raise TileSourceError(f"{path}: not an MBTiles file ({exc})") from exc
        fmt = str(rows.get("format", "png")).lower()
        if fmt not in IMAGE_TYPES:
            raise TileSourceError(f"{path}: tiles of format {fmt}; raster tiles are needed")
        self.media_type = IMAGE_TYPES[fmt]

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.conn = conn
        return conn

    def get(self, z: int, x: int, y: int) -> Tile | None:
        row = (
            self._db()
            .execute(
                "SELECT tile_data FROM tiles"
                " WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (z, x, (1 << z) - 1 - y),
            )
            .fetchone()
        )
        if row is None or not row[0]:
            return None
        data = bytes(row[0])
        return Tile(data, _sniff(data) or self.media_type)


def open_source(location: str) -> TileSource:
    """The source at `location`: a folder, a .pmtiles or a .mbtiles file. TileSourceError
    names what is wrong with it."""
    path = Path(location).expanduser()
    if path.is_dir():
        return FolderSource(path)
    if not path.is_file():
        raise TileSourceError(f"{path}: no such folder or file")
    suffix = path.suffix.lower()
    if suffix == ".pmtiles":
        return PMTilesSource(path)
    if suffix == ".mbtiles":
        return MBTilesSource(path)
    raise TileSourceError(f"{path}: a folder, a .pmtiles or a .mbtiles file is needed")


@lru_cache(maxsize=4)
def source_for(location: str) -> TileSource:
    """One open source per location for the process."""
    return open_source(location)


def pack(folder: Path, out: Path) -> int:
    """A folder of z/x/y tiles written as one .pmtiles or .mbtiles file (what `civicgrid
    tiles-pack` does); returns the number of tiles. All the folder's tiles must be of one image
    type."""
    from pmtiles.tile import zxy_to_tileid
    from pmtiles.writer import write

    source = FolderSource(folder)
    found: list[tuple[int, int, int, Path]] = []
    for path in source.root.glob("*/*/*"):
        z, x, name = path.parent.parent.name, path.parent.name, path.stem
        ext = path.suffix.lower().lstrip(".")
        if ext in IMAGE_TYPES and z.isdigit() and x.isdigit() and name.isdigit():
            found.append((int(z), int(x), int(name), path))
    if not found:
        raise TileSourceError(f"{folder}: no z/x/y tiles found")
    types = {IMAGE_TYPES[p.suffix.lower().lstrip(".")] for *_, p in found}
    if len(types) > 1:
        raise TileSourceError(f"{folder}: tiles of several types ({', '.join(sorted(types))})")
    media_type = types.pop()
    zooms = [z for z, *_ in found]
    if out.suffix.lower() == ".mbtiles":
        out.unlink(missing_ok=True)
        conn = sqlite3.connect(out)
        with conn:
            conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
            conn.execute(
                "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
                "tile_data BLOB, PRIMARY KEY (zoom_level, tile_column, tile_row))"
            )
            fmt = {v: k for k, v in IMAGE_TYPES.items() if k != "jpeg"}[media_type]
            conn.executemany(
                "INSERT INTO metadata VALUES (?, ?)",
                [
                    ("name", folder.name),
                    ("format", fmt),
                    ("minzoom", str(min(zooms))),
                    ("maxzoom", str(max(zooms))),
                ],
            )
            conn.executemany(
                "INSERT INTO tiles VALUES (?, ?, ?, ?)",
                [(z, x, (1 << z) - 1 - y, p.read_bytes()) for z, x, y, p in found],
            )
        conn.close()
        return len(found)
    if out.suffix.lower() != ".pmtiles":
        raise TileSourceError(f"{out}: the output must be a .pmtiles or .mbtiles file")
    tile_type = {v: k for k, v in _PMTILES_TYPES.items()}[media_type]
    found.sort(key=lambda t: zxy_to_tileid(t[0], t[1], t[2]))
    with write(str(out)) as writer:
        for z, x, y, path in found:
            writer.write_tile(zxy_to_tileid(z, x, y), path.read_bytes())
        writer.finalize(
            {
                "tile_type": tile_type,
                "tile_compression": Compression.NONE,
                "min_zoom": min(zooms),
                "max_zoom": max(zooms),
                "min_lon_e7": -1800000000,
                "min_lat_e7": -850000000,
                "max_lon_e7": 1800000000,
                "max_lat_e7": 850000000,
                "center_zoom": min(zooms),
                "center_lon_e7": 0,
                "center_lat_e7": 0,
            },
            {"name": folder.name},
        )
    return len(found)
