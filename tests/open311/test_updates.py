"""FixMyStreet's service request updates: GET the public steps, POST a citizen's update.

The shapes are those FixMyStreet's Open311 client sends and parses (perllib/Open311.pm:
`get_service_request_updates`, `post_service_request_update`; Open311/UpdatesBase.pm): W3CDTF
dates, `<service_request_updates><request_update>…`, an `update_id` back from a POST.
"""

import datetime as dt

import xmltodict

from civicgrid.cases import policy as case_policy
from civicgrid.cases import service as case_service
from civicgrid.cases.models import Case
from civicgrid.citizen import service as citizen_service
from civicgrid.config import get_settings
from civicgrid.media import service as media_service
from civicgrid.open311 import service as o311
from tests.images import jpeg
from tests.open311.test_open311 import post

V2 = "/open311/v2"
DISPATCHER = case_policy.Actor("disp", "dispatcher")


def window(**extra):
    """The span FixMyStreet's cron asks for (the last two hours, W3CDTF in UTC)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "start_date": (now - dt.timedelta(hours=2)).strftime(fmt),
        "end_date": (now + dt.timedelta(minutes=1)).strftime(fmt),
        **extra,
    }


def updates(client, api_key, fmt="xml", **params):
    r = client.get(f"{V2}/servicerequestupdates.{fmt}", params={"api_key": api_key, **params})
    assert r.status_code == 200, r.text
    if fmt == "json":
        return r.json()
    found = xmltodict.parse(r.text, force_list=("request_update",))["service_request_updates"]
    return (found or {}).get("request_update", [])


def finish(session, code: str, *, public_note: str | None = None) -> Case:
    """take, report_done with an after photo, verify_pass (its note public if given)."""
    settings = get_settings()
    case = case_service.get_case(session, code)
    handler = case_policy.Actor("ha", "handler", frozenset({case.unit_code}))
    case_service.transition(session, settings, case, "take", actor=handler)
    done = case_service.transition(
        session, settings, case, "report_done", actor=handler, note="已清运", photos=1
    )
    media_service.attach(
        session,
        settings,
        case_id=case.id,
        event_id=done.id,
        stage="done",
        image=media_service.check_image(jpeg(color=(10, 200, 10)), settings),
    )
    case_service.transition(
        session,
        settings,
        case,
        "verify_pass",
        actor=DISPATCHER,
        note=public_note or "内部: 已核实",
        public=public_note is not None,
    )
    session.flush()
    return case


def test_every_staff_step_reaches_the_partner_with_extended_statuses(client, session, api_key):
    code = post(client, api_key, fmt="xml").text.split("<service_request_id>")[1].split("<")[0]
    finish(session, code, public_note="已清理干净")
    found = [u for u in updates(client, api_key, **window()) if u["service_request_id"] == code]
    assert [u["status"] for u in found] == [
        "INVESTIGATING",
        "ACTION_SCHEDULED",
        "IN_PROGRESS",
        "IN_PROGRESS",
        "FIXED",
    ]
    assert [u["external_status_code"] for u in found] == [
        "registered",
        "dispatched",
        "in_progress",
        "resolved",
        "closed",
    ]
    events = case_service.events_of(session, case_service.get_case(session, code))
    assert [int(u["update_id"]) for u in found] == [e.id for e in events[1:]]
    assert found[1]["description"] == "已派遣至东风街道"
    # the public note of the last step, and no internal note anywhere
    assert found[-1]["description"] == "已办结; 已清理干净"
    assert all("已清运" not in (u["description"] or "") for u in found)
    # the after photo of report_done, a JPEG (FixMyStreet's add_media takes image/jpeg only)
    assert [bool(u["media_url"]) for u in found] == [False, False, False, True, False]
    photo = client.get(found[3]["media_url"].replace("http://testserver", ""))
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    # W3CDTF with the offset, no fractions of a second
    stamp = dt.datetime.fromisoformat(found[0]["updated_datetime"])
    assert stamp.utcoffset() is not None and stamp.microsecond == 0
    # JSON carries the same
    assert [u["update_id"] for u in updates(client, api_key, fmt="json", **window())][-5:] == [
        u["update_id"] for u in found
    ]


def test_the_window_is_the_update_time_and_internal_notes_stay_internal(client, session, api_key):
    code = post(client, api_key).json()[0]["service_request_id"]
    case = case_service.get_case(session, code)
    settings = get_settings()
    case_service.transition(
        session, settings, case, "comment", actor=DISPATCHER, note="内部备注 secret"
    )
    case_service.transition(
        session, settings, case, "comment", actor=DISPATCHER, note="明天处理", public=True
    )
    found = updates(client, api_key, **window(service_request_id=code))
    assert [u["description"] for u in found][-1] == "明天处理"
    assert "secret" not in str(found)
    past = {"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-01-02T00:00:00Z"}
    assert updates(client, api_key, **past) == []
    r = client.get(f"{V2}/servicerequestupdates.xml", params={"start_date": "1999-01-01"})
    assert (
        r.status_code == 400 and "2000" in xmltodict.parse(r.text)["errors"]["error"]["description"]
    )
    r = client.get(f"{V2}/servicerequestupdates.json", params={"api_key": "o311_forged"})
    assert r.status_code == 403


def test_a_merged_duplicate_reports_duplicate(client, session, api_key, env):
    env(auto_dispatch="false")  # merged before dispatch
    first = post(client, api_key).json()[0]["service_request_id"]
    second = post(client, api_key).json()[0]["service_request_id"]
    citizen_service.merge(
        session,
        get_settings(),
        case_service.get_case(session, second),
        case_service.get_case(session, first),
        actor=DISPATCHER,
    )
    session.flush()
    found = updates(client, api_key, **window(service_request_id=second))
    assert found[-1]["status"] == "DUPLICATE"
    assert o311.fms_status("closed") == "FIXED"


def update(client, key, fmt="xml", **fields):
    """What FixMyStreet posts for a comment (Open311.pm _populate_service_request_update_params)."""
    data = {
        "jurisdiction_id": "civicgrid",
        "api_key": key,
        "updated_datetime": "2026-11-29T10:00:00+00:00",
        "status": "OPEN",
        "description": "还是没有清理",
        "first_name": "Ann",
        "last_name": "-",
        "email": "ann@example.org",
        "update_id": "7001",
        **fields,
    }
    return client.post(f"{V2}/servicerequestupdates.{fmt}", data=data)


def test_a_citizen_reopening_a_closed_case_is_a_complaint_once(client, session, api_key):
    code = post(client, api_key).json()[0]["service_request_id"]
    case = finish(session, code)
    r = update(client, api_key, service_request_id=code, status="REOPEN")
    assert r.status_code == 200, r.text
    parsed = xmltodict.parse(r.text, force_list=("request_update",))
    update_id = parsed["service_request_updates"]["request_update"][0]["update_id"]
    session.refresh(case)
    assert case.queue_reason == "complaint" and case.state == "closed"
    events = case_service.events_of(session, case)
    assert events[-1].id == int(update_id) and events[-1].role == "citizen"
    assert events[-1].note == "还是没有清理" and events[-1].public is False
    assert events[-1].payload["update_id"] == "7001"
    assert events[-1].payload["updated_datetime"].startswith("2026-11-29T18:00:00")
    # the same update again (FixMyStreet's retry): the same answer, nothing written again
    again = update(client, api_key, service_request_id=code, status="REOPEN")
    assert again.status_code == 200 and again.text == r.text
    assert len(case_service.events_of(session, case)) == len(events)
    # the same update_id with another update: refused
    other = update(client, api_key, service_request_id=code, status="REOPEN", description="x")
    assert other.status_code == 400 and "Idempotency-Key" in other.text
    # another partner may use the same update_id (its own)
    _, other_key = o311.add_key(session, "another partner")
    assert update(client, other_key, service_request_id=code).status_code == 200
    # the citizen's words are not public: the partner's GET does not give them back
    assert "还是没有清理" not in str(updates(client, api_key, **window()))


def test_an_update_on_an_open_case_is_a_note_and_bad_updates_are_refused(client, session, api_key):
    code = post(client, api_key).json()[0]["service_request_id"]
    r = update(client, api_key, fmt="json", service_request_id=code, status="open")
    assert r.status_code == 200 and list(r.json()[0]) == ["update_id"]
    case = case_service.get_case(session, code)
    assert case.queue_reason is None
    cases = [
        ({"api_key": "o311_forged"}, 403),
        ({"service_request_id": "XF20000101-000001"}, 404),
        ({"status": "MAYBE"}, 400),
        ({"update_id": ""}, 400),
        ({"updated_datetime": "1999-12-31T00:00:00Z"}, 400),
        ({"media_url": "ftp://example.org/a.jpg"}, 400),
    ]
    for n, (fields, status) in enumerate(cases):
        given = {"service_request_id": code, "update_id": f"u{n}", **fields}
        r = update(client, api_key, **given)
        assert r.status_code == status, (fields, r.text)
        assert xmltodict.parse(r.text)["errors"]["error"]["code"] == str(status)
