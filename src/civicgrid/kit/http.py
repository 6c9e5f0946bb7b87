"""What every route shares that is not city management: its transaction, the settings, row ids
in paths, the client's address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request, Response
from sqlalchemy.orm import Session

from civicgrid.config import Settings, get_settings
from civicgrid.kit.db import session_scope
from civicgrid.kit.storage import for_settings


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


# A photo shown only to whom the app allows (a staff member, a tracking secret): the browser
# may keep it, no shared cache may. Photos shown to everyone may be withdrawn (after_review): a
# shared cache keeps them for minutes.
PRIVATE_PHOTO = "private, max-age=86400"
PUBLIC_PHOTO = "public, max-age=300"


def stored_file(
    settings: Settings, key: str, *, cache: str, media_type: str = "image/jpeg"
) -> Response:
    """The answer with a stored file, after the route has checked that the caller may see it.
    With CIVICGRID_ACCEL_REDIRECT set, nginx sends the bytes: the answer is empty and names the
    file's place in nginx's internal location (X-Accel-Redirect); nginx keeps this answer's
    Content-Type and Cache-Control. Otherwise the app reads and sends the bytes itself
    (FileNotFoundError when the store has none)."""
    store = for_settings(settings)
    headers = {"Cache-Control": cache}
    if settings.accel_redirect:
        headers["X-Accel-Redirect"] = settings.accel_redirect + store.accel_path(key)
        return Response(b"", media_type=media_type, headers=headers)
    return Response(store.get(key), media_type=media_type, headers=headers)
