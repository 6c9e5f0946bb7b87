"""Demo cases: a few months of realistic histories made through the same services as live
work (report, accept, dispatch, take, extensions, returns, rework, checks, ratings)."""

from __future__ import annotations

import datetime as dt
import io
import random
from functools import lru_cache

from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.cases import intake, policy, routing, service
from civicgrid.cases.exceptions import BadAction
from civicgrid.cases.models import Case
from civicgrid.config import get_settings
from civicgrid.geo.index import index as geo_index
from civicgrid.kit.db import utcnow
from civicgrid.media import service as media_service
from civicgrid.media.service import CheckedImage

# Categories weighted roughly like a northern city's caseload (events, by 5-digit code).
CATEGORIES = [
    ("06010", 18),
    ("06012", 10),
    ("07001", 10),
    ("09006", 9),
    ("09009", 8),
    ("06011", 6),
    ("06029", 4),
    ("01002", 5),
    ("01037", 5),
    ("01001", 3),
    ("03005", 5),
    ("03001", 2),
    ("06001", 2),
    ("09001", 4),
    ("08001", 3),
    ("02001", 2),
    ("04001", 1),
    ("10001", 3),
]
SOURCES = [("citizen", 45), ("supervisor", 25), ("hotline", 20), ("open311", 5), ("staff", 5)]
SCORES = [(5, 50), (4, 25), (3, 12), (2, 8), (1, 5)]
DEMO_RULES = [
    ("*", "street", None),
    ("01", "department", None),
    ("02", "department", None),
    ("03", "department", None),
    ("04", "department", None),
]
WORDS = {
    "06010": "路边暴露垃圾",
    "06012": "道路不洁, 有泥土",
    "07001": "电线杆上贴满小广告",
    "09006": "早市占道经营",
    "09009": "人行道上机动车乱停",
    "06011": "积存垃圾渣土",
    "06029": "夜间露天烧烤",
    "01002": "污水井盖缺失",
    "01037": "路灯不亮",
    "01001": "供水井盖破损",
    "03005": "垃圾箱满溢",
    "03001": "公厕无人清扫",
    "06001": "院内私搭乱建",
    "09001": "无照游商",
    "08001": "夜间施工扰民",
    "02001": "停车场标线模糊",
    "04001": "古树枝干折断",
    "10001": "人行道积雪结冰未清",
}


# The demo's after-photos (处置后): small scenes drawn with Pillow, (sky, ground, thing) colours.
SCENES = [
    ((170, 200, 230), (120, 120, 125), (40, 140, 70)),  # a cleared street, a green bin
    ((190, 210, 235), (140, 135, 130), (60, 110, 170)),  # a pavement, a blue sign
    ((160, 190, 220), (110, 115, 110), (200, 170, 60)),  # a road, a yellow barrier
    ((200, 215, 235), (150, 150, 150), (230, 230, 230)),  # a kerb swept of snow
]


@lru_cache
def demo_photos() -> tuple[CheckedImage, ...]:
    """The demo's after-photos: real JPEGs (320×240, a few KB each), checked as an upload is."""
    out = []
    for n, (sky, ground, thing) in enumerate(SCENES):
        img = Image.new("RGB", (320, 240), sky)
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, 140, 320, 240), fill=ground)
        draw.polygon([(120, 240), (150, 140), (170, 140), (200, 240)], fill=(90, 90, 95))
        for x in range(150, 170, 6):  # the road's centre line
            draw.line((x + 10, 150, x + 12, 230), fill=(235, 235, 220), width=2)
        draw.rectangle((40 + 30 * n, 95, 80 + 30 * n, 150), fill=thing, outline=(30, 30, 30))
        draw.ellipse((230, 60, 300, 130), fill=(70, 130, 70))  # a tree
        draw.rectangle((262, 125, 268, 160), fill=(100, 70, 40))
        draw.text((8, 8), f"civicgrid demo - after #{n + 1}", fill=(20, 20, 20))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=80)
        out.append(media_service.check_image(buf.getvalue(), get_settings(), "demo.jpg"))
    return tuple(out)


def _pick(rng: random.Random, weighted):
    items, weights = zip(*weighted, strict=True)
    return rng.choices(items, weights=weights)[0]


def ensure_rules(session: Session) -> None:
    """The demo's rules, unless the district has rules of its own (init's default rule does not
    count: the demo's department rules come beside it)."""
    if any(not routing.is_default(r) for r in routing.list_rules(session)):
        return
    for match, target, unit in DEMO_RULES:
        routing.add_rule(
            session,
            match=match,
            target=target,
            unit_code=unit,
            note="demo: streets by default, departments for the facilities",
        )


def _random_point(rng: random.Random) -> tuple[float, float]:
    urban = rng.random() < 0.8
    box = (126.58, 45.66, 126.74, 45.80) if urban else (126.56, 45.59, 126.99, 45.82)
    for _ in range(200):
        lon, lat = rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
        if geo_index.locate(lon, lat)["grid"] is not None:
            return lon, lat
    raise RuntimeError("no demo point found inside the district")


