"""The API, the CLI and the xlsx give the same numbers (those of the worked example)."""

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from civicgrid.cli import app as cli
from tests.factories import login, user
from tests.stats.test_kpis_examples import EXPECTED, same

runner = CliRunner()
PARAMS = {"start": EXPECTED["start"], "end": EXPECTED["end"]}


@pytest.fixture()
def staff(imported, client):
    user(imported, "lead", ["leader"], "239901")
    login(client, "lead")
    return client


def rows_from_table(header: list, table: list[list]) -> dict:
    out = {}
    for values in table:
        row = dict(zip(header, values, strict=True))
        for k, v in row.items():
            if v == "":
                row[k] = None
            elif isinstance(v, str) and k not in ("key", "name", "grade"):
                row[k] = float(v)
        out[row["key"]] = row
    return out


@pytest.mark.parametrize("group_by", ["street", "unit", "category", "source", "none"])
def test_api_json_csv_xlsx_and_cli_agree_with_the_example(staff, group_by):
    want = EXPECTED["by_group"][group_by]
    params = {**PARAMS, "group_by": group_by}
    assert staff.get("/api/v1/stats/kpis", params=params).status_code == 200

    body = staff.get("/api/v1/stats/kpis", params=params).json()
    same(body["total"], want["total"], "api total")
    for r in body["rows"]:
        same(r, want["rows"][r["key"]], f"api {r['key']}")

    text = staff.get("/api/v1/stats/kpis", params={**params, "format": "csv"}).text
    table = list(csv.reader(io.StringIO(text)))
    assert table[1][:3] == ["编码", "名称", "上报数"]
    rows = rows_from_table(table[0], table[2:])
    same(rows.pop("total"), want["total"], "csv total")
    assert set(rows) == set(want["rows"])
    for key, r in rows.items():
        same(r, want["rows"][key], f"csv {key}")

    content = staff.get("/api/v1/stats/kpis", params={**params, "format": "xlsx"}).content
    values = list(load_workbook(io.BytesIO(content)).active.values)
    rows = rows_from_table(list(values[0]), [list(v) for v in values[2:]])
    same(rows.pop("total"), want["total"], "xlsx total")
    for key, r in rows.items():
        same(r, want["rows"][key], f"xlsx {key}")

    result = runner.invoke(
        cli,
        [
            "stats",
            "--start",
            PARAMS["start"],
            "--end",
            PARAMS["end"],
            "--group-by",
            group_by,
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    same(report["total"], want["total"], "cli total")
    for r in report["rows"]:
        same(r, want["rows"][r["key"]], f"cli {r['key']}")


def test_anonymous_401_and_bad_input_400(client, imported):
    assert client.get("/api/v1/stats/kpis", params=PARAMS).status_code == 401
    user(imported, "lead", ["leader"], "239901")
    login(client, "lead")
    r = client.get("/api/v1/stats/kpis", params={**PARAMS, "group_by": "weather"})
    assert r.status_code == 400 and "group_by" in r.json()["detail"]
    r = client.get("/api/v1/stats/kpis", params={"start": "March", "end": "April"})
    assert r.status_code == 400
    r = client.get("/api/v1/stats/kpis", params={"start": "2026-03-01", "end": "2026-04-01"})
    assert r.status_code == 200 and r.json()["start"] == "2026-03-01T00:00:00+08:00"
