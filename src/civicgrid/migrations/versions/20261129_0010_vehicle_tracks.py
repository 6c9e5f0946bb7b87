"""vehicle tracks: vehicle types (seeded), vehicles, trackers, fixes (on PostgreSQL
partitioned by day on fix_time, with a default partition for days not made yet), collection
points and their checks, roads, geofences

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 21:00:00
"""

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC = civicgrid.kit.db.UTCDateTime(timezone=True)

# The types the issue names; the work speed range (km/h, lower bound exclusive) of sweepers
# and sprinklers after shared/reference/coverage.md. Administrators change or add the rest.
TYPES = [
    ("garbage_truck", "垃圾车", None),
    ("sprinkler", "洒水车", 15.0),
    ("sweeper", "清扫车", 8.0),
    ("snow_plough", "铲雪车", None),
    ("snow_hauler", "运雪车", None),
    ("enforcement", "执法车", None),
    ("other", "其他车辆", None),
]


def upgrade() -> None:
    types = op.create_table(
        "vehicle_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("work_speed_min", sa.Float(), nullable=False),
        sa.Column("work_speed_max", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicle_types")),
        sa.UniqueConstraint("code", name=op.f("uq_vehicle_types_code")),
    )
    op.bulk_insert(
        types,
        [{"code": c, "name": n, "work_speed_min": 0.0, "work_speed_max": m} for c, n, m in TYPES],
    )
    op.create_table(
        "vehicles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("capacity_m3", sa.Float(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_vehicles_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["type_id"], ["vehicle_types.id"], name=op.f("fk_vehicles_type_id_vehicle_types")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
        sa.UniqueConstraint("plate", name=op.f("uq_vehicles_plate")),
    )
    op.create_index(op.f("ix_vehicles_org_unit_id"), "vehicles", ["org_unit_id"])
    op.create_index(op.f("ix_vehicles_type_id"), "vehicles", ["type_id"])
    op.create_table(
        "vehicle_trackers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=40), nullable=False),
        sa.Column("protocol", sa.String(length=10), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("auth_code", sa.String(length=40), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_fix_time", UTC, nullable=True),
        sa.Column("last_lon", sa.Float(), nullable=True),
        sa.Column("last_lat", sa.Float(), nullable=True),
        sa.Column("last_speed", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "(vehicle_id IS NULL) <> (person_id IS NULL)",
            name=op.f("ck_vehicle_trackers_vehicle_or_person"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_vehicle_trackers_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.id"],
            name=op.f("fk_vehicle_trackers_vehicle_id_vehicles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicle_trackers")),
        sa.UniqueConstraint("terminal_id", name=op.f("uq_vehicle_trackers_terminal_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_vehicle_trackers_token_hash")),
    )
    op.create_index(op.f("ix_vehicle_trackers_person_id"), "vehicle_trackers", ["person_id"])
    op.create_index(op.f("ix_vehicle_trackers_vehicle_id"), "vehicle_trackers", ["vehicle_id"])
    op.create_table(
        "vehicle_fixes",
        sa.Column("tracker_id", sa.Integer(), nullable=False),
        sa.Column("fix_time", UTC, nullable=False),
        sa.Column("server_time", UTC, nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("direction", sa.SmallInteger(), nullable=False),
        sa.Column("altitude", sa.SmallInteger(), nullable=False),
        sa.Column("alarm", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.BigInteger(), nullable=False),
        sa.Column("mileage", sa.Float(), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("backfill", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("tracker_id", "fix_time", name=op.f("pk_vehicle_fixes")),
        postgresql_partition_by="RANGE (fix_time)",
    )
    op.create_table(
        "collection_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("rule", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_points")),
        sa.UniqueConstraint("code", name=op.f("uq_collection_points_code")),
    )
    op.create_table(
        "collection_point_vehicles",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["point_id"],
            ["collection_points.id"],
            name=op.f("fk_collection_point_vehicles_point_id_collection_points"),
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.id"],
            name=op.f("fk_collection_point_vehicles_vehicle_id_vehicles"),
        ),
        sa.PrimaryKeyConstraint(
            "point_id", "vehicle_id", name=op.f("pk_collection_point_vehicles")
        ),
    )
    op.create_index(
        op.f("ix_collection_point_vehicles_vehicle_id"), "collection_point_vehicles", ["vehicle_id"]
    )
    op.create_table(
        "collection_checks",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("served", sa.Boolean(), nullable=False),
        sa.Column("visit_time", UTC, nullable=True),
        sa.Column("case_code", sa.String(length=40), nullable=True),
        sa.Column("checked_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["point_id"],
            ["collection_points.id"],
            name=op.f("fk_collection_checks_point_id_collection_points"),
        ),
        sa.PrimaryKeyConstraint("point_id", "day", name=op.f("pk_collection_checks")),
    )
    op.create_table(
        "roads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("coordinates", sa.JSON(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_roads_org_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roads")),
        sa.UniqueConstraint("code", name=op.f("uq_roads_code")),
    )
    op.create_index(op.f("ix_roads_org_unit_id"), "roads", ["org_unit_id"])
    op.create_table(
        "road_vehicle_types",
        sa.Column("road_id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["road_id"], ["roads.id"], name=op.f("fk_road_vehicle_types_road_id_roads")
        ),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["vehicle_types.id"],
            name=op.f("fk_road_vehicle_types_type_id_vehicle_types"),
        ),
        sa.PrimaryKeyConstraint("road_id", "type_id", name=op.f("pk_road_vehicle_types")),
    )
    op.create_table(
        "geofences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("coordinates", sa.JSON(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geofences")),
        sa.UniqueConstraint("code", name=op.f("uq_geofences_code")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Days without their own partition yet land here; the gps-partitions job makes the
        # coming days' partitions ahead and drops those past retention.
        op.execute("CREATE TABLE vehicle_fixes_default PARTITION OF vehicle_fixes DEFAULT")


def downgrade() -> None:
    op.drop_table("geofences")
    op.drop_table("road_vehicle_types")
    op.drop_index(op.f("ix_roads_org_unit_id"), table_name="roads")
    op.drop_table("roads")
    op.drop_table("collection_checks")
    op.drop_index(
        op.f("ix_collection_point_vehicles_vehicle_id"), table_name="collection_point_vehicles"
    )
    op.drop_table("collection_point_vehicles")
    op.drop_table("collection_points")
    op.drop_table("vehicle_fixes")
    op.drop_index(op.f("ix_vehicle_trackers_vehicle_id"), table_name="vehicle_trackers")
    op.drop_index(op.f("ix_vehicle_trackers_person_id"), table_name="vehicle_trackers")
    op.drop_table("vehicle_trackers")
    op.drop_index(op.f("ix_vehicles_type_id"), table_name="vehicles")
    op.drop_index(op.f("ix_vehicles_org_unit_id"), table_name="vehicles")
    op.drop_table("vehicles")
    op.drop_table("vehicle_types")
