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
