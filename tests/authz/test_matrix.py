"""Every endpoint of the matrix (kept as data beside this file) × every role × own or other
org unit; and personal data only to the roles that need it."""

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from civicgrid.cases import intake as case_intake
from civicgrid.cases import policy as case_policy
from civicgrid.config import Settings
from tests.factories import POINT_A, login, world

MATRIX = list(csv.DictReader((Path(__file__).parent / "matrix.csv").open(encoding="utf-8")))
ROLES = {
    "admin": "boss",
    "leader": "lead",
    "dispatcher": "disp",
    "operator": "oper",
    "supervisor": "sup",
    "handler_own": "ha",
    "handler_other": "hb",
}
PHONE = "13955556666"


def a_case(session) -> str:
    world(session)
    case = case_intake.report(
        session,
        Settings(),
        source="citizen",
        category="06010",
        actor=case_policy.Actor.citizen(),
        lon=POINT_A[0],
        lat=POINT_A[1],
        contact_name="王小明",
        contact_phone=PHONE,
    )
    return case.code


def a_log(session) -> int:
    """ha's work log of a past day (the {log} of the matrix's work log rows)."""
    from civicgrid.auth import service as auth_service
    from civicgrid.worklogs import service as worklogs_service

    ha = auth_service.require_user(session, "ha")
    return worklogs_service.write_draft(session, ha, dt.date(2026, 11, 2)).id


@pytest.mark.parametrize("row", MATRIX, ids=[f"{r['method']} {r['path']}" for r in MATRIX])
def test_endpoint_by_role(client, session, row):
    code = a_case(session)
    path = row["path"].replace("{code}", code)
    if "{log}" in path:
        path = path.replace("{log}", str(a_log(session)))
    body = json.loads(row["body"]) if row["body"] else None
    results = {}
    for role in ["anonymous", *ROLES]:
        client.cookies.clear()
        if role != "anonymous":
            login(client, ROLES[role])
        r = client.request(row["method"], path, json=body)
        results[role] = r.status_code
        if r.status_code in (401, 403):
            assert set(r.json()) >= {"error", "detail"}, r.text
    expected = {role: int(row[role]) for role in ["anonymous", *ROLES]}
    assert results == expected


@pytest.mark.parametrize(
    ("role", "whole"),
    [
        ("admin", True),
        ("dispatcher", True),
        ("operator", True),
        ("leader", False),
        ("supervisor", False),
        ("handler_own", False),
    ],
)
def test_the_reporters_phone_only_for_the_roles_that_call_back(client, session, role, whole):
    code = a_case(session)
    login(client, ROLES[role])
    text = client.get(f"/api/v1/cases/{code}").text
    assert (PHONE in text) is whole
    assert ("王小明" in text) is whole
    if not whole:
        assert "139****6666" in text
    for path in (
        "/api/v1/cases",
        "/api/v1/command/summary",
        f"/open311/v2/requests/{code}.json",
        "/open311/v2/requests.json",
    ):
        assert PHONE not in client.get(path).text
