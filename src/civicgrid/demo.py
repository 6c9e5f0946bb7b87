"""`civicgrid demo`: the Xiangfang District (香坊区, Harbin) demo.

The district outline is real (see data/boundaries/README.md). Street, community and grid
boundaries are illustrative: drawn by geo.demo_geometry, with real street names. Running it
again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources

import httpx
from rich.console import Console
from shapely.geometry import box, shape
from sqlalchemy.orm import Session

from civicgrid.auth import service as auth_service
from civicgrid.geo import datum, demo_geometry
from civicgrid.geo import queries as geo_queries
from civicgrid.geo import service as geo_service
from civicgrid.kit.db import session_scope
from civicgrid.org import service as org_service

CITY = ("2301", "哈尔滨市")
DISTRICT = ("230110", "香坊区")
# 20 streets, 3 towns and 1 township. Names are real; the seed points only place them roughly
# (urban streets in the north-west, towns and the township to the east and south).
STREETS = [
    "香坊大街街道",
    "安埠街道",
    "通天街道",
    "黎明街道",
    "新香坊街道",
    "铁东街道",
    "红旗街道",
    "六顺街道",
    "建筑街道",
    "哈平路街道",
    "大庆路街道",
    "进乡街道",
    "通乡街道",
    "和平路街道",
    "民生路街道",
    "文政街道",
    "王兆街道",
    "新成街道",
    "健康路街道",
    "公滨路街道",
]
RURAL = [
    ("幸福镇", (126.80, 45.72)),
    ("成高子镇", (126.76, 45.64)),
    ("朝阳镇", (126.93, 45.72)),
    ("向阳乡", (126.88, 45.64)),
]
DEPARTMENTS = [
    ("230110901", "区环境卫生服务中心", "环卫部门"),
    ("230110902", "区市政设施维护中心", "市政公用部门"),
    ("230110903", "区园林绿化中心", "园林绿化部门"),
    ("230110904", "区交通管理大队", "交通管理部门"),
    ("230110905", "区城市管理行政执法局", "城市管理部门"),
]
COMMAND_CENTRE = ("230110900", "区数字城管指挥中心")
NUMERALS = "一二三四五六七八九十"
DEMO_PASSWORD = "civicgrid-demo"
# (username, name, unit, roles, title, phone)
USERS = [
    ("admin", "系统管理员", COMMAND_CENTRE[0], ["admin"], "管理员", "13800000001"),
    ("leader", "王建国", DISTRICT[0], ["leader"], "副区长", "13800000002"),
    ("dispatcher", "李秀梅", COMMAND_CENTRE[0], ["dispatcher"], "值班长", "13800000003"),
    ("operator", "赵丽", COMMAND_CENTRE[0], ["operator"], "12319受理员", "13800000004"),
    ("supervisor", "张秋生", "230110001001", ["supervisor"], "网格员", "13912341234"),
    ("handler", "刘洋", "230110001", ["handler"], "街道城管办", "13800000006"),
    ("sanitation", "孙志强", "230110901", ["handler"], "环卫队长", "13800000007"),
]


def _numeral(n: int) -> str:
    if n <= 10:
        return NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return (NUMERALS[tens - 1] if tens > 1 else "") + "十" + (NUMERALS[ones - 1] if ones else "")


def district_outline():
    """The real outline of Xiangfang, converted from GCJ-02 to WGS-84."""
    text = resources.files("civicgrid.data").joinpath("boundaries/230110.geojson").read_text()
    gcj = json.loads(text)
    return datum.shape_to_wgs84(shape(gcj), "gcj02")


def build_geography() -> dict:
    """The demo FeatureCollection: district, 24 streets/towns, communities, ~34,000 grids."""
    outline = demo_geometry.rounded(district_outline())
    features = [demo_geometry.feature("district", DISTRICT[0], DISTRICT[1], outline)]
    urban = outline.intersection(box(126.56, 45.66, 126.74, 45.82))
    spacing = 0.04
    while len(lattice := demo_geometry.lattice_seeds(urban, spacing)) < len(STREETS):
        spacing *= 0.9
    step = len(lattice) / len(STREETS)
    urban_seeds = [lattice[int(i * step)] for i in range(len(STREETS))]
    seeds = urban_seeds + [p for _, p in RURAL]
    names = STREETS[: len(urban_seeds)] + [n for n, _ in RURAL]
    streets = demo_geometry.voronoi_split(outline, seeds)
    for s_no, (name, street) in enumerate(zip(names, streets, strict=True), start=1):
        street = demo_geometry.rounded(street)
        s_code = f"{DISTRICT[0]}{s_no:03d}"
        features.append(demo_geometry.feature("street", s_code, name, street, DISTRICT[0]))
        rural = not name.endswith("街道")
        spacing = 0.028 if rural else 0.014
        communities = demo_geometry.voronoi_split(
            street, demo_geometry.lattice_seeds(street, spacing)
        )
        short = name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
        for c_no, community in enumerate(communities, start=1):
            community = demo_geometry.rounded(community)
            if community.is_empty:
                continue
            c_code = f"{s_code}{c_no:03d}"
            c_name = f"{short}{_numeral(c_no)}{'村' if rural else '社区'}"
            features.append(demo_geometry.feature("community", c_code, c_name, community, s_code))
            side = 100.0
            cells = demo_geometry.square_cells(community, side)
            while len(cells) > 999:  # the 3-digit grid sequence of the national code
                side *= 1.25
                cells = demo_geometry.square_cells(community, side)
            responsible = ["supervisor"] if c_code == "230110001001" else None
            for g_no, cell in enumerate(cells, start=1):
                features.append(
                    demo_geometry.feature(
                        "grid",
                        f"{c_code}{g_no:03d}",
                        f"{c_name}{g_no}号网格",
                        cell,
                        c_code,
                        responsible if g_no <= 20 else None,
                    )
                )
    return {"type": "FeatureCollection", "features": features}


def _ensure_org(session: Session) -> None:
    org_service.ensure_unit(session, code=CITY[0], name=CITY[1], kind="city", parent_code=None)
    org_service.ensure_unit(
        session, code=DISTRICT[0], name=DISTRICT[1], kind="district", parent_code=CITY[0]
    )
    org_service.ensure_unit(
        session,
        code=COMMAND_CENTRE[0],
        name=COMMAND_CENTRE[1],
        kind="team",
        parent_code=DISTRICT[0],
    )
    for code, name, dept_type in DEPARTMENTS:
        org_service.ensure_unit(
            session,
            code=code,
            name=name,
            kind="department",
            parent_code=DISTRICT[0],
            dept_type=dept_type,
        )


@lru_cache
def _demo_hash() -> str:
    return auth_service.hash_password(DEMO_PASSWORD)


def _ensure_unit_handlers(session: Session) -> None:
    """One handler account per street office and department (h + unit code), for the demo
    cases; their password is the demo one too."""
    units = [(a.code, a.name) for a in geo_service.areas(session, level="street")]
    units += [(code, name) for code, name, _ in DEPARTMENTS]
    for n, (code, name) in enumerate(units, start=1):
        username = f"h{code}"
        if auth_service.get_user(session, username) is None:
            auth_service.create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                name=f"{name}处置员",
                org_unit_code=code,
                roles=["handler"],
                title="处置人员",
                phones=[f"1370000{n:04d}"],
                password_hash=_demo_hash(),
            )


def _ensure_users(session: Session, console: Console) -> None:
    for username, name, unit, roles, title, phone in USERS:
        if auth_service.get_user(session, username) is None:
            auth_service.create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                name=name,
                org_unit_code=unit,
                roles=roles,
                title=title,
                phones=[phone],
                password_hash=_demo_hash(),
            )
            console.print(
                f"  user [bold]{username}[/bold] ({', '.join(roles)}) password: {DEMO_PASSWORD}"
            )


def load(console: Console, *, cases: int = 0, fleet: bool = True) -> None:
    """Load the demo; parts already there are left as they are."""
    with session_scope() as session:
        have_geo = geo_queries.area_exists(session, DISTRICT[0])
        _ensure_org(session)
        if not have_geo:
            console.print("drawing illustrative streets, communities and grids of 香坊区 …")
            result = geo_service.import_geojson(session, build_geography())
            console.print("  " + ", ".join(f"{k} {v}" for k, v in result.by_level.items()))
        _ensure_users(session, console)
        _ensure_unit_handlers(session)
        # the rules that route reports, with or without demo cases
        from civicgrid.cases import demo as cases_demo

        cases_demo.ensure_rules(session)
        from civicgrid.notices import demo as notices_demo

        if made := notices_demo.ensure_notices(session):
            console.print(f"  {made} demo notices published")
    if cases:
        with session_scope() as session:
            made = cases_demo.ensure_cases(session, count=cases)
        if made:
            console.print(f"  {made} demo cases created")
    if fleet:
        _load_fleet(console)
        _load_snow(console)
    console.print("demo ready. Street, community and grid boundaries are illustrative.")


# --- the fleet --------------------------------------------------------------------------------


def _load_fleet(console: Console, now: dt.datetime | None = None) -> None:
    """The sanitation centre's fleet, roads and collection points (vehicles.demo), and its
    yesterday and today so far sent as the trackers send: the trucks' JT/T 808 terminals through
    an in-process gateway over TCP, the handler's phone as an HTTP batch to the app itself."""
    from civicgrid.kit.timefmt import local_zone
    from civicgrid.vehicles import demo as vehicles_demo
    from civicgrid.vehicles import simulate

    with session_scope() as session:
        phone_user = auth_service.get_user(session, "sanitation")
        made = vehicles_demo.ensure_fleet(
            session, phone_person_id=phone_user.person_id if phone_user else None
        )
    if made is None:
        return
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(local_zone()).date()
    days = [today - dt.timedelta(days=1), today]
    sent = 0
    with simulate.in_process_gateway() as (host, port):
        for vehicle in made.vehicles:
            fixes = [f for day in days for f in vehicles_demo.sendable(vehicle.day(day), now)]
            sent += simulate.send_day(host, port, vehicle.terminal, vehicle.plate, fixes)
    console.print(f"  {len(made.vehicles)} vehicles: {sent} fixes through the JT/T 808 gateway")
    if made.phone_token:
        fixes = [
            f for day in days for f in vehicles_demo.sendable(vehicles_demo.phone_day(day), now)
        ]
        body = [
            {
                "time": f.time.isoformat(),
                "lon": f.lon,
                "lat": f.lat,
                "speed": f.speed,
                "direction": f.direction,
            }
            for f in fixes
        ]
        with _serving_app() as base:
            answer = httpx.post(
                f"{base}/api/v1/gps/fixes",
                json=body,
                headers={"X-Device-Token": made.phone_token},
                timeout=60,
            )
        answer.raise_for_status()
        console.print(f"  a handler's phone: {answer.json()['stored']} fixes through HTTP")


