from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from civicgrid.auth import service as auth_service
from civicgrid.auth.deps import OptionalUser, require_roles
from civicgrid.config import get_settings
from civicgrid.geo import gazetteer, service, tiles
from civicgrid.geo.exceptions import GeoImportInvalid, NoTile
from civicgrid.geo.schemas import (
    AreaRead,
    FeatureCollection,
    FoundPlace,
    ImportResult,
    Located,
    PlacesImported,
)
from civicgrid.kit.errors import ErrorBody
from civicgrid.kit.guard import BodyLimit
from civicgrid.kit.http import DbSession
from civicgrid.org import service as org_service

log = logging.getLogger(__name__)
public_router = APIRouter(prefix="/api/v1/geo", tags=["geo"])
BODY_LIMITS = [
    BodyLimit(
        "POST",
        re.compile(r"/api/v1/geo/(places/)?import"),
        lambda: get_settings().geo_import_max_bytes,
    )
]
# The local base map (settings tile_local): public, cacheable, outside the API's no-store.
tiles_router = APIRouter(tags=["geo"])
TILE_CACHE = "public, max-age=86400"
router = APIRouter(prefix="/api/v1/geo", tags=["geo"])


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


def _hit(hit):
    return {"code": hit.code, "name": hit.name} if hit else None


def _responsible_people(session, found: dict, viewer) -> list[dict]:
    people = []
    for username in service.responsible_usernames(found):
        user = auth_service.get_user(session, username)
        if user is None:
            continue
        phones = org_service.visible_phones(
            user.person,
            viewer_unit_id=viewer.person.org_unit_id,
            viewer_is_admin=viewer.has_role("admin"),
        )
        people.append(
            {
                "username": username,
                "name": user.person.name,
                "title": user.person.title,
                "phones": phones,
            }
        )
    return people


@public_router.get("/locate", response_model=Located, response_model_exclude_unset=True)
def locate(
    session: DbSession,
    viewer: OptionalUser,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    datum: str = "wgs84",
) -> dict:
    """The grid, community and street holding a point. Signed-in staff also get the people
    responsible for it (username, name, title, phones as the directory shows them to the
    viewer); anonymous callers get the place only: no staff data."""
    found = service.locate(session, lon, lat, datum)
    inside = found["grid"] is not None or found["street"] is not None
    answer = {
        "inside": inside,
        "wgs84": {"lon": found["lon"], "lat": found["lat"]},
        "district": _hit(found["district"]),
        "street": _hit(found["street"]),
        "community": _hit(found["community"]),
        "grid": _hit(found["grid"]),
    }
    if viewer is not None:
        answer["responsible"] = _responsible_people(session, found, viewer)
    if not inside:
        zh, en = "该点不在辖区任何网格内", "The point is outside every grid of the district."
    elif found["grid"] is None:
        zh, en = (
            "该点在街道内但不在任何网格内",
            "The point is inside a street but outside every grid.",
        )
    else:
        return answer
    # `message` holds both languages for programs; `notice` each apart, for the pages
    answer["message"] = f"{zh} / {en}"
    answer["notice"] = {"zh": zh, "en": en}
    return answer


@public_router.get(
    "/areas.geojson", response_model=FeatureCollection, response_class=GeoJSONResponse
)
def areas_geojson(
    session: DbSession,
    viewer: OptionalUser,
    level: str | None = None,
    parent: str | None = None,
    datum: str = "wgs84",
    simplify: Annotated[float, Query(ge=0, le=0.01, description="tolerance, degrees")] = 0,
) -> JSONResponse:
    """Areas of one level (or all) as GeoJSON, in WGS-84 unless another datum is asked for;
    `simplify` thins the outlines for maps (a simplified file is not for re-import). The
    responsible usernames are for signed-in staff only."""
    data = service.export_geojson(
        session, level=level, parent=parent, datum=datum, simplify=simplify
    )
    if viewer is None:
        for feature in data["features"]:
            feature["properties"].pop("responsible", None)
    # returned as it is (35,000 features are not checked one by one against the model)
    return GeoJSONResponse(data)


