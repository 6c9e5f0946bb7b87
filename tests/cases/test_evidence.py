"""Evidence of a live action (issue #14 item 4): report_done brings an after-photo unless its
category's major class is exempt, verify_pass and verify_fail a note; a history import is not
asked (WAVE2-NOTES)."""

from __future__ import annotations

import json

import pytest

from civicgrid.cases import history, policy, service
from civicgrid.cases.exceptions import BadAction
from civicgrid.config import Settings
from tests.cases.test_cases_api import new_case
from tests.cases.test_cases_service import report
from tests.conftest import DATA
from tests.factories import STREET_A, login, small_geography, world
from tests.images import jpeg

HANDLER = policy.Actor("ha", "handler", frozenset({STREET_A}))
CHECKER = policy.Actor("sup", "supervisor")


def taken(session, settings, category="06010"):
    case = report(session, category=category)
    service.transition(session, settings, case, "take", actor=HANDLER)
    return case


class TestReportDone:
    def test_without_an_after_photo_it_is_refused_and_nothing_moves(self, session):
        # Given a case in progress
        world(session)
        case = taken(session, Settings())
        # When the handler reports it done without a photo
        with pytest.raises(BadAction) as info:
            service.transition(session, Settings(), case, "report_done", actor=HANDLER)
        # Then 400 with a sentence in both languages, and the case is still in progress
        assert info.value.status_code == 400
        assert "处置后照片" in info.value.zh
        assert "photo" in info.value.en
        assert case.state == "in_progress"

    def test_with_an_after_photo_it_is_done(self, session):
        world(session)
        case = taken(session, Settings())
        service.transition(session, Settings(), case, "report_done", actor=HANDLER, photos=1)
        assert case.state == "resolved"

    def test_an_exempt_major_class_needs_no_photo(self, session):
        # Given 06 (市容环境类) exempt from the photo rule, 03 not
        world(session)
        settings = Settings(evidence_photo_exempt_classes=" 10, 06")
        assert settings.photo_exempt_classes() == {"06", "10"}
        case = taken(session, settings)
        # When a 06 case is reported done without a photo, Then it is done
        service.transition(session, settings, case, "report_done", actor=HANDLER)
        assert case.state == "resolved"
        # and a 03 case still needs one
        other = report(session, category="03005")
        dept = policy.Actor("hd", "handler", frozenset({other.unit_code}))
        service.transition(session, settings, other, "take", actor=dept)
        with pytest.raises(BadAction):
            service.transition(session, settings, other, "report_done", actor=dept)


@pytest.mark.parametrize("action", ["verify_pass", "verify_fail"])
def test_a_verify_needs_a_note(session, action):
    # Given a case reported done
    world(session)
    case = taken(session, Settings())
    service.transition(session, Settings(), case, "report_done", actor=HANDLER, photos=1)
    # When the supervisor verifies it with a blank note, Then 400 and the case waits
    with pytest.raises(BadAction) as info:
        service.transition(session, Settings(), case, action, actor=CHECKER, note="  ")
    assert "需要填写说明" in info.value.zh
    assert case.state == "resolved"
    service.transition(session, Settings(), case, action, actor=CHECKER, note="现场已核查")
    assert case.state == ("closed" if action == "verify_pass" else "in_progress")


def test_an_import_brings_histories_as_they_are(session):
    # Given a history whose report_done has no photo and whose verify_pass has no note
    small_geography(session)
    line = json.loads((DATA / "cases-small.jsonl").read_text(encoding="utf-8").splitlines()[0])
    done = [e for e in line["events"] if e["action"] in ("report_done", "verify_pass")]
    assert done and not any(e.get("note") for e in done)
    # When it is imported, Then it is taken as it is
    assert history.import_lines([json.dumps(line, ensure_ascii=False)]).imported == 1


def test_the_api_refuses_report_done_without_a_photo(client, session):
    # Given a case taken by its handler
    world(session)
    login(client, "disp")
    code = new_case(client)["code"]
    login(client, "ha")
    assert client.post(f"/api/v1/cases/{code}/take", json={}).status_code == 200
    # When it is reported done with a note only
    r = client.post(f"/api/v1/cases/{code}/report-done", data={"note": "已清理"})
    # Then 400 with the sentence, and the case has not moved
    assert r.status_code == 400
    assert "处置后照片" in r.json()["detail"]
    assert client.get(f"/api/v1/cases/{code}").json()["state"] == "in_progress"
    # and with a photo it goes through
    r = client.post(
        f"/api/v1/cases/{code}/report-done",
        data={"note": "已清理"},
        files=[("photos", ("after.jpg", jpeg(), "image/jpeg"))],
    )
    assert r.status_code == 200 and r.json()["state"] == "resolved"
