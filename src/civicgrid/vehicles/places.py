"""The administrators' forms for the places of sanitation work: collection points, roads and
geofences (the pages' side of coverage.py and geofences.py). A form's values are checked here
field by field, each problem named as a word of the page (vehicles_err_*), so that the page
shows it beside its field in words a clerk understands; only then is anything written."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from shapely import LineString, Polygon
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.config import get_settings
from civicgrid.org import queries as org_queries
from civicgrid.vehicles import coverage, geofences, service
from civicgrid.vehicles.models import (
    GEOFENCE_KINDS,
    RULES,
    CollectionCheck,
    CollectionPoint,
    Geofence,
    Road,
    Vehicle,
    VehicleType,
)

KINDS = ("point", "road", "geofence")
CODE_MAX, NAME_MAX, GEOJSON_MAX = 32, 100, 60_000  # a request is at most 64 KB (kit.guard)
# the geometry each form (and each geofence kind) takes
SHAPES = {"point": "Point", "road": "LineString", "polygon": "Polygon", "circle": "Point"}
SHAPES["line"] = "LineString"
# the fields the forms send (types: the road's vehicle types, several)
FORM_FIELDS = ("code", "name", "geometry", "rule", "plates", "unit", "kind", "distance_m")


@dataclass
class Checked:
    """A form's values as entered (to show again) and the problems, by field: a word key."""

    values: dict
    errors: dict[str, str] = field(default_factory=dict)
    coordinates: list[list[float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def geometry_of(text: str) -> tuple[str, list] | None:
    """(GeoJSON type, coordinates) of a geometry, a Feature or a collection of one feature;
    None when the text is not such GeoJSON."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features")
        data = features[0] if isinstance(features, list) and len(features) == 1 else None
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return None
    return data["type"], data.get("coordinates")


def _pairs(coords) -> list[list[float]] | None:
    """[[lon, lat], ...] with every pair two finite numbers in WGS-84's range, else None."""
    if not isinstance(coords, list):
        return None
    out = []
    for pair in coords:
        if not isinstance(pair, list) or len(pair) < 2:
            return None
        lon, lat = pair[0], pair[1]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)):
            return None
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            return None
        out.append([float(lon), float(lat)])
    return out


def _coordinates(text: str, shape: str, errors: dict) -> list[list[float]]:
    """The form's drawn or pasted geometry as [[lon, lat], ...] for the wanted shape."""
    if not text.strip():
        errors["geometry"] = "err_geometry_missing"
        return []
    if len(text) > GEOJSON_MAX:
        errors["geometry"] = "err_geometry_large"
        return []
    found = geometry_of(text)
    if found is None:
        errors["geometry"] = "err_geojson"
        return []
    kind, coords = found
    if kind != shape:
        errors["geometry"] = f"err_shape_{shape.lower()}"
        return []
    if shape == "Point":
        pairs = _pairs([coords])
    elif shape == "Polygon":
        pairs = _pairs(coords[0]) if isinstance(coords, list) and coords else None
        if pairs and len(pairs) > 1 and pairs[0] == pairs[-1]:
            pairs = pairs[:-1]  # GeoJSON closes the ring; the table keeps it open
    else:
        pairs = _pairs(coords)
    if pairs is None:
        errors["geometry"] = "err_coordinates"
        return []
    least = {"Point": 1, "LineString": 2, "Polygon": 3}[shape]
    if len(pairs) < least:
        errors["geometry"] = f"err_few_{shape.lower()}"
        return []
    if shape == "Polygon" and not Polygon(coverage.project([tuple(p) for p in pairs])).is_valid:
        errors["geometry"] = "err_self_crossing"
    if (
        shape == "LineString"
        and LineString(coverage.project([tuple(p) for p in pairs])).length == 0
    ):
        errors["geometry"] = "err_few_linestring"
    return pairs


def _text(values: dict, name: str, limit: int, errors: dict, *, missing: str) -> str:
    value = (values.get(name) or "").strip()
    if not value:
        errors[name] = missing
    elif len(value) > limit:
        errors[name] = f"err_{name}_long"
    return value


def _code(session: Session, model, values: dict, errors: dict, editing) -> str:
    if editing is not None:
        return editing.code  # a code names its place in checks and cases: it stays
    code = _text(values, "code", CODE_MAX, errors, missing="err_code_missing")
    if code and session.scalar(select(model.id).where(model.code == code)):
        errors["code"] = "err_code_taken"
    return code


