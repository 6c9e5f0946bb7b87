from sqlalchemy import func, select

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.media.models import Photo
from tests.cases.test_cases_api import new_case
from tests.factories import login, world
from tests.images import jpeg


def test_the_app_shell_manifest_and_worker_need_no_sign_in_and_hold_no_data(client, session):
    shell = client.get("/app/")
    assert shell.status_code == 200 and 'rel="manifest"' in shell.text
    assert "/static/js/handler-app.js" in shell.text
    manifest = client.get("/app/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["scope"] == "/app/" and manifest.json()["display"] == "standalone"
    worker = client.get("/app/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert "caches" in worker.text
    assert client.get("/app/", cookies={"lang": "en"}).status_code == 200


def test_the_app_switches_language_and_comes_back_to_itself(client):
    from lxml import html

    page = html.fromstring(client.get("/app/").text)
    assert page.get("lang") == "zh-CN"
    [switch] = page.xpath("//header//a[@id='lang-switch']")
    assert (switch.get("href"), switch.text, switch.get("lang")) == ("/lang/en", "English", "en")
    back = client.get(
        "/lang/en", headers={"Referer": "http://testserver/app/"}, follow_redirects=False
    )
    assert back.status_code == 303 and back.headers["location"] == "/app/"
    client.cookies.set("lang", back.cookies["lang"])
    page = html.fromstring(client.get("/app/").text)
    assert page.get("lang") == "en"
    [switch] = page.xpath("//header//a[@id='lang-switch']")
    assert (switch.get("href"), switch.text, switch.get("lang")) == ("/lang/zh", "中文", "zh-CN")
    assert page.xpath("string(//header/a[@class='brand'])") == "Handler app"


def test_an_offline_action_sent_twice_with_its_key_acts_once(
    client, session, tmp_path, monkeypatch
):
    # the app's outbox sends an action again when its answer was lost: take, then report done
    # with a photo, each twice with its own key
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path))
    from civicgrid.config import get_settings

    get_settings.cache_clear()
    world(session)
    login(client, "disp")
    code = new_case(client)["code"]
    login(client, "ha")
    answers = [
        client.post(
            f"/api/v1/cases/{code}/take", json={"note": ""}, headers={"Idempotency-Key": "k-take"}
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].content == answers[1].content
    photo = jpeg()
    answers = [
        client.post(
            f"/api/v1/cases/{code}/report-done",
            data={"note": "已清理", "public": "false"},
            files=[("photos", ("after.jpg", photo, "image/jpeg"))],
            headers={"Idempotency-Key": "k-done"},
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].content == answers[1].content
    case = session.scalar(select(Case).where(Case.code == code))
    actions = session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id)).all()
    assert actions.count("take") == 1 and actions.count("report_done") == 1
    assert session.scalar(select(func.count()).where(Photo.case_id == case.id)) == 1
    assert case.state == "resolved"
