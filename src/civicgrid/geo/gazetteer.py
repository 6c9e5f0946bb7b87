"""Finding a place by name (the report page's and the entry form's search box): streets,
communities and grids by their names, and the gazetteer (地名地址库) of addresses and
landmarks an administrator imports from a CSV file.

Matching, best first: the whole name, a name's start, a part of a name (names and aliases);
pinyin initials (东风街道 ← "dfjd", each reading of a polyphonic character); then fuzzy matching
(rapidfuzz) for a mistyped name (东风街到).
"""

from __future__ import annotations

import csv
import heapq
import io
import itertools
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import shapely
from rapidfuzz import fuzz, process
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from civicgrid.geo import datum as datum_mod
from civicgrid.geo.index import index as area_index
from civicgrid.geo.models import Place
from civicgrid.kit.errors import BadRequest, Invalid
from civicgrid.org import service as org_service

KINDS = ("street", "community", "grid", "place")
MAX_NAME = 100
ALIAS_SEPARATORS = re.compile(r"[|;；、]")
_ASCII_WORD = re.compile(r"^[a-z0-9]+$")


class PlacesImportInvalid(Invalid):
    """The gazetteer file has problems; nothing was written. `problems` lists each by line."""

    def __init__(self, problems: list[dict]):
        super().__init__(
            f"地名文件有 {len(problems)} 处错误, 未导入任何内容",
            f"the gazetteer file has {len(problems)} problem(s); nothing was imported",
            extra={"problems": problems[:200]},
        )
        self.problems = problems


def _problem(line: int | None, zh: str, en: str) -> dict:
    """One problem of the file; `index` is its line (the header is line 1)."""
    return {"index": line, "code": None, "reason": f"{zh} / {en}", "message": {"zh": zh, "en": en}}


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without a BOM) or GB18030, the two encodings a spreadsheet saves."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise PlacesImportInvalid(
            [_problem(None, "文件编码应为 UTF-8 或 GB18030", f"not UTF-8 nor GB18030: {exc}")]
        ) from exc


def parse_csv(raw: bytes) -> list[dict]:
    """The rows of a gazetteer CSV (columns name, aliases, lon, lat, datum; aliases separated by
    | ; or 、; datum wgs84, cgcs2000, gcj02 or bd09, wgs84 when empty), the points converted to
    WGS-84. PlacesImportInvalid lists every problem by line."""
    reader = csv.DictReader(io.StringIO(_decode(raw), newline=""))
    fields = [(f or "").strip().lower() for f in (reader.fieldnames or [])]
    missing = [f for f in ("name", "lon", "lat") if f not in fields]
    if missing:
        raise PlacesImportInvalid(
            [_problem(1, f"缺少列: {', '.join(missing)}", f"missing columns: {', '.join(missing)}")]
        )
    reader.fieldnames = fields
    rows: list[dict] = []
    problems: list[dict] = []
    for line, record in enumerate(reader, start=2):
        name = (record.get("name") or "").strip()
        if not name and not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue  # a blank line
        if not name or len(name) > MAX_NAME:
            problems.append(
                _problem(line, f"名称为空或超过 {MAX_NAME} 字", f"name empty or over {MAX_NAME}")
            )
            continue
        try:
            lon, lat = float(record.get("lon") or ""), float(record.get("lat") or "")
        except ValueError:
            problems.append(_problem(line, "经纬度不是数字", "lon and lat must be numbers"))
            continue
        datum = (record.get("datum") or "").strip().lower() or "wgs84"
        if datum == "cgcs2000":
            datum = "wgs84"
        try:
            wlon, wlat = datum_mod.to_wgs84(lon, lat, datum)
        except BadRequest as exc:
            problems.append(_problem(line, exc.zh, exc.en))
            continue
        aliases = [a.strip() for a in ALIAS_SEPARATORS.split(record.get("aliases") or "")]
        aliases = [a for a in aliases if a and a != name][:20]
        if any(len(a) > MAX_NAME for a in aliases):
            problems.append(_problem(line, "别名过长", f"an alias is over {MAX_NAME} characters"))
            continue
        rows.append({"name": name, "aliases": aliases, "lon": wlon, "lat": wlat})
    if problems:
        raise PlacesImportInvalid(problems)
    if not rows:
        raise PlacesImportInvalid([_problem(None, "文件中没有地名", "the file has no places")])
    return rows


def import_places(session: Session, raw: bytes) -> int:
    """Replace the gazetteer with the places of a CSV file (`parse_csv`), all or nothing: on any
    problem nothing changes. The caller commits. Returns the number of places."""
    rows = parse_csv(raw)
    session.execute(delete(Place))
    for i in range(0, len(rows), 2000):
        session.execute(insert(Place), rows[i : i + 2000])
    session.flush()
    return len(rows)


