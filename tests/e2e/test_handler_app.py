"""The handler's phone app (/app/) in Chromium: installable (manifest, service worker), a new
case arrives live, and with the server gone a handler takes a case and reports it done with a
photo; the shell still opens from the service worker's cache; once the server is back, both
actions reach it exactly once (each with its Idempotency-Key)."""

import threading
import time
from contextlib import contextmanager

import httpx
import uvicorn
from playwright.sync_api import expect
from sqlalchemy import func, select

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.media.models import Photo
from tests.conftest import free_port
from tests.e2e.conftest import PHONE
from tests.e2e.test_browser import SHOTS, sign_in_with_keyboard
from tests.factories import PASSWORD, POINT_A, world
from tests.images import jpeg


@contextmanager
def serving(port: int):
    """The app on a given port, until the block ends (the server stopped: the network cut)."""
    from civicgrid.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


def new_case(base: str) -> str:
    with httpx.Client(base_url=base, headers={"Origin": base}, timeout=30) as http:
        r = http.post("/api/v1/auth/login", json={"username": "disp", "password": PASSWORD})
        assert r.status_code == 200, r.text
        r = http.post(
            "/api/v1/cases",
            json={
                "category": "06010",
                "lon": POINT_A[0],
                "lat": POINT_A[1],
                "auto_dispatch": True,
                "description": "暴露垃圾",
            },
        )
        assert r.status_code == 201, r.text
        return r.json()["code"]


def test_offline_take_and_done_with_a_photo_reach_the_server_once(
    committed, browser, tmp_path, monkeypatch
):
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path / "media"))
    with committed() as session:
        world(session)
        session.commit()
    photo = tmp_path / "after.jpg"
    photo.write_bytes(jpeg(640, 480))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport=PHONE, service_workers="allow")
    page = context.new_page()
    with serving(port):
        first = new_case(base)
        sign_in_with_keyboard(page, base, "ha")
        page.goto(f"{base}/app/")
        assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
        manifest = page.locator("link[rel=manifest]").get_attribute("href")
        assert httpx.get(base + manifest).json()["start_url"] == "/app/"
        expect(page.locator(f"#cases [data-code='{first}']")).to_be_visible()
        # a phone's width, no wider
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=str(SHOTS / "handler-app-360.png"), full_page=True)
        # a case dispatched to the unit arrives while the app is open (server-sent events)
        second = new_case(base)
        expect(page.locator(".notice")).to_contain_text(second)
        expect(page.locator(f"#cases [data-code='{second}']")).to_be_visible()
        # the shell is in the service worker's cache
        page.wait_for_function(
            "() => caches.open('cg-handler-v1').then(c => c.match('/app/')).then(r => !!r)"
        )

    # the server is gone: the shell opens from the cache, the cases from IndexedDB
    page.reload()
    expect(page.locator(f"#cases [data-code='{first}']")).to_be_visible()
    page.locator(f"#cases a[href='/app/#/case/{first}']").click()
    page.get_by_role("button", name="签收").click()
    expect(page.locator("#outbox")).to_contain_text("1")
    expect(page.locator("#status")).to_contain_text("离线")
    page.fill("#note", "已清理")
    page.set_input_files("#photos", str(photo))
    page.get_by_role("button", name="处置反馈").click()
    expect(page.locator("#outbox")).to_contain_text("2")
    page.screenshot(path=str(SHOTS / "handler-app-offline-360.png"), full_page=True)
    page.wait_for_timeout(1500)  # a retry or two against the stopped server

    with serving(port):
        # the app sends its outbox by itself once the server answers again
        expect(page.locator("#outbox")).to_have_text("", timeout=20000)
        expect(page.locator("#status")).to_contain_text("在线")
        # sign-out forgets the app's caches and its outbox
        page.get_by_role("button", name="退出").click()
        page.wait_for_url(f"{base}/")
        left = page.evaluate(
            """async () => ({caches: (await caches.keys()).filter(k => k.startsWith('cg-handler')),
                dbs: (await indexedDB.databases()).map(d => d.name)})"""
        )
        assert left == {"caches": [], "dbs": []}, left
        # the page is closed before the server goes: its live stream would keep it waiting
        context.close()

    with committed() as session:
        case = session.scalar(select(Case).where(Case.code == first))
        assert case.state == "resolved"
        actions = session.scalars(
            select(CaseEvent.action).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)
        ).all()
        assert actions.count("take") == 1 and actions.count("report_done") == 1
        photos = session.scalar(select(func.count()).where(Photo.case_id == case.id))
        assert photos == 1


def test_a_push_message_shows_a_notification_of_the_case(committed, browser, tmp_path, monkeypatch):
    # Chromium here reaches no push service (no network): the push event is delivered to the
    # app's service worker through the DevTools protocol, as the browser does with a message
    # from its push service; the page offers the notification permission, never crashes
    monkeypatch.setenv("CIVICGRID_VAR_DIR", str(tmp_path / "var"))
    with committed() as session:
        world(session)
        session.commit()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport=PHONE, service_workers="allow")
    page = context.new_page()
    with serving(port):
        sign_in_with_keyboard(page, base, "ha")
        page.goto(f"{base}/app/")
        assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
        # not yet asked: the button to turn notifications on
        expect(page.locator("#push")).to_be_visible()
        context.grant_permissions(["notifications"], origin=base)
        scope = page.evaluate("navigator.serviceWorker.getRegistration('/app/').then(r => r.scope)")
        cdp = context.new_cdp_session(page)
        versions: list = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: versions.append(e))
        cdp.send("ServiceWorker.enable")
        regs: list = []
        for _ in range(100):
            regs = [r for e in versions for r in e["registrations"] if r["scopeURL"] == scope]
            if regs:
                break
            page.wait_for_timeout(50)
        registration = regs[0]["registrationId"]
        message = '{"title": "新案件 / New case", "body": "案件 XF1 已派遣到本单位", '
        message += '"code": "XF1", "url": "/app/#/case/XF1"}'
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": base, "registrationId": registration, "data": message},
        )
        shown = []
        for _ in range(400):  # up to 20 s: on a loaded machine the worker takes its time
            shown = page.evaluate(
                "navigator.serviceWorker.ready.then(r => r.getNotifications())"
                ".then(list => list.map(n => [n.title, n.body, n.tag, n.data.url]))"
            )
            if shown:
                break
            time.sleep(0.05)
        assert shown == [["新案件 / New case", "案件 XF1 已派遣到本单位", "XF1", "/app/#/case/XF1"]]
        page.screenshot(path=str(SHOTS / "handler-app-push-360.png"))
    context.close()
