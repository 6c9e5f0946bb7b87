"""A district whose every text a page shows is an attack: names of places, units, people and
their titles, a category, the reporter, addresses, descriptions, the notes of events, a holiday
note. Made through the services, as the small world of tests/factories.py. Case codes stay
the system's own (import will only take letters, digits and '-')."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from civicgrid.cases import admin as case_admin
from civicgrid.cases import policy as case_policy
from civicgrid.cases import routing
from civicgrid.cases import service as case_service
from civicgrid.categories import service as cat_service
from civicgrid.citizen import service as citizen_service
from civicgrid.config import Settings
from civicgrid.geo import service as geo_service
from civicgrid.kit import refcache
from civicgrid.kit.db import utcnow
from civicgrid.org import service as org_service
from tests.conftest import DATA
from tests.factories import COMMUNITY_A, POINT_A, POINT_B, SMALL_DISTRICT, STREET_A, user
from tests.spotchecks.seed import spot_day

# Each would run script if a page turned it into HTML (or, the third, into a link).
ATTACKS = (
    "<img src=x onerror=window.__xss=1>",
    '"><svg onload=window.__xss=1>',
    "javascript:window.__xss=1",
    "</script><script>window.__xss=1</script>",
)
ALL = " ".join(ATTACKS)  # for the long texts: descriptions, addresses, notes
HOLIDAY = f"{ATTACKS[0]} {ATTACKS[3]}"  # a holiday's note: at most 100 characters
CATEGORY = "06010"  # 暴露垃圾, renamed for the test and put back after it
TEAM = "239901900"
DEPARTMENT = "239901901"


def attack(n: int) -> str:
    return ATTACKS[n % len(ATTACKS)]


@dataclass
class Hostile:
    """What the pages should show, as text."""

    tracked: str = ""  # a closed, rated case a citizen follows
    secret: str = ""
    codes: list[str] = field(default_factory=list)
    people: dict[str, str] = field(default_factory=dict)  # username: name, one per role
    notices: list[int] = field(default_factory=list)  # an internal notice, a public warning
    worklog: int = 0  # the handler's work log of today, returned by the leader
    spot: dict = field(default_factory=dict)  # a day of spot checks (tests/spotchecks/seed.py)


def rename_category(session: Session, name: str | None) -> None:
    """Give the category a hostile name (None: the packaged catalogue's own). The categories
    outlive a test and the report page keeps its list for the process: both are reset."""
    if name is None:
        cat_service.import_categories(session, cat_service.packaged_csv("categories.csv"))
    else:
        text = cat_service.packaged_csv("categories.csv")
        rows = [
            r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))) if r["code"] == CATEGORY
        ]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=cat_service.CATEGORY_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "name": name, "keywords": name, "major_name": attack(1)})
        cat_service.import_categories(session, out.getvalue())
    refcache.clear()  # the report page's catalogue is reference data


def hostile_world(session: Session) -> Hostile:
    settings = Settings()
    out = Hostile()
    rename_category(session, f"{attack(3)}暴露垃圾")

    # Places and units: the geography of tests/factories.py with an attack in every name.
    org_service.ensure_unit(session, code="2399", name=attack(0), kind="city", parent_code=None)
    org_service.ensure_unit(
        session, code=SMALL_DISTRICT, name=attack(1), kind="district", parent_code="2399"
    )
    data = json.loads((DATA / "geo-small.geojson").read_text(encoding="utf-8"))
    for n, feature in enumerate(data["features"]):
        feature["properties"]["name"] = f"{attack(n)} {feature['properties']['name']}"
    geo_service.import_geojson(session, data)
    session.flush()
    geo_service.refresh_index(session)
    org_service.ensure_unit(
        session,
        code=DEPARTMENT,
        name=attack(2),
        kind="department",
        parent_code=SMALL_DISTRICT,
        dept_type="环卫部门",
    )
    org_service.ensure_unit(
        session, code=TEAM, name=attack(3), kind="team", parent_code=SMALL_DISTRICT
    )
    routing.add_rule(session, match="*", target="street")
    routing.add_rule(session, match="03", target="department")

    # People: every account's name and some titles are attacks.
    roles = [
        ("disp", "dispatcher", TEAM),
        ("oper", "operator", TEAM),
        ("lead", "leader", SMALL_DISTRICT),
        ("boss", "admin", TEAM),
        ("ha", "handler", STREET_A),
        ("sup", "supervisor", COMMUNITY_A),
    ]
    for n, (username, role, unit) in enumerate(roles):
        user(session, username, [role], unit, phones=[f"1390000{n:04d}"], name=attack(n))
        out.people[username] = attack(n)
    for n in range(4):
        org_service.create_person(
            session,
            name=f"张{attack(n)}",
            title=attack(n + 1),
            org_unit_code=STREET_A,
            phones=[f"1380000{n:04d}"],
        )
    case_admin.set_day(session, day=dt.date(2099, 1, 5), is_workday=False, note=HOLIDAY)

    # Cases in every queue, with attacks in the texts and in the notes of their events.
    def report(point=POINT_A, at=None, category=CATEGORY) -> citizen_service.Submitted:
        done = citizen_service.submit(
            session,
            settings,
            category=category,
            lon=point[0] if point else None,
            lat=point[1] if point else None,
            address=ALL,
            description=ALL,
            name=attack(0),
            phone="13900009999",
            at=at,
        )
        out.codes.append(done.case.code)
        return done

    handler = case_policy.Actor("ha", "handler", frozenset({STREET_A}))
    dispatcher = case_policy.Actor("disp", "dispatcher")
    supervisor = case_policy.Actor("sup", "supervisor")

    def act(case, action, actor, **payload):
        # the notes are marked public: the citizen's page shows them, and must escape them
        case_service.transition(
            session,
            settings,
            case,
            action,
            actor=actor,
            note=ALL,
            payload=payload,
            photos=1,
            public=True,
        )

    tracked = report()  # closed, rated badly: the complaint queue, the citizen's page
    for action, actor in (
        ("comment", dispatcher),
        ("urge", dispatcher),
        ("take", handler),
        ("report_done", handler),
        ("verify_fail", supervisor),
        ("report_done", handler),
        ("verify_pass", supervisor),
    ):
        act(tracked.case, action, actor)
    citizen_service.rate(session, settings, tracked.case, score=1, comment=ALL)
    out.tracked, out.secret = tracked.case.code, tracked.secret

    act(report().case, "return", handler)  # the returned queue
    extended = report().case  # an extension asked for
    act(extended, "take", handler)
    act(extended, "extend_request", handler, until=extended.deadline + dt.timedelta(days=3))
    resolved = report().case  # waiting for the supervisor
    act(resolved, "take", handler)
    act(resolved, "report_done", handler)
    report(at=utcnow() - dt.timedelta(days=20))  # red light
    report(point=None)  # no location: waits to be accepted
    report(point=POINT_B, category="03005")  # the department's
    out.notices = _notices(session)
    session.flush()

    # The handler's work log of today: the draft from their actions (notes and addresses are
    # attacks), a line of their own, submitted, returned by the leader with a hostile comment.
    from civicgrid.auth import service as auth_service
    from civicgrid.worklogs import service as worklogs_service

    ha, lead = (auth_service.require_user(session, name) for name in ("ha", "lead"))
    log = worklogs_service.write_draft(session, ha, worklogs_service.today())
    line = worklogs_service.EntryIn(at=utcnow(), text=ALL, lon=POINT_A[0], lat=POINT_A[1])
    worklogs_service.add_entry(session, settings, ha, log, line)
    worklogs_service.submit(session, ha, log)
    worklogs_service.review(session, lead, log, decision="return", comment=ALL)
    out.worklog = log.id
    # spot checks on roads named by attacks, by a contractor named by one; the finished
    # check's case has its road's name as its address
    out.spot = spot_day(session, names=(f"{ALL}1", f"{ALL}2"), contractor=attack(2))
    out.codes.append(out.spot["spot_case"])
    session.flush()
    return out


def _notices(session) -> list[int]:
    """Notices whose titles, texts (Markdown and raw HTML) and steps' notes are attacks: an
    internal one to street A with its read receipts, and a public warning."""
    from civicgrid.auth import service as auth_service
    from civicgrid.notices import service as notices_service

    disp, lead = (auth_service.require_user(session, u) for u in ("disp", "lead"))
    notice = notices_service.create(
        session,
        kind="notice",
        by=disp,
        title=ATTACKS[1][:200],
        body=f"{ALL}\n\n[x]({ATTACKS[2]})\n\n**{ATTACKS[0]}**",
        audience="internal",
        unit_codes=[STREET_A],
    )
    for action, who in (("submit", disp), ("approve", lead), ("publish", lead)):
        notices_service.step(session, notice, action, by=who, note=ALL[:500])
    warning = notices_service.publish_warning(
        session, title=ATTACKS[0], body=ALL, by=lead, area_codes=[]
    )
    return [notice.id, warning.id]
