from __future__ import annotations

import re

from fastapi import APIRouter, Depends, UploadFile

from civicgrid.auth.deps import require_roles
from civicgrid.categories import service
from civicgrid.categories.schemas import CategoryRead, LimitRead, LimitSet, LimitsImported
from civicgrid.kit.errors import BadRequest
from civicgrid.kit.guard import BodyLimit
from civicgrid.kit.http import DbSession

public_router = APIRouter(prefix="/api/v1", tags=["categories"])
router = APIRouter(prefix="/api/v1", tags=["categories"])
admin = [Depends(require_roles("admin"))]
# A time-limit table is a few hundred rows of CSV.
BODY_LIMITS = [BodyLimit("POST", re.compile(r"/api/v1/time-limits/import"), lambda: 1024 * 1024)]


@public_router.get("/categories", response_model=list[CategoryRead])
def categories(session: DbSession, kind: str | None = None, q: str = "") -> list:
    """The national catalogue: components (部件) and events (事件), searchable by name or code."""
    return service.list_categories(session, kind=kind, q=q)


@public_router.get("/categories/{code}", response_model=list[CategoryRead])
def category(session: DbSession, code: str) -> list:
    """Every category with this 5-digit code (a code can be both a component and an event)."""
    found = [c for c in service.list_categories(session) if c.code == code]
    if not found:
        service.resolve_category(session, code)  # raises the 404
    return found


@router.get("/time-limits", response_model=list[LimitRead])
def limits(session: DbSession) -> list:
    return service.list_limits(session)


@router.put("/time-limits", response_model=LimitRead, dependencies=admin)
def set_limit(body: LimitSet, session: DbSession):
    """Create or change one time limit (scope + urgency)."""
    return service.set_limit(
        session,
        scope=body.scope,
        urgency=body.urgency,
        limit=body.limit,
        unit=body.unit,
        note=body.note,
    )


@router.post("/time-limits/import", response_model=LimitsImported, dependencies=admin)
def import_limits(session: DbSession, file: UploadFile) -> dict:
    """Import a CSV with the columns of time-limits.csv; all rows or none."""
    try:
        text = file.file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("文件不是 UTF-8 编码的 CSV", "the file is not CSV in UTF-8") from None
    return {"imported": service.import_limits(session, text)}
