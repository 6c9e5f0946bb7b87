"""The fifteen corner cases of shared/reference/examples, and their KPIs computed twice
elsewhere: every figure must come out the same (counts equal, rates within 1e-9)."""

import datetime as dt
import json

import pytest

from civicgrid.stats import kpi
from civicgrid.stats import service as stats_service
from tests.conftest import DATA

EXPECTED = json.loads((DATA / "kpis-small.json").read_text(encoding="utf-8"))
START = dt.datetime.fromisoformat(EXPECTED["start"])
END = dt.datetime.fromisoformat(EXPECTED["end"])


def same(got: dict, want: dict, where: str) -> None:
    for key in kpi.KEYS:
        g, w = got[key], want[key]
        if w is None or isinstance(w, str):
            assert g == w, f"{where} {key}: {g!r} != {w!r}"
        else:
            assert g is not None and abs(g - w) <= 1e-9, f"{where} {key}: {g!r} != {w!r}"


@pytest.mark.parametrize("group_by", sorted(EXPECTED["by_group"]))
def test_kpis_match_the_worked_example(imported, group_by):
    report = stats_service.kpis(
        imported,
        start=START,
        end=END,
        group_by=group_by,
        now=dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
    )
    want = EXPECTED["by_group"][group_by]
    assert report["cutoff"] == EXPECTED["cutoff"]
    same(report["total"], want["total"], "total")
    got_rows = {r["key"]: r for r in report["rows"]}
    assert set(got_rows) == set(want["rows"])
    for key, row in want["rows"].items():
        same(got_rows[key], row, key)


def test_group_names(imported):
    report = stats_service.kpis(imported, start=START, end=END, group_by="street")
    assert {r["key"]: r["name"] for r in report["rows"]} == {
        "239901001": "东风街道",
        "239901002": "和平街道",
    }


def test_a_cutoff_before_the_end_counts_only_earlier_events(imported):
    # On 2026-03-10 00:00 only the cases up to EX-05 are in. EX-05's deadline, 12:00 moved by
    # its 10-hour suspension to 22:00 on 03-09, has passed and its check (03-10 09:00) has not
    # come: it is overdue and open, as EX-09 is.
    now = dt.datetime(2026, 3, 10, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    report = stats_service.kpis(imported, start=START, end=END, now=now)
    total = report["total"]
    assert report["cutoff"] == "2026-03-10T00:00:00+08:00"
    assert total["reported"] == 5  # EX-01..05 (EX-09 was reported in February)
    assert total["registered"] == 6  # and EX-09, registered 03-01
    assert total["closed"] == 4  # EX-05 is verified on 03-10 09:00, after the cut-off
    assert total["overdue_open"] == 2  # EX-09 and EX-05
    assert total["due"] == 6 and total["on_time"] == 3  # EX-01, EX-02, EX-04
    assert total["extended"] == 1


def test_bad_periods_are_refused(imported):
    from civicgrid.kit.errors import BadRequest

    with pytest.raises(BadRequest):
        stats_service.kpis(imported, start=END, end=START)
    with pytest.raises(BadRequest):
        stats_service.kpis(imported, start=START, end=END, group_by="weather")
