"""What every route shares that is not city management: its transaction, the settings, row ids
in paths, the client's address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from civicgrid.config import Settings, get_settings
from civicgrid.kit.db import session_scope


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent. A GET only reads:
    on SQLite it runs beside the writers instead of queuing for the write lock."""
    with session_scope(read_only=request.method in ("GET", "HEAD")) as session:
        yield session


# A row id in a path or query: at most PostgreSQL's INTEGER, so no number overflows the database.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


DbSession = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings)]


def client_address(request: Request) -> str:
    """The client's address: the connecting one, or the one a trusted proxy forwarded
    (CIVICGRID_TRUSTED_PROXIES, applied by the app's proxy middleware)."""
    return request.client.host if request.client else "unknown"


def binary_answer(*media_types: str, description: str = "A file") -> dict[int | str, dict]:
    """`responses=` for a route whose answer is not JSON (a photo, a spreadsheet, a stream): the
    OpenAPI document then names what it sends instead of claiming a JSON body."""
    return {200: {"description": description, "content": {m: {} for m in media_types}}}
