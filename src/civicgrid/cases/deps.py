"""The case a route is about: the one its path names, if the signed-in user's units may see it
(404 otherwise, as for a case that does not exist). For the routes of every domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from civicgrid.auth import service as auth_service
from civicgrid.auth.deps import CurrentUser
from civicgrid.cases import service
from civicgrid.cases.models import Case
from civicgrid.kit.http import DbSession


def current_case(code: str, session: DbSession, user: CurrentUser) -> Case:
    """The case, if the user's org unit may see it (404 otherwise)."""
    return service.get_visible_case(session, code, auth_service.scope_codes(session, user))


CurrentCase = Annotated[Case, Depends(current_case)]
