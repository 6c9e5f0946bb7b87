"""Rows of the supervision tables as the API and pages show them."""

from __future__ import annotations

from civicgrid.kit.timefmt import iso_local


def rule_view(r) -> dict:
    return {
        "step": r.step,
        "light": r.light,
        "after_hours": r.after_hours,
        "enabled": r.enabled,
        "updated_at": iso_local(r.updated_at),
        "updated_by": r.updated_by,
    }


def urge_view(e) -> dict:
    return {
        "number": e.number,
        "case_code": e.case_code,
        "unit_code": e.unit_code,
        "step": e.step,
        "light": e.light,
        "deadline": iso_local(e.deadline),
        "targets": list(e.targets or []),
        "note": e.note,
        "at": iso_local(e.at),
    }