@lru_cache(maxsize=8192)
def _letters(char: str) -> tuple[str, ...]:
    return tuple(org_service.name_initials(char).split()) or ("",)


def _initials(name: str) -> str:
    """The pinyin initials of a name, each reading of a polyphonic character (at most 16
    spellings), space-separated: org.service.name_initials a character at a time, cached, so
    that tens of thousands of grid names take a second, not a minute."""
    spellings = itertools.islice(itertools.product(*(_letters(c) for c in name)), 16)
    return " ".join(sorted({"".join(s) for s in spellings}))


@dataclass(frozen=True)
class Entry:
    kind: str
    code: str | None
    name: str
    aliases: tuple[str, ...]
    lon: float
    lat: float

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.name.lower(), *(a.lower() for a in self.aliases))


class PlaceIndex:
    """The searchable names: the areas' (from the grid index) and the gazetteer's, rebuilt when
    either changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self.entries: list[Entry] = []
        self._keys: list[str] = []
        self._owner: list[int] = []
        self._initials: list[str] = []

    def _places_stamp(self, session: Session) -> tuple:
        count = select(func.count()).select_from(Place).scalar_subquery()
        latest = select(func.max(Place.imported_at)).scalar_subquery()
        return tuple(session.execute(select(count, latest)).one())

    def ensure_fresh(self, session: Session) -> None:
        area_index.ensure_fresh(session)
        stamp = (area_index.stamp, self._places_stamp(session))
        if stamp == self._stamp:
            return
        with self._lock:
            entries: list[Entry] = []
            for level in ("street", "community", "grid"):
                hits, geoms = area_index.level_shapes(level)
                if not hits:
                    continue
                points = shapely.point_on_surface(geoms)
                xs, ys = shapely.get_x(points), shapely.get_y(points)
                for hit, x, y in zip(hits, xs.tolist(), ys.tolist(), strict=True):
                    entries.append(Entry(level, hit.code, hit.name, (), x, y))
            for p in session.scalars(select(Place).order_by(Place.id)):
                entries.append(Entry("place", None, p.name, tuple(p.aliases or ()), p.lon, p.lat))
            keys, owner, initials = [], [], []
            for i, entry in enumerate(entries):
                for key in entry.keys:
                    keys.append(key)
                    owner.append(i)
                    initials.append(_initials(key))
            self.entries, self._keys, self._owner, self._initials = entries, keys, owner, initials
            self._stamp = stamp

    def search(self, query: str, limit: int = 10) -> list[tuple[Entry, float]]:
        """The best entries for `query` with their scores (100 the whole name), best first."""
        q = re.sub(r"\s+", "", query).lower()
        if not q:
            return []
        best: dict[int, float] = {}

        def offer(i: int, score: float) -> None:
            if score > best.get(i, 0):
                best[i] = score

        ascii_word = bool(_ASCII_WORD.match(q))
        word_start = " " + q
        for k, key in enumerate(self._keys):
            if q in key:
                offer(self._owner[k], 100 if key == q else 95 if key.startswith(q) else 90)
            elif ascii_word and q in self._initials[k]:
                # " dfjd dfjj": a spelling that starts with q, or q inside one
                offer(self._owner[k], 85 if word_start in " " + self._initials[k] else 75)
        if len(best) < limit and len(q) >= 2 and not ascii_word:
            for _, score, k in process.extract(
                q, self._keys, scorer=fuzz.partial_ratio, limit=limit * 3, score_cutoff=70
            ):
                offer(self._owner[k], min(score, 100) * 0.7)

        def rank(item: tuple[int, float]) -> tuple:
            entry = self.entries[item[0]]
            return (-item[1], KINDS.index(entry.kind), entry.name)

        return [(self.entries[i], score) for i, score in heapq.nsmallest(limit, best.items(), rank)]


place_index = PlaceIndex()


def search(session: Session, query: str, limit: int = 10) -> list[dict]:
    """Places matching `query`: each with its kind, name, code (areas), the WGS-84 point to put
    the pin on, and the street (and community) holding it."""
    place_index.ensure_fresh(session)
    out = []
    for entry, score in place_index.search(query, limit):
        found = area_index.locate(entry.lon, entry.lat)
        # the levels above the entry's own (a street names none, a grid its street, community)
        above = {"street": (), "community": ("street",)}.get(entry.kind, ("street", "community"))
        within = [found[level].name for level in above if found.get(level) is not None]
        out.append(
            {
                "kind": entry.kind,
                "code": entry.code,
                "name": entry.name,
                "aliases": list(entry.aliases),
                "lon": round(entry.lon, 7),
                "lat": round(entry.lat, 7),
                "within": " ".join(within),
                "score": round(score, 1),
            }
        )
    return out
