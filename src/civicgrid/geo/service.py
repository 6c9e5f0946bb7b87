"""Geography (网格化管理): importing the area hierarchy, locating points, exporting GeoJSON."""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from civicgrid.geo import datum as datum_mod
from civicgrid.geo import queries as geo_queries
from civicgrid.geo.exceptions import AreaNotFound, GeoImportInvalid
from civicgrid.geo.index import Hit, index
from civicgrid.geo.models import LEVELS, Area
from civicgrid.kit.errors import BadRequest, Invalid
from civicgrid.org import queries as org_queries
from civicgrid.org import service as org_service

PARENT_LEVEL = {"street": "district", "community": "street", "grid": "community"}
ORG_KIND = {"district": "district", "street": "street", "community": "community"}
# Tolerance of the grid-inside-parent test, in degrees (about 1 cm): shared edges converted
# from another datum may differ in the last bits.
_EDGE_TOLERANCE = 1e-7


@dataclass
class ImportResult:
    created: int
    updated: int
    by_level: dict[str, int]


def _area_m2(geom) -> float:
    """Area in square metres by a local equirectangular projection (good to well under 1 %)."""
    lat0 = math.radians(geom.centroid.y)
    kx, ky = 111_320.0 * math.cos(lat0), 110_574.0

    def project(coords):
        coords = coords.copy()
        coords[:, 0] *= kx
        coords[:, 1] *= ky
        return coords

    return shapely.transform(geom, project).area


def _short_ring(geometry: dict) -> int | None:
    """The point count of the first ring with fewer than 4 positions, if any."""
    coords = geometry.get("coordinates")
    polygons = [coords] if geometry["type"] == "Polygon" else coords
    try:
        for polygon in polygons:
            for ring in polygon:
                if len(ring) < 4:
                    return len(ring)
    except TypeError:
        return 0
    return None


def problem(index: int | None, code: str | None, zh: str, en: str) -> dict:
    """One problem of an import file: `reason` in both languages (programs), `message` each
    apart (the admin page shows its own language)."""
    return {"index": index, "code": code, "reason": f"{zh} / {en}", "message": {"zh": zh, "en": en}}


def _parse_feature(i: int, feature, problems: list[dict]) -> dict | None:
    def bad(zh: str, en: str, code: str | None = None) -> None:
        problems.append(problem(i, code, zh, en))

    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        bad("不是 GeoJSON Feature", "not a GeoJSON Feature")
        return None
    props = feature.get("properties") or {}
    code = props.get("code")
    code = str(code).strip() if code is not None else ""
    if not code:
        bad("缺少 code", "missing code")
        return None
    level = props.get("level")
    if level not in LEVELS:
        bad(f"未知层级 level={level!r}", f"unknown level; use {', '.join(LEVELS)}", code)
        return None
    name = str(props.get("name") or "").strip()
    if not name:
        bad("缺少 name", "missing name", code)
        return None
    parent = props.get("parent")
    parent = str(parent).strip() if parent not in (None, "") else None
    if level != "district" and parent is None:
        bad("缺少 parent", "missing parent", code)
        return None
    try:
        datum = datum_mod.check_datum(props.get("datum") or "wgs84")
    except BadRequest:
        bad(f"未知坐标系 datum={props.get('datum')!r}", "unknown datum", code)
        return None
    responsible = props.get("responsible") or []
    if not isinstance(responsible, list) or not all(isinstance(u, str) for u in responsible):
        bad("responsible 应为用户名列表", "responsible must be a list of usernames", code)
        return None
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        bad(
            "几何必须是 Polygon 或 MultiPolygon", "geometry must be a Polygon or MultiPolygon", code
        )
        return None
    short = _short_ring(geometry)
    if short is not None:
        bad("多边形的环少于 4 个点", f"a ring has fewer than 4 points ({short})", code)
        return None
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        bad("几何无效 (少于 4 个点或坐标错误)", f"invalid geometry: {exc}", code)
        return None
    if geom.is_empty or not geom.is_valid:
        reason = explain_validity(geom) if not geom.is_empty else "empty"
        bad("多边形无效 (自相交等)", f"invalid polygon: {reason}", code)
        return None
    minx, miny, maxx, maxy = geom.bounds
    if not (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90):
        bad("坐标超出经纬度范围", "coordinates out of range", code)
        return None
    geom = datum_mod.shape_to_wgs84(geom, datum)
    return {
        "code": code,
        "level": level,
        "name": name,
        "parent": parent,
        "geom": geom,
        "responsible": responsible,
        "index": i,
    }