def _daytime(rng: random.Random, day: dt.datetime) -> dt.datetime:
    local = day.astimezone(dt.timezone(dt.timedelta(hours=8)))
    hour = rng.choices(range(6, 22), weights=[1, 3, 8, 10, 10, 8, 6, 7, 9, 9, 8, 6, 4, 3, 2, 1])[0]
    return local.replace(
        hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0
    ).astimezone(dt.UTC)


def ensure_cases(session: Session, *, count: int, days: int = 90, seed: int = 20261125) -> int:
    """Create `count` demo cases over the last `days` days, unless there are cases already."""
    if session.scalar(select(func.count(Case.id))):
        return 0
    # the evidence rules as configured: each report_done brings a demo after-photo
    settings = get_settings()
    ensure_rules(session)
    geo_index.ensure_fresh(session)
    rng = random.Random(seed)
    now = utcnow()
    start = now - dt.timedelta(days=days)
    moments = sorted(
        _daytime(rng, start + dt.timedelta(seconds=rng.uniform(0, days * 86400)))
        for _ in range(count)
    )
    made = 0
    for t0 in moments:
        if t0 >= now:
            continue
        _one_case(session, settings, rng, t0, now)
        made += 1
    return made


def _one_case(session, settings, rng: random.Random, t0: dt.datetime, now: dt.datetime) -> None:
    source = _pick(rng, SOURCES)
    category = _pick(rng, CATEGORIES)
    lon, lat = _random_point(rng)
    reporter = {
        "citizen": policy.Actor.citizen(),
        "open311": policy.Actor.system(),
        "supervisor": policy.Actor("supervisor", "supervisor"),
        "hotline": policy.Actor("operator", "operator"),
        "staff": policy.Actor("dispatcher", "dispatcher"),
    }[source]
    case = intake.report(
        session,
        settings,
        source=source,
        category=category,
        actor=reporter,
        lon=lon,
        lat=lat,
        address=f"香坊区演示地址{rng.randrange(1, 300)}号",
        description=WORDS.get(category, "演示案件"),
        contact_phone=f"139{rng.randrange(10**8):08d}" if source in ("citizen", "hotline") else "",
        at=t0,
    )
    t = t0
    disp = policy.Actor("dispatcher", "dispatcher")

    def step(action: str, minutes: float, actor, **kw) -> bool:
        nonlocal t
        nxt = t + dt.timedelta(minutes=max(minutes, 0.1))
        if nxt >= now:
            return False
        if action == "report_done":  # the after-photo, by the path of every live action
            kw["photos"] = [rng.choice(demo_photos())]
        try:
            service.act(session, settings, case, action, actor=actor, at=nxt, **kw)
        except BadAction:
            return False
        t = nxt
        return True

    if case.state == "reported":
        if case.queue_reason not in ("manual", "needs_acceptance"):
            return  # outside every grid or no rule: waits for the dispatcher
        if rng.random() < 0.04:
            step(
                "reject",
                rng.uniform(5, 60),
                policy.Actor("operator", "operator"),
                note="重复上报, 不予立案",
            )
            return
        if not step("accept", rng.uniform(2, 30), policy.Actor("operator", "operator")):
            return
        if not step("dispatch", rng.uniform(1, 20), disp):
            return
    handler = policy.Actor(f"h{case.unit_code}", "handler", None)
    if rng.random() < 0.05:
        if not step("return", rng.uniform(10, 90), handler, note="不属于本单位职责"):
            return
        unit = rng.choice(
            [u for u in ("230110001", "230110002", "230110003") if u != case.unit_code]
        )
        if not step("dispatch", rng.uniform(5, 40), disp, payload={"unit": unit}):
            return
        handler = policy.Actor(f"h{case.unit_code}", "handler", None)
    if not step("take", rng.uniform(5, 120), handler):
        return
    allowed = (case.deadline - t).total_seconds() / 60 if case.deadline else 240
    if rng.random() < 0.08:
        until = (case.deadline or t) + dt.timedelta(days=rng.randint(1, 3))
        if step(
            "extend_request",
            allowed * 0.5,
            handler,
            note="需要协调施工队",
            payload={"until": until.isoformat()},
        ):
            step("extend_approve", rng.uniform(10, 120), disp, note="同意延期")
            allowed = (case.deadline - t).total_seconds() / 60
    if rng.random() < 0.03:
        if not step("suspend", rng.uniform(10, 60), disp, note="等待季节性施工"):
            return
        if not step("resume", rng.uniform(60, 60 * 48), disp):
            return
    late = rng.random() < 0.25
    done_after = allowed * (rng.uniform(1.05, 2.5) if late else rng.uniform(0.1, 0.9))
    if not step("report_done", done_after, handler, note="已处置完毕"):
        return
    verifier = policy.Actor("supervisor", "supervisor")
    if rng.random() < 0.1:
        if not step("verify_fail", rng.uniform(30, 240), verifier, note="现场仍未处理干净"):
            return
        if not step("report_done", rng.uniform(30, 300), handler, note="已返工"):
            return
    if not step("verify_pass", rng.uniform(30, 240), verifier, note="现场核查已处置"):
        return
    if case.source in ("citizen", "hotline", "open311") and rng.random() < 0.6:
        step(
            "rate",
            rng.uniform(60, 60 * 24),
            policy.Actor("operator", "operator"),
            payload={"score": _pick(rng, SCORES)},
            note="电话回访",
        )
