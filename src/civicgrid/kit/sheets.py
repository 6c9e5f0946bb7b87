"""Spreadsheets people open: no cell written from data may become a formula.

A text beginning with = + - @ (or a tab or carriage return before one) is a formula to Excel,
WPS and LibreOffice when the file is opened — `=HYPERLINK(...)` in a case's description would
run in the leader's spreadsheet. In CSV such a text gets a leading apostrophe (OWASP's advice);
in xlsx it is written as a text cell.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_cell(value: object) -> object:
    """A value for a CSV cell: formula-like text made inert."""
    return "'" + value if formula_like(value) else value


def xlsx_append(sheet, row: Iterable[object]) -> None:
    """`sheet.append(row)`, every formula-like text written as text."""
    values = list(row)
    sheet.append(values)
    if any(formula_like(v) for v in values):
        for cell, value in zip(sheet[sheet.max_row], values, strict=False):
            if formula_like(value):
                cell.value = value
                cell.data_type = "s"
