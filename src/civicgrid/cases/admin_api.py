from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from civicgrid.auth.deps import require_roles
from civicgrid.cases import admin, routing
from civicgrid.cases.schemas import CalendarRead, DayRead, RuleRead, YearRead
from civicgrid.kit.http import DbSession, RowId
from civicgrid.kit.timefmt import YEAR_MAX, YEAR_MIN

router = APIRouter(prefix="/api/v1", tags=["admin"], dependencies=[Depends(require_roles("admin"))])


class RuleIn(BaseModel):
    match: str = Field(description="5-digit category, 2-digit major class, or *")
    target: str = Field(description="street, community, unit or department")
    unit_code: str | None = None
    priority: int = Field(default=100, ge=0, le=1_000_000, description="smaller wins")
    note: str = Field(default="", max_length=200)


class DayIn(BaseModel):
    day: dt.date
    is_workday: bool
    note: str = Field(default="", max_length=100)


class YearIn(BaseModel):
    year: int = Field(description=f"{YEAR_MIN}–{YEAR_MAX}")
    note: str = Field(default="", max_length=100)


def _rule(r) -> dict:
    return {
        "id": r.id,
        "match": r.match,
        "target": r.target,
        "unit_code": r.unit_code,
        "priority": r.priority,
        "note": r.note,
    }


@router.get("/dispatch-rules", response_model=list[RuleRead])
def rules(session: DbSession) -> list[dict]:
    return [_rule(r) for r in routing.list_rules(session)]


@router.post("/dispatch-rules", response_model=RuleRead, status_code=201)
def add_rule(body: RuleIn, session: DbSession) -> dict:
    return _rule(routing.add_rule(session, **body.model_dump()))


@router.delete("/dispatch-rules/{rule_id}", status_code=204)
def delete_rule(rule_id: RowId, session: DbSession) -> Response:
    routing.delete_rule(session, rule_id)
    return Response(status_code=204)


@router.get("/calendar", response_model=CalendarRead)
def calendar(session: DbSession) -> dict:
    return admin.calendar_entries(session)


@router.put("/calendar/days", response_model=DayRead)
def set_day(body: DayIn, session: DbSession) -> dict:
    row = admin.set_day(session, day=body.day, is_workday=body.is_workday, note=body.note)
    return {"day": row.day.isoformat(), "is_workday": row.is_workday, "note": row.note}


@router.delete("/calendar/days/{day}", status_code=204)
def clear_day(day: dt.date, session: DbSession) -> Response:
    admin.clear_day(session, day)
    return Response(status_code=204)


@router.put("/calendar/years", response_model=YearRead)
def enter_year(body: YearIn, session: DbSession) -> dict:
    row = admin.enter_year(session, year=body.year, note=body.note)
    return {"year": row.year, "note": row.note}
