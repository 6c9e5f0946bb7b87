"""The request list is set-based (issue 12, item 13): a fixed number of queries per page,
however many requests are on it, each request as the single-request answer shows it."""

from contextlib import contextmanager

from sqlalchemy import event, select

from civicgrid.cases import service as case_service
from civicgrid.cases.policy import Actor
from civicgrid.citizen import service as citizen_service
from civicgrid.config import get_settings
from civicgrid.media.models import Photo
from tests.open311.conftest import a_case

V2 = "/open311/v2"
DISPATCHER = Actor("disp", "dispatcher")


@contextmanager
def counting_selects(engine):
    """The SELECT statements run on the engine inside the block."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def with_history(session, case):
    """An internal note (urge), a public one (suspend, marked so), another internal one
    (comment) on the case."""
    settings = get_settings()
    case_service.transition(session, settings, case, "urge", actor=DISPATCHER, note="内部催办")
    case_service.transition(
        session, settings, case, "suspend", actor=DISPATCHER, note="等待施工", public=True
    )
    case_service.transition(session, settings, case, "comment", actor=DISPATCHER, note="内部备注")
    session.flush()


def test_a_page_costs_the_same_queries_for_3_requests_and_for_60(client, session, engine, district):
    # Given 3 public requests with photos and notes
    for _ in range(3):
        with_history(session, a_case(session, photos=1))
    with counting_selects(engine) as few:
        small = client.get(f"{V2}/requests.json", params={"page_size": 1000})
    assert len(small.json()) == 3

    # When 57 more are added, of other services, and the page is read again
    for n in range(57):
        case = a_case(session, photos=n % 2, category="01002" if n % 3 else "06010")
        if n % 4 == 0:
            with_history(session, case)
    with counting_selects(engine) as many:
        big = client.get(f"{V2}/requests.json", params={"page_size": 1000})
    assert len(big.json()) == 60

    # Then the number of queries is the same: the cases, agencies, services, photos, notes,
    # the reports' payloads (a client's media_url as given)
    assert len(few) == len(many) <= 6, many


def test_each_listed_request_is_as_the_single_request_shows_it(client, session, district):
    # Given requests of two services, with and without photos, notes and public notes
    made = []
    for n in range(8):
        case = a_case(session, photos=n % 3, category=("06010", "01002")[n % 2])
        if n % 2:
            with_history(session, case)
        made.append(case)

    # When the list is read
    page = client.get(f"{V2}/requests.json").json()

    # Then each item equals the answer for that request alone
    assert len(page) == len(made)
    for item in page:
        one = client.get(f"{V2}/requests/{item['service_request_id']}.json").json()
        assert one == [item]
    by_id = {x["service_request_id"]: x for x in page}
    for n, case in enumerate(made):
        item = by_id[case.code]
        # the step's public text and the latest public note, never the internal ones
        assert item["status_notes"] == ("挂账; 等待施工" if n % 2 else "已派遣至东风街道")
        # where a code is a component and an event, the event's name
        assert item["service_name"] == ("暴露垃圾", "污水井盖异常")[n % 2]
        assert item["agency_responsible"] == "东风街道"
        # the first report photo
        photos = list(
            session.scalars(select(Photo.id).where(Photo.case_id == case.id).order_by(Photo.id))
        )
        assert (item["media_url"] or "").endswith(f"/{photos[0]}.jpg" if photos else "")


def test_latest_public_notes_of_many_cases_in_one_query(session, engine, district):
    # Given a case with a public note then internal ones, one with none, and one rejected (a
    # hotline case waits for acceptance, so it can be)
    noted, plain, rejected = a_case(session), a_case(session), a_case(session, "hotline")
    with_history(session, noted)
    settings = get_settings()
    case_service.transition(session, settings, rejected, "comment", actor=DISPATCHER, note="x")
    case_service.transition(
        session,
        settings,
        rejected,
        "reject",
        actor=Actor("oper", "operator"),
        note="重复上报",
        public=True,
    )
    session.flush()
    ids = [noted.id, plain.id, rejected.id]
    # When their latest public notes are asked for together
    with counting_selects(engine) as queries:
        notes = citizen_service.latest_public_notes(session, ids)
    # Then one query answers what latest_public_note answers for each
    assert len(queries) == 1
    assert notes == {noted.id: "等待施工", rejected.id: "重复上报"}
    for case in (noted, plain, rejected):
        assert citizen_service.latest_public_note(session, case) == notes.get(case.id)
