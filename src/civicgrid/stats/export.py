"""KPI reports as CSV and xlsx: a header of the keys, a second header of the Chinese names,
the group rows, and a last row `total` (the whole population)."""

from __future__ import annotations

import csv
import io

from civicgrid.kit.sheets import csv_cell, xlsx_append
from civicgrid.stats.kpi import KEYS, NAMES_ZH

COLUMNS = ("key", "name", *KEYS)
ZH = ("编码", "名称", *(NAMES_ZH[k] for k in KEYS))


def _rows(report: dict) -> list[list]:
    rows = [[r.get(c) for c in COLUMNS] for r in report["rows"]]
    total = {"key": "total", "name": "合计", **report["total"]}
    rows.append([total.get(c) for c in COLUMNS])
    return rows


def to_csv(report: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow(ZH)
    for row in _rows(report):
        writer.writerow(
            ["" if v is None else repr(v) if isinstance(v, float) else csv_cell(v) for v in row]
        )
    return buf.getvalue()


def to_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "KPI"
    ws.append(list(COLUMNS))
    ws.append(list(ZH))
    for row in _rows(report):
        xlsx_append(ws, row)
    info = wb.create_sheet("period")
    for key in ("start", "end", "cutoff", "group_by"):
        xlsx_append(info, [key, report[key]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _assessment_table(report: dict) -> tuple[list[str], list[str], list[list]]:
    from civicgrid.stats.subjects import NAMES, TABLES

    keys = [k for k, _zh, _en in TABLES[report["table"]]] + ["grade"]
    columns = ["key", "name", *keys, "rank"]
    zh = ["编码", "名称", *(NAMES[k][0] for k in keys), "排名"]
    rows = [[r.get(c) for c in columns] for r in report["rows"]]
    total = {"key": "total", "name": "合计", **report["total"]}
    rows.append([total.get(c) for c in columns])
    return columns, zh, rows


def assessment_csv(report: dict) -> str:
    """An assessment table (reference/assessment.md) with the keys and the Chinese names as its
    two header rows, then the rows and `total`, as kpis.md's CSV."""
    columns, zh, rows = _assessment_table(report)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow(zh)
    for row in rows:
        writer.writerow(
            ["" if v is None else repr(v) if isinstance(v, float) else csv_cell(v) for v in row]
        )
    return buf.getvalue()


def assessment_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook

    columns, zh, rows = _assessment_table(report)
    wb = Workbook()
    ws = wb.active
    ws.title = report["table"]
    ws.append(columns)
    ws.append(zh)
    for row in rows:
        xlsx_append(ws, row)
    info = wb.create_sheet("period")
    for key in ("start", "end", "cutoff", "subject", "level", "post"):
        if report.get(key) is not None:
            xlsx_append(info, [key, report[key]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
