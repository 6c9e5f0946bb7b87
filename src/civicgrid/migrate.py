"""Alembic, driven from code: `civicgrid init`, /readyz and the tests use it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Tables the database makes that no model declares: PostgreSQL's partitions of the fixes
# table (vehicle_fixes_default, vehicle_fixes_p20261129 ...), made and dropped by a job.
PARTITIONED = ("vehicle_fixes",)


def include_name(name: str | None, type_: str, _parents: dict) -> bool:
    """Autogenerate's filter: a partition is part of its parent table, not a table to drop."""
    return not (type_ == "table" and name and name.startswith(tuple(p + "_" for p in PARTITIONED)))


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema; safe to run again."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