def import_geojson(session: Session, data) -> ImportResult:
    """Import a FeatureCollection of areas (reference/geo-format.md).

    The whole file is checked first; on any problem GeoImportInvalid lists them all and nothing
    is written. Existing codes are updated in place. Streets and communities (and the district)
    get an org unit of the same code when they have none. The caller commits, then rebuilds the
    point index (`refresh_index`).
    """
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise GeoImportInvalid(
            [
                {
                    "index": None,
                    "code": None,
                    "reason": "不是 FeatureCollection / not a FeatureCollection",
                }
            ]
        )
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise GeoImportInvalid(
            [{"index": None, "code": None, "reason": "没有 features / no features"}]
        )
    problems: list[dict] = []
    parsed: dict[str, dict] = {}
    for i, feature in enumerate(features):
        item = _parse_feature(i, feature, problems)
        if item is None:
            continue
        if item["code"] in parsed:
            problems.append(
                {
                    "index": i,
                    "code": item["code"],
                    "reason": f"编码重复 (与 #{parsed[item['code']]['index']}) / duplicate code",
                }
            )
            continue
        parsed[item["code"]] = item

    grown: dict[str, object] = {}

    def _grown(code: str, geom):
        """The parent widened by the edge tolerance, made once and prepared for many tests."""
        if code not in grown:
            grown[code] = geom.buffer(_EDGE_TOLERANCE)
            shapely.prepare(grown[code])
        return grown[code]

    existing = {a.code: a for a in session.scalars(select(Area))}
    for item in parsed.values():
        if item["level"] == "district":
            continue
        parent_code = item["parent"]
        want = PARENT_LEVEL[item["level"]]
        if parent_code in parsed:
            parent_level, parent_geom = parsed[parent_code]["level"], parsed[parent_code]["geom"]
        elif parent_code in existing:
            parent_level = existing[parent_code].level
            parent_geom = shape(existing[parent_code].geometry)
        else:
            problems.append(
                {
                    "index": item["index"],
                    "code": item["code"],
                    "reason": f"上级 {parent_code} 不存在 / parent {parent_code} not "
                    "found in the file or the database",
                }
            )
            continue
        if parent_level != want:
            problems.append(
                {
                    "index": item["index"],
                    "code": item["code"],
                    "reason": f"上级 {parent_code} 是 {parent_level}, 应为 {want} / "
                    f"parent must be a {want}",
                }
            )
            continue
        if item["level"] == "grid" and not _grown(parent_code, parent_geom).covers(item["geom"]):
            problems.append(
                {
                    "index": item["index"],
                    "code": item["code"],
                    "reason": f"网格超出上级 {parent_code} 的范围 / the grid lies "
                    "outside its parent",
                }
            )
    if problems:
        problems.sort(key=lambda p: (p["index"] is not None, p["index"] or 0))
        raise GeoImportInvalid(problems)

    created = updated = 0
    new_rows: list[dict] = []
    by_level = {lvl: 0 for lvl in LEVELS}
    order = sorted(parsed.values(), key=lambda it: LEVELS.index(it["level"]))
    for item in order:
        geom = item["geom"]
        area = existing.get(item["code"])
        values = {
            "level": item["level"],
            "name": item["name"],
            "parent_code": item["parent"],
            "geometry": mapping(geom),
            "wkb": shapely.to_wkb(geom),
            "responsible": item["responsible"],
            "area_m2": _area_m2(geom),
        }
        if area is None:
            new_rows.append({"code": item["code"], **values})
            created += 1
        else:
            for key, value in values.items():
                setattr(area, key, value)
            updated += 1
        by_level[item["level"]] += 1
        if item["level"] in ORG_KIND:
            org_service.ensure_unit(
                session,
                code=item["code"],
                name=item["name"],
                kind=ORG_KIND[item["level"]],
                parent_code=item["parent"] if item["level"] != "district" else None,
            )
    for i in range(0, len(new_rows), 2000):
        session.execute(insert(Area), new_rows[i : i + 2000])
    session.flush()
    return ImportResult(created=created, updated=updated, by_level=by_level)


def refresh_index(session: Session) -> None:
    """Rebuild the point-to-grid index from the database (after an import commits)."""
    index.rebuild(session)


def locate(session: Session, lon: float, lat: float, datum: str = "wgs84") -> dict:
    """Where a point lies: grid, community, street, district (None where outside), with the
    point in WGS-84. Raises BadRequest for an unknown datum or coordinates out of range."""
    wlon, wlat = datum_mod.to_wgs84(lon, lat, datum)
    index.ensure_fresh(session)
    found = index.locate(wlon, wlat)
    return {"lon": wlon, "lat": wlat, **found}


def responsible_usernames(found: dict[str, Hit | None]) -> list[str]:
    names: list[str] = []
    for level in ("grid", "community", "street"):
        hit = found.get(level)
        if hit is not None:
            names.extend(u for u in hit.responsible if u not in names)
    return names


MAX_RESPONSIBLE_AREAS = 2000


