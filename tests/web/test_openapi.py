"""Typed answers: every JSON route under /api and /open311 declares its answer's schema in the
OpenAPI document, and the response models describe the answers without changing them."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from fastapi import routing
from fastapi.encoders import jsonable_encoder

from civicgrid.app import create_app
from tests.citizen.test_citizen import close, report
from tests.factories import POINT_A, SMALL_DISTRICT, login, world
from tests.images import jpeg

SUCCESS = ("200", "201")


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _typed(schema: dict) -> bool:
    """A named model, or a list of one (an untyped `dict` or `list[dict]` is not)."""
    if "$ref" in schema:
        return True
    return schema.get("type") == "array" and "$ref" in schema.get("items", {})


def undeclared_answers(document: dict) -> list[str]:
    """The operations under /api and /open311 whose success answer has no typed schema."""
    missing = []
    for path, operations in document["paths"].items():
        if not path.startswith(("/api/", "/open311/")):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            codes = [c for c in SUCCESS if c in responses]
            if not codes and "204" in responses:
                continue  # no body
            contents = [responses[c].get("content", {}) for c in codes]
            if not any(contents):
                missing.append(f"{method.upper()} {path}: no success answer declared")
            for content in contents:
                for media_type, entry in content.items():
                    if _is_json(media_type) and not _typed(entry.get("schema", {})):
                        missing.append(f"{method.upper()} {path}: {media_type} has no model")
    return missing


def test_every_json_route_declares_a_model_for_its_answer():
    # Given the app's OpenAPI document
    document = create_app().openapi()
    # Then every JSON answer under /api and /open311 is a named model (or a list of one)
    assert undeclared_answers(document) == []


def test_the_walk_finds_an_untyped_answer():
    # Given a document where one route answers an untyped object, one nothing declared
    document = {
        "paths": {
            "/api/v1/x": {"get": {"responses": {"200": {"content": {"application/json": {}}}}}},
            "/api/v1/y": {"post": {"responses": {"201": {"description": "made"}}}},
            "/api/v1/z": {"delete": {"responses": {"204": {"description": "gone"}}}},
            "/open311/v2/q.{fmt}": {
                "get": {
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"type": "object"}}}}
                    }
                }
            },
        }
    }
    # Then both are named, and the 204 is not
    assert undeclared_answers(document) == [
        "GET /api/v1/x: application/json has no model",
        "POST /api/v1/y: no success answer declared",
        "GET /open311/v2/q.{fmt}: application/json has no model",
    ]


# --- the answers are what they were -----------------------------------------------------------


# the clock, read by each request
VOLATILE = frozenset({"now", "cutoff"})


def _same(a, b, where="$") -> list[str]:
    """Where two JSON values differ, types included (1 is not 1.0, a missing key is not null)."""
    if type(a) is not type(b):
        return [f"{where}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"]
    if isinstance(a, dict):
        out = [f"{where}: keys {sorted(set(a) ^ set(b))} differ"] if set(a) != set(b) else []
        for key in set(a) & set(b):
            if key in VOLATILE and type(a[key]) is type(b[key]):
                continue
            out += _same(a[key], b[key], f"{where}.{key}")
        return out
    if isinstance(a, list):
        out = [f"{where}: {len(a)} != {len(b)} items"] if len(a) != len(b) else []
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            out += _same(x, y, f"{where}[{i}]")
        return out
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


@pytest.fixture()
def without_models(monkeypatch):
    """Serialise every answer as the route returned it, as if no route had a response model."""
    original = routing.serialize_response

    async def raw(*, response_content, dump_json=False, **_kwargs):
        content = jsonable_encoder(response_content)
        if dump_json:
            return json.dumps(content, ensure_ascii=False).encode()
        return content

    def switch(off: bool) -> None:
        monkeypatch.setattr(routing, "serialize_response", raw if off else original)

    return switch


def _both(client, without_models, url: str) -> tuple[int, list[str]]:
    without_models(True)
    bare = client.get(url)
    without_models(False)
    typed = client.get(url)
    assert bare.status_code == typed.status_code == 200, (url, bare.text, typed.text)
    return typed.status_code, _same(bare.json(), typed.json())


def test_answers_are_the_same_with_and_without_response_models(client, session, without_models):
    # Given cases in several states: dispatched, closed and rated, in progress, one by staff
    world(session)
    dispatched = report(client).json()
    closed = report(client, point=(POINT_A[0] + 0.002, POINT_A[1])).json()
    close(session, closed["code"])
    client.post(
        f"/api/v1/citizen/cases/{closed['code']}/rate", json={"s": closed["secret"], "score": 4}
    )
    login(client, "disp")
    staff = client.post(
        "/api/v1/cases", json={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
    ).json()
    period = "start=2020-01-01&end=2099-01-01"
    track = f"/api/v1/citizen/cases/{{code}}?s={quote(dispatched['secret'])}"
    urls = {
        "disp": [
            "/api/v1/cases?limit=500",
            "/api/v1/cases/lights",
            f"/api/v1/cases/{dispatched['code']}",
            f"/api/v1/cases/{closed['code']}",
            f"/api/v1/cases/{staff['code']}",
            f"/api/v1/cases/{dispatched['code']}/duplicates",
            "/api/v1/board",
            "/api/v1/command/summary",
            "/api/v1/org/tree",
            "/api/v1/org/people",
            f"/api/v1/geo/locate?lon={POINT_A[0]}&lat={POINT_A[1]}",
            f"/api/v1/geo/areas?parent={SMALL_DISTRICT}",
            f"/api/v1/stats/kpis?{period}&group_by=street",
            f"/api/v1/stats/kpis?{period}&group_by=none",
            f"/api/v1/stats/ranking?{period}",
            f"/api/v1/stats/trend?{period}&by=month",
            f"/api/v1/stats/top-categories?{period}",
            f"/api/v1/stats/hotspots?{period}",
            f"/api/v1/stats/hotspots?{period}&by=h3",
            f"/api/v1/stats/distributions?{period}",
        ],
        "boss": ["/api/v1/dispatch-rules", "/api/v1/calendar"],
        None: [
            track.format(code=dispatched["code"]),
            f"/api/v1/citizen/cases/{closed['code']}?s={quote(closed['secret'])}",
            "/api/v1/citizen/suggest?text=" + quote("路边有垃圾"),
            f"/api/v1/geo/locate?lon={POINT_A[0]}&lat={POINT_A[1]}",
            f"/api/v1/geo/areas?parent={SMALL_DISTRICT}",
        ],
    }
    # (routes typed before, which return ORM rows, are left out: without their model they
    # would answer every column)
    differences = {}
    # When each is read with and without the response models
    for who, paths in urls.items():
        if who is None:
            client.post("/api/v1/auth/logout")
        else:
            login(client, who)
        for url in paths:
            _, diff = _both(client, without_models, url)
            if diff:
                differences[url] = diff
    # Then nothing differs: no field dropped, added, renamed or retyped
    assert differences == {}


def _shape(a, b, where="$") -> list[str]:
    """Where two answers of the same kind differ in keys or kinds of value (values may differ)."""
    if a is None or b is None:
        return []
    if isinstance(a, bool) or isinstance(b, bool):
        return [] if type(a) is type(b) else [f"{where}: {a!r} vs {b!r}"]
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}: keys {sorted(set(a) ^ set(b))} differ"] if set(a) != set(b) else []
        for key in set(a) & set(b):
            out += _shape(a[key], b[key], f"{where}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        return [d for x, y in zip(a, b, strict=False) for d in _shape(x, y, f"{where}[]")]
    return [] if type(a) is type(b) else [f"{where}: {a!r} vs {b!r}"]


def test_written_answers_keep_their_shape(client, session, without_models):
    # Given the same writes made once without the response models and once with them
    world(session)
    answers = []
    for off in (True, False):
        without_models(off)
        client.post("/api/v1/auth/logout")
        made = report(client, point=(POINT_A[0] + (0.003 if off else 0.006), POINT_A[1]))
        code = made.json()["code"]
        login(client, "disp")
        staff = client.post(
            "/api/v1/cases",
            json={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]},
        )
        login(client, "ha")
        taken = client.post(f"/api/v1/cases/{code}/take", json={})
        done = client.post(
            f"/api/v1/cases/{code}/report-done",
            data={"note": "已清理"},
            files=[("photos", ("after.jpg", jpeg(), "image/jpeg"))],
        )
        answers.append([r.json() for r in (made, staff, taken, done)])
        assert [r.status_code for r in (made, staff, taken, done)] == [201, 201, 200, 200]
    without_models(False)
    # Then each answer has the same keys and kinds of value both times
    assert _shape(answers[0], answers[1]) == []
