from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class InboxItem(BaseModel):
    id: int
    kind: str
    kind_name: str
    title: str
    pinned: bool
    published_at: dt.datetime
    read_at: dt.datetime | None
    reminded_at: dt.datetime | None
    url: str


class Inbox(BaseModel):
    """The signed-in person's internal notices shown now, and how many of them are unread."""

    unread: int
    items: list[InboxItem]