def _load_snow(console: Console, now: dt.datetime | None = None) -> None:
    """The snow season (snowfields.demo): sections, two dumping fields, ploughs, a loader and
    haulers, and yesterday's snowfall; the trucks' yesterday and today so far sent through the
    in-process JT/T 808 gateway, so that the trips come from tracks as they would."""
    from civicgrid.snowfields import demo as snow_demo
    from civicgrid.vehicles import demo as vehicles_demo
    from civicgrid.vehicles import simulate

    now = now or dt.datetime.now(dt.UTC)
    with session_scope() as session:
        fleet, days = snow_demo.ensure_snow(session, now)
    if not fleet:
        return
    sent = 0
    with simulate.in_process_gateway() as (host, port):
        for vehicle in fleet:
            fixes = [f for day in days for f in vehicles_demo.sendable(vehicle.day(day), now)]
            sent += simulate.send_day(host, port, vehicle.terminal, vehicle.plate, fixes)
    console.print(
        f"  snow season: {len(snow_demo.SECTIONS)} sections, {len(snow_demo.FIELDS)} fields, "
        f"{len(fleet)} snow vehicles: {sent} fixes through the JT/T 808 gateway"
    )


@contextmanager
def _serving_app() -> Iterator[str]:
    """The app on a free port of 127.0.0.1 in a thread (no scheduler), for the demo's HTTP
    ingest; yields its base URL."""
    import uvicorn

    from civicgrid.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the demo's in-process server did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
