"""No cell of an export becomes a formula in the leader's spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import update

from civicgrid.geo.models import Area
from civicgrid.kit.sheets import csv_cell, xlsx_append
from civicgrid.org import service as org_service
from tests.factories import POINT_A, STREET_A, login, world

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_is_inert(text):
    assert csv_cell(text) == "'" + text
    wb = Workbook()
    xlsx_append(wb.active, ["名称", text, 5, -1.5, None])
    buf = io.BytesIO()
    wb.save(buf)
    cells = list(load_workbook(io.BytesIO(buf.getvalue())).active.iter_rows(values_only=False))[0]
    assert cells[1].value == text and cells[1].data_type == "s"
    assert (cells[2].value, cells[3].value) == (5, -1.5)  # numbers stay numbers


def test_a_carriage_return_before_a_formula_is_inert_in_csv():
    assert csv_cell("\r=1") == "'\r=1"


def test_ordinary_text_and_numbers_are_unchanged():
    assert csv_cell("香坊大街") == "香坊大街" and csv_cell(-3) == -3


def test_the_directory_export_writes_names_as_text(client, session):
    world(session)
    org_service.create_person(session, name="=1+2", org_unit_code=STREET_A, title="@cmd")
    session.flush()
    login(client, "boss")
    r = client.get("/api/v1/org/people.xlsx")
    sheet = load_workbook(io.BytesIO(r.content)).active
    row = next(r for r in sheet.iter_rows() if r[0].value == "=1+2")
    assert row[0].data_type == "s" and row[1].value == "@cmd" and row[1].data_type == "s"


def test_the_kpi_exports_write_names_as_text(client, session):
    world(session)
    session.execute(update(Area).where(Area.code == STREET_A).values(name="=HYPERLINK(1)"))
    session.flush()
    data = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
    assert client.post("/api/v1/citizen/reports", data=data).status_code == 201
    login(client, "lead")
    today = dt.date.today()
    params = {
        "start": (today - dt.timedelta(days=2)).isoformat(),
        "end": (today + dt.timedelta(days=2)).isoformat(),
        "group_by": "street",
    }
    text = client.get("/api/v1/stats/kpis", params={**params, "format": "csv"}).text
    names = [row[1] for row in csv.reader(io.StringIO(text))]
    assert "'=HYPERLINK(1)" in names and "=HYPERLINK(1)" not in names
    r = client.get("/api/v1/stats/kpis", params={**params, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(r.content)).active
    cell = next(row[1] for row in sheet.iter_rows() if row[1].value == "=HYPERLINK(1)")
    assert cell.data_type == "s"