def check(session: Session, kind: str, values: dict, editing=None) -> Checked:
    """Check a form of `kind` (point, road, geofence): values as the form sent them."""
    out = Checked(values=dict(values))
    errors = out.errors
    model = {"point": CollectionPoint, "road": Road, "geofence": Geofence}[kind]
    out.values["code"] = _code(session, model, values, errors, editing)
    out.values["name"] = _text(values, "name", NAME_MAX, errors, missing="err_name_missing")
    shape_key = kind
    if kind == "point":
        if values.get("rule") not in RULES:
            errors["rule"] = "err_rule"
        plates = [p.strip() for p in (values.get("plates") or "").replace("，", ",").split(",")]
        plates = [p for p in plates if p]
        known = set(session.scalars(select(Vehicle.plate).where(Vehicle.plate.in_(plates))))
        unknown = [p for p in plates if p not in known]
        if unknown:
            errors["plates"] = "err_plates"
            out.values["unknown_plates"] = "、".join(unknown)
        out.values["plate_list"] = plates
    elif kind == "road":
        unit = (values.get("unit") or "").strip()
        if not unit or unit not in org_queries.units_by_code(session, [unit]):
            errors["unit"] = "err_unit"
        types = values.get("types") or []
        known = set(session.scalars(select(VehicleType.code).where(VehicleType.code.in_(types))))
        if not types:
            errors["types"] = "err_types_missing"
        elif set(types) - known:
            errors["types"] = "err_types"
    else:
        fence_kind = values.get("kind")
        if fence_kind not in GEOFENCE_KINDS:
            errors["kind"] = "err_kind"
            fence_kind = None
        shape_key = fence_kind
        distance = (values.get("distance_m") or "").strip()
        number = None
        if distance:
            try:
                number = float(distance)
            except ValueError:
                number = None
            if number is None or not math.isfinite(number) or not 0 < number <= 100_000:
                errors["distance_m"] = "err_distance"
                number = None
        elif fence_kind == "circle":
            errors["distance_m"] = "err_radius_missing"
        out.values["distance"] = number
    if shape_key is not None:
        out.coordinates = _coordinates(values.get("geometry") or "", SHAPES[shape_key], errors)
    return out


def save(session: Session, kind: str, checked: Checked, editing=None):
    """Write a checked form: a new place, or the one being edited changed."""
    v, coords = checked.values, checked.coordinates
    if kind == "point":
        if editing is None:
            return coverage.create_point(
                session,
                code=v["code"],
                name=v["name"],
                lon=coords[0][0],
                lat=coords[0][1],
                rule=v["rule"],
                plates=v["plate_list"],
            )
        editing.name, editing.rule = v["name"], v["rule"]
        editing.lon, editing.lat = coords[0]
        editing.vehicles = [service.vehicle_by_plate(session, p) for p in v["plate_list"]]
    elif kind == "road":
        if editing is None:
            return coverage.create_road(
                session,
                code=v["code"],
                name=v["name"],
                unit_code=v["unit"],
                coordinates=coords,
                type_codes=v["types"],
            )
        editing.name = v["name"]
        editing.org_unit_id = org_queries.units_by_code(session, [v["unit"]])[v["unit"]].id
        editing.coordinates = coords
        editing.length_m = LineString(coverage.project([tuple(c) for c in coords])).length
        editing.types = [service.get_type(session, t) for t in v["types"]]
    else:
        distance = v["distance"]
        if editing is None:
            return geofences.create(
                session,
                code=v["code"],
                name=v["name"],
                kind=v["kind"],
                coordinates=coords,
                distance_m=distance,
            )
        if v["kind"] == "line" and distance is None:
            distance = get_settings().coverage_road_buffer_m
        editing.name, editing.kind, editing.coordinates = v["name"], v["kind"], coords
        editing.distance_m = distance if v["kind"] != "polygon" else None
    session.flush()
    return editing


def roads(session: Session) -> list[Road]:
    return list(session.scalars(select(Road).order_by(Road.code)))


def find(session: Session, kind: str, code: str):
    model = {"point": CollectionPoint, "road": Road, "geofence": Geofence}[kind]
    return session.scalar(select(model).where(model.code == code))


def remove(session: Session, kind: str, place) -> str:
    """Delete a place; a collection point with served or missed days already decided is kept
    for their record and taken off the rounds instead. "deleted" or "deactivated"."""
    if kind == "point":
        decided = session.scalar(
            select(CollectionCheck.point_id).where(CollectionCheck.point_id == place.id).limit(1)
        )
        if decided is not None:
            place.active = False
            place.vehicles = []
            session.flush()
            return "deactivated"
        place.vehicles = []
    if kind == "road":
        place.types = []
    session.flush()
    session.delete(place)
    session.flush()
    return "deleted"


def as_geojson(kind: str, place) -> str:
    """A place's geometry as the form's GeoJSON text."""
    if kind == "point":
        geometry = {"type": "Point", "coordinates": [place.lon, place.lat]}
    elif kind == "road":
        geometry = {"type": "LineString", "coordinates": place.coordinates}
    elif place.kind == "polygon":
        ring = [*place.coordinates, place.coordinates[0]]
        geometry = {"type": "Polygon", "coordinates": [ring]}
    elif place.kind == "circle":
        geometry = {"type": "Point", "coordinates": place.coordinates[0]}
    else:
        geometry = {"type": "LineString", "coordinates": place.coordinates}
    return json.dumps(geometry)