@public_router.get("/areas", response_model=list[AreaRead], response_model_exclude_unset=True)
def areas(
    session: DbSession, viewer: OptionalUser, level: str | None = None, parent: str | None = None
) -> list[dict]:
    """Areas of one level (or all); the responsible usernames for signed-in staff only."""
    out = []
    for a in service.areas(session, level=level, parent=parent):
        item = {
            "code": a.code,
            "level": a.level,
            "name": a.name,
            "parent": a.parent_code,
            "area_m2": round(a.area_m2, 1),
        }
        if viewer is not None:
            item["responsible"] = a.responsible
        out.append(item)
    return out


@router.post("/import", response_model=ImportResult, dependencies=[Depends(require_roles("admin"))])
def import_file(session: DbSession, file: UploadFile) -> dict:
    """Import a GeoJSON file of areas; all or nothing (the problems are listed)."""
    raw = file.file.read()
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GeoImportInvalid(
            [service.problem(None, None, "不是有效的 JSON 文件", f"not valid JSON: {exc}")]
        ) from exc
    result = service.import_geojson(session, data)
    session.commit()
    service.refresh_index(session)
    return {"created": result.created, "updated": result.updated, "by_level": result.by_level}


@public_router.get("/map.geojson", response_model=FeatureCollection, response_class=GeoJSONResponse)
def map_geojson(
    session: DbSession,
    viewer: OptionalUser,
    bbox: Annotated[
        str,
        Query(
            max_length=200,
            description="minlon,minlat,maxlon,maxlat in WGS-84, at most 0.5° a side",
            examples=["126.69,45.70,126.71,45.71"],
        ),
    ],
) -> JSONResponse:
    """The communities and grids a map at street or case zoom shows: outlines (WGS-84), names,
    the responsible unit (社区居委会) and a point for the label. The responsible usernames are
    for signed-in staff only."""
    features = service.map_features(session, service.parse_bbox(bbox))
    if viewer is None:
        for feature in features:
            feature["properties"].pop("responsible", None)
    return GeoJSONResponse({"type": "FeatureCollection", "features": features})


@public_router.get("/places", response_model=list[FoundPlace])
def find_places(
    session: DbSession,
    q: Annotated[str, Query(max_length=60, description="a name, part of one, pinyin initials")],
    limit: Annotated[int, Query(ge=1, le=30)] = 10,
) -> list[dict]:
    """Streets, communities, grids and gazetteer places matching `q` (name, alias, pinyin
    initials, a mistyped name), best first, each with the WGS-84 point for the map's pin."""
    return gazetteer.search(session, q, limit)


@router.post(
    "/places/import",
    response_model=PlacesImported,
    dependencies=[Depends(require_roles("admin"))],
)
def import_places(session: DbSession, file: UploadFile) -> dict:
    """Replace the gazetteer with a CSV file (name, aliases, lon, lat, datum; UTF-8 or GB18030),
    all or nothing (the problems are listed by line)."""
    count = gazetteer.import_places(session, file.file.read())
    session.commit()
    return {"imported": count}


@tiles_router.get(
    "/tiles/{z}/{x}/{y}",
    response_class=Response,
    responses={
        200: {
            "description": "the tile (cached for a day)",
            "content": {m: {} for m in sorted(set(tiles.IMAGE_TYPES.values()))},
        },
        304: {"description": "not modified (If-None-Match)"},
        404: {
            "description": "no tile there, or no local tile source is set",
            "model": ErrorBody,
        },
    },
)
def tile(
    request: Request,
    z: Annotated[int, Path(ge=0, le=30)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    """A base-map tile of the local source (settings `tile_local`: a folder of z/x/y tiles, a
    PMTiles or an MBTiles file), XYZ in EPSG:3857."""
    location = get_settings().tile_local
    found = None
    if location and tiles.in_range(z, x, y):
        try:
            found = tiles.source_for(location).get(z, x, y)
        except tiles.TileSourceError as exc:  # the maps show their plain background
            log.error("local tiles unusable: %s", exc)
            location = None
    if found is None:
        # JSON as the API's refusals, small: a map asks for many tiles a source may lack
        missing = (
            NoTile("该瓦片不存在", f"no tile {z}/{x}/{y}")
            if location
            else NoTile("本服务没有可用的本地瓦片", "no usable local tile source on this server")
        )
        return JSONResponse(missing.body(), status_code=404)
    etag = '"' + hashlib.blake2b(found.data, digest_size=12).hexdigest() + '"'
    headers = {"Cache-Control": TILE_CACHE, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(found.data, media_type=found.media_type, headers=headers)
