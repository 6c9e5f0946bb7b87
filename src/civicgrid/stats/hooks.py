"""What the statistics take from domains above them (spot checks, supervision), filled in by
civicgrid.app: stats sits below those domains in the import order, so it cannot ask them
itself. Unfilled (a script that builds no app), each hook answers nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

# (session, month "YYYY-MM", "street" | "unit") → the spot-check score (0–100) per code
SpotcheckScores = Callable[[Session, str, str], dict[str, float]]
# (session, start, end) → how many distinct cases each unit had 督办 on
UrgedCases = Callable[[Session, dt.datetime, dt.datetime], dict[str, int]]

_spotcheck_scores: SpotcheckScores | None = None
_urged_cases: UrgedCases | None = None


def provide(*, spotcheck_scores: SpotcheckScores, urged_cases: UrgedCases) -> None:
    """Fill the hooks (civicgrid.app does, once)."""
    global _spotcheck_scores, _urged_cases
    _spotcheck_scores, _urged_cases = spotcheck_scores, urged_cases


def spotcheck_scores(session: Session, month: str, by: str) -> dict[str, float]:
    return _spotcheck_scores(session, month, by) if _spotcheck_scores else {}


def urged_cases(session: Session, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    return _urged_cases(session, start, end) if _urged_cases else {}