def set_responsible_areas(session: Session, username: str, codes: list[str]) -> list[str]:
    """Make `username` responsible for exactly these areas (grids mostly; a community or a
    street too): added to each one's `responsible` list, removed from the others'. Unknown
    codes are refused (BadRequest names them) and nothing changes. The grid index picks
    the change up (areas.updated_at). Returns the codes, sorted."""
    wanted = sorted(set(codes))
    if len(wanted) > MAX_RESPONSIBLE_AREAS:
        raise BadRequest(
            f"负责区域过多 (最多 {MAX_RESPONSIBLE_AREAS} 个)",
            f"too many areas (at most {MAX_RESPONSIBLE_AREAS})",
        )
    found = {a.code: a for a in session.scalars(select(Area).where(Area.code.in_(wanted)))}
    missing = [c for c in wanted if c not in found]
    if missing:
        shown = ", ".join(missing[:10])
        raise BadRequest(f"找不到区域: {shown}", f"no such area: {shown}")
    held = geo_queries.responsible_areas(session, [username]).get(username, [])
    for code in held:
        if code not in found:
            area = session.scalar(select(Area).where(Area.code == code))
            area.responsible = [u for u in area.responsible if u != username]
    for area in found.values():
        if username not in (area.responsible or []):
            area.responsible = [*(area.responsible or []), username]
    session.flush()
    return wanted


def get_area(session: Session, code: str) -> Area:
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise AreaNotFound(code)
    return area


def areas(session: Session, *, level: str | None = None, parent: str | None = None) -> list[Area]:
    query = select(Area).order_by(Area.code)
    if level:
        if level not in LEVELS:
            raise BadRequest(f"未知层级 {level}", f"unknown level {level}; use {', '.join(LEVELS)}")
        query = query.where(Area.level == level)
    if parent:
        query = query.where(Area.parent_code == parent)
    return list(session.scalars(query))


def export_geojson(
    session: Session,
    *,
    level: str | None = None,
    parent: str | None = None,
    datum: str = "wgs84",
    simplify: float = 0,
) -> dict:
    """Areas as a FeatureCollection in the import format (re-importable as it is, unless
    simplified for a map)."""
    datum = datum_mod.check_datum(datum)
    features = []
    for area in areas(session, level=level, parent=parent):
        geometry = area.geometry
        if simplify:
            geometry = mapping(shapely.simplify(shapely.from_wkb(area.wkb), simplify))
        if datum != "wgs84":
            geometry = datum_mod.convert_geometry(
                geometry, lambda lo, la: datum_mod.from_wgs84(lo, la, datum)
            )
        props = {
            "level": area.level,
            "code": area.code,
            "name": area.name,
            "datum": datum,
            "area_m2": round(area.area_m2, 1),
        }
        if area.parent_code:
            props["parent"] = area.parent_code
        if area.responsible:
            props["responsible"] = area.responsible
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return {"type": "FeatureCollection", "features": features}


def area_names(session: Session, codes: list[str]) -> dict[str, str]:
    """The name of each area among `codes` (codes not found are left out)."""
    return dict(session.execute(select(Area.code, Area.name).where(Area.code.in_(codes))).all())


# The map's detail layer (map.geojson): the box a request may ask for, in degrees a side.
MAP_BOX_MAX_DEGREES = 0.5
MAP_LEVELS = ("community", "grid")


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """`minlon,minlat,maxlon,maxlat` in WGS-84; Invalid (422) when it is not four finite
    numbers in range with min below max, BadRequest when it is wider than a map's detail."""
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise Invalid(
            "bbox 应为 最小经度,最小纬度,最大经度,最大纬度",
            "bbox must be minlon,minlat,maxlon,maxlat",
        )
    minx, miny, maxx, maxy = values
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise Invalid("bbox 超出范围或最小值不小于最大值", "bbox out of range or min not below max")
    if maxx - minx > MAP_BOX_MAX_DEGREES or maxy - miny > MAP_BOX_MAX_DEGREES:
        raise BadRequest(
            f"范围过大 (每边最多 {MAP_BOX_MAX_DEGREES}°), 请放大地图",
            f"the box is too large (at most {MAP_BOX_MAX_DEGREES}° a side); zoom in",
        )
    return minx, miny, maxx, maxy


def map_features(
    session: Session, bbox: tuple[float, float, float, float], *, levels=MAP_LEVELS
) -> list[dict]:
    """The communities and grids meeting a box, for a map at street or case zoom: outline
    (thinned to the box's scale), name, the responsible unit (a grid's community office, a
    community's own) and the responsible usernames, with a point inside each for its label."""
    index.ensure_fresh(session)
    box = shapely.box(*bbox)
    tolerance = (bbox[2] - bbox[0]) / 4000
    found = [(lvl, hit, geom) for lvl in levels for hit, geom in index.in_box(lvl, box)]
    unit_codes = {hit.code if lvl == "community" else hit.parent_code for lvl, hit, _ in found}
    units = org_queries.names_by_code(session, [c for c in unit_codes if c])
    features = []
    for level, hit, geom in found:
        unit_code = hit.code if level == "community" else hit.parent_code
        label = shapely.point_on_surface(geom)
        props = {
            "level": level,
            "code": hit.code,
            "name": hit.name,
            "unit": {"code": unit_code, "name": units[unit_code]} if unit_code in units else None,
            "label": [round(label.x, 7), round(label.y, 7)],
        }
        if hit.responsible:
            props["responsible"] = list(hit.responsible)
        geometry = mapping(shapely.simplify(geom, tolerance) if tolerance > 1e-6 else geom)
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return features
