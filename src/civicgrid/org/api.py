from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from civicgrid.auth.deps import CurrentUser, require_roles
from civicgrid.kit.http import DbSession, binary_answer
from civicgrid.org import service
from civicgrid.org.models import Person
from civicgrid.org.schemas import PersonCreate, PersonRead, UnitCreate, UnitNode, UnitRead

router = APIRouter(prefix="/api/v1/org", tags=["org"])
admin = [Depends(require_roles("admin"))]


def _viewer(user: CurrentUser) -> dict:
    """Who is looking, as visible_phones and search_people want it."""
    return {"viewer_unit_id": user.person.org_unit_id, "viewer_is_admin": user.has_role("admin")}


def _person_read(person: Person, viewer: CurrentUser) -> PersonRead:
    phones = service.visible_phones(person, **_viewer(viewer))
    return PersonRead(
        id=person.id,
        name=person.name,
        initials=person.initials,
        title=person.title,
        phones=phones,
        email=person.email,
        org_unit=person.org_unit.code,
        org_unit_name=person.org_unit.name,
    )


@router.get("/tree", response_model=list[UnitNode])
def tree(session: DbSession, under: str | None = None) -> list[dict]:
    """The organisation tree (city → district → street → community; departments, teams)."""
    unit = service.get_unit(session, under) if under else None
    return service.tree(session, unit)


@router.post("/units", response_model=UnitRead, status_code=201, dependencies=admin)
def create_unit(body: UnitCreate, session: DbSession) -> UnitRead:
    unit = service.create_unit(
        session,
        code=body.code,
        name=body.name,
        kind=body.kind,
        parent_code=body.parent,
        dept_type=body.dept_type,
        phone=body.phone,
    )
    return UnitRead(
        code=unit.code, name=unit.name, kind=unit.kind, parent=body.parent, dept_type=unit.dept_type
    )


Search = Annotated[str, Query(max_length=60, description="姓名、拼音首字母或电话中的任意连续数字")]


@router.get("/people", response_model=list[PersonRead])
def people(
    session: DbSession,
    user: CurrentUser,
    q: Search = "",
    unit: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[PersonRead]:
    """Search the directory by name, pinyin initials (`zqs` → 张秋生) or any run of a phone's
    digits that the caller may see (a masked phone only by its shown head and tail)."""
    scope = service.get_unit(session, unit) if unit else None
    found = service.search_people(session, q=q, unit=scope, limit=limit, **_viewer(user))
    return [_person_read(p, user) for p in found]


@router.post("/people", response_model=PersonRead, status_code=201, dependencies=admin)
def create_person(body: PersonCreate, session: DbSession, user: CurrentUser) -> PersonRead:
    person = service.create_person(
        session,
        name=body.name,
        org_unit_code=body.org_unit,
        title=body.title,
        phones=body.phones,
        email=body.email,
    )
    return _person_read(person, user)


def _export_rows(session, user: CurrentUser, q: str, unit: str | None):
    scope = service.get_unit(session, unit) if unit else None
    found = service.search_people(session, q=q, unit=scope, limit=100_000, **_viewer(user))
    return [(p, _person_read(p, user).phones) for p in found]


@router.get(
    "/people.vcf",
    response_class=Response,
    responses=binary_answer("text/vcard", description="vCard 3.0"),
)
def people_vcard(
    session: DbSession, user: CurrentUser, q: Search = "", unit: str | None = None
) -> Response:
    """The directory (or a search of it) as vCard 3.0, phones masked as the viewer must see."""
    body = service.vcard(_export_rows(session, user, q, unit))
    return Response(
        body,
        media_type="text/vcard; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="directory.vcf"'},
    )


@router.get(
    "/people.xlsx",
    response_class=Response,
    responses=binary_answer(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        description="the directory as a workbook",
    ),
)
def people_xlsx(
    session: DbSession, user: CurrentUser, q: Search = "", unit: str | None = None
) -> Response:
    body = service.xlsx(_export_rows(session, user, q, unit))
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="directory.xlsx"'},
    )
