"""The benchmarks' fleet: a fresh SQLite file migrated as `civicgrid init` does, the process's
settings pointed at it, and vehicles with one tracker each registered through the service."""

from __future__ import annotations

import os


def use(path: str) -> None:
    """Point this process's settings (and so its sessions) at the SQLite file `path`."""
    os.environ.update(
        CIVICGRID_DATABASE_URL=f"sqlite:///{path}",
        CIVICGRID_MODE="test",
        CIVICGRID_SECRET_KEY="bench-secret-0123456789-0123456789-0123",
    )
    from civicgrid.config import get_settings
    from civicgrid.kit import db

    get_settings.cache_clear()
    db.set_engine(None)  # the next session opens `path` (several benchmarks run in one process)


def migrate(path: str) -> None:
    """A fresh schema in `path`, without touching this process's settings."""
    from civicgrid import migrate as migrations
    from civicgrid.config import Settings
    from civicgrid.kit import db

    engine = db.make_engine(Settings(database_url=f"sqlite:///{path}", mode="test"))
    migrations.upgrade(engine)
    engine.dispose()


def fleet(
    path: str, vehicles: int, *, type_code: str, protocol: str, terminal: str = "bench-{n}"
) -> list[tuple[int, int, str | None]]:
    """A migrated `path` used by this process, unit 2301 and `vehicles` vehicles of `type_code`
    with one tracker each (`terminal` formatted with n): their (vehicle id, tracker id, an HTTP
    tracker's device token). This process's sessions then open `path`."""
    from civicgrid.kit.db import session_scope
    from civicgrid.org import service as org_service
    from civicgrid.vehicles import service

    use(path)
    migrate(path)
    made = []
    with session_scope() as session:
        org_service.ensure_unit(session, code="2301", name="市", kind="city", parent_code=None)
        for n in range(vehicles):
            vehicle = service.create_vehicle(
                session, plate=f"黑A{n:05d}", type_code=type_code, unit_code="2301"
            )
            new = service.create_tracker(
                session, terminal_id=terminal.format(n=n), protocol=protocol, vehicle_id=vehicle.id
            )
            made.append((vehicle.id, new.tracker.id, new.token))
    return made
