"""The cases' series on /metrics: reports taken in by source, cases by state."""

from __future__ import annotations

import logging

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from civicgrid.cases.models import Case
from civicgrid.kit import events
from civicgrid.kit.db import session_factory
from civicgrid.kit.observability import REGISTRY, register_collector

log = logging.getLogger(__name__)
INTAKE = Counter(
    "civicgrid_reports_total", "Reports taken in, by source", ["source"], registry=REGISTRY
)


class CasesByState:
    """Cases by state, read from the database at each scrape."""

    def collect(self):
        family = GaugeMetricFamily("civicgrid_cases", "Cases by state", labels=["state"])
        try:
            with session_factory()() as session:
                rows = session.execute(select(Case.state, func.count()).group_by(Case.state))
                for state, n in rows:
                    family.add_metric([state], n)
        except Exception:  # noqa: BLE001 - a scrape must not fail when the database is away
            log.warning("cases by state not collected")
        yield family


def _count_intake(message: dict) -> None:
    if message.get("action") == "report":
        INTAKE.labels(message.get("source", "unknown")).inc()


_installed: list[bool] = []


def install() -> None:
    """Register the series (once per process, however many apps are made)."""
    if _installed:
        return
    _installed.append(True)
    events.on_committed(_count_intake)
    register_collector(CasesByState())
