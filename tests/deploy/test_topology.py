"""The production layout of deploy/, started on this machine and walked from outside: Debian's
nginx (the site file as shipped, TLS with a certificate made here) in front of two web workers
and the background jobs, each started with its systemd unit's command line and the environment
file's settings, on PostgreSQL, Redis and an S3-compatible store. CI has no systemd: the units
themselves are checked with `systemd-analyze verify`.

Runs on PostgreSQL (the .ci/run PostgreSQL run); the SQLite run skips it, as the layout of
several workers needs PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import re
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from civicgrid.config import Settings
from civicgrid.kit import db
from civicgrid.vehicles import jt808
from tests.conftest import DB_URL, IS_PG, free_port
from tests.factories import PASSWORD, POINT_A, world
from tests.images import jpeg

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
SITE = DEPLOY / "nginx" / "civicgrid.conf"
ENV_FILE = DEPLOY / "civicgrid.env"
CIVICGRID = Path(sys.executable).parent / "civicgrid"
STATIC = ROOT / "src" / "civicgrid" / "static"
HOST = "civic.example.org"
NGINX_MISSING = (
    "nginx not found: the topology test runs Debian's nginx. `make test` installs it when run "
    "as root; otherwise: sudo apt-get install -y nginx"
)


def exec_start(unit: str, instance: str = "") -> list[str]:
    """The unit's ExecStart, with its instance and this checkout's civicgrid."""
    for line in (UNITS / unit).read_text().splitlines():
        if line.startswith("ExecStart="):
            args = shlex.split(line.removeprefix("ExecStart=").replace("%i", instance))
            assert args[0] == "/opt/civicgrid/.venv/bin/civicgrid", args[0]
            return [str(CIVICGRID), *args[1:]]
    raise AssertionError(f"{unit} has no ExecStart")


def env_file() -> dict[str, str]:
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_the_environment_file_explains_every_setting():
    listed = set(re.findall(r"^#?(CIVICGRID_[A-Z0-9_]+)=", ENV_FILE.read_text(), re.M))
    assert listed == {f"CIVICGRID_{name.upper()}" for name in Settings.model_fields}


def test_the_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (Debian's systemd package has it)")
    names = []
    for unit in UNITS.iterdir():
        body = unit.read_text().replace("/opt/civicgrid/.venv/bin/civicgrid", str(CIVICGRID))
        (tmp_path / unit.name).write_text(body)
        names.append(unit.name.replace("@.service", "@8001.service"))
    shutil.copy(tmp_path / "civicgrid-web@.service", tmp_path / "civicgrid-web@8001.service")
    done = subprocess.run(
        [analyze, "verify", *(str(tmp_path / n) for n in names)],
        capture_output=True,
        text=True,
    )
    # it warns (unknown keys, bad values) on stderr with exit code 0: any output is a failure
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2, verify=False).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer:\n{log.read_text()[-3000:]}")


def _nginx_conf(
    tmp: Path, http_port: int, https_port: int, workers: list[int], s3_port: int
) -> Path:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", f"/CN={HOST}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    site = SITE.read_text()
    replacements = {
        "server 127.0.0.1:8001;": f"server 127.0.0.1:{workers[0]};",
        "server 127.0.0.1:8002;": f"server 127.0.0.1:{workers[1]};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "/etc/ssl/certs/civicgrid.pem": str(cert),
        "/etc/ssl/private/civicgrid.key": str(key),
        "/opt/civicgrid/src/civicgrid/static/": f"{STATIC}/",
        # the photo store: the S3-compatible server here (the layout's), the unused local one
        "proxy_pass http://127.0.0.1:9000/;": f"proxy_pass http://127.0.0.1:{s3_port}/;",
        "alias /var/lib/civicgrid/media/;": f"alias {tmp}/unused-media/;",
    }
    for old, new in replacements.items():
        assert old in site, old
        site = site.replace(old, new)
    site = "\n".join(line for line in site.splitlines() if "[::]" not in line)
    (tmp / "site.conf").write_text(site)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir()
    conf = tmp / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(
        f"""{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
"""
    )
    return conf


@pytest.fixture()
def layout(tmp_path, redis_url):
    if not IS_PG:
        pytest.skip("the production layout runs on PostgreSQL (the .ci/run PostgreSQL run)")
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/bin")
    if nginx is None:
        pytest.fail(NGINX_MISSING, pytrace=False)
    from moto.server import ThreadedMotoServer

    procs: list[subprocess.Popen] = []
    s3_port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port)
    s3.start()
    schema = f"t_topo_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(Settings(database_url=DB_URL, mode="test"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    bucket = f"civicgrid-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICGRID_")}
    env |= env_file() | {
        "CIVICGRID_DATABASE_URL": DB_URL,
        "CIVICGRID_DATABASE_SCHEMA": schema,
        "CIVICGRID_SECRET_KEY": "topology-test-secret-key-0123456789abcdef",
        "CIVICGRID_VAR_DIR": str(tmp_path / "var"),
        "CIVICGRID_PUBLIC_BASE_URL": f"https://{HOST}",
        "CIVICGRID_REDIS_URL": redis_url,
        "CIVICGRID_MEDIA_STORE": "s3",
        "CIVICGRID_MEDIA_DIR": str(tmp_path / "unused-media"),
        "CIVICGRID_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "CIVICGRID_S3_BUCKET": bucket,
        "CIVICGRID_S3_ACCESS_KEY": "test",
        "CIVICGRID_S3_SECRET_KEY": "test-secret",
        "CIVICGRID_SCHEDULER_TICK_SECONDS": "1",
    }
    try:
        import boto3

        boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{s3_port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test-secret",
        ).create_bucket(Bucket=bucket)
        subprocess.run(
            [str(CIVICGRID), "init"], env=env, cwd=tmp_path, check=True, capture_output=True
        )
        engine = db.make_engine(Settings(database_url=DB_URL, database_schema=schema, mode="test"))
        with Session(bind=engine) as s:
            world(s)
            s.commit()
        engine.dispose()

        def start(args: list[str], name: str) -> tuple[subprocess.Popen, Path]:
            log = tmp_path / f"{name}.log"
            proc = subprocess.Popen(
                args, env=env, cwd=tmp_path, stdout=log.open("wb"), stderr=subprocess.STDOUT
            )
            procs.append(proc)
            return proc, log

        workers = [free_port(), free_port()]
        for port in workers:
            proc, log = start(exec_start("civicgrid-web@.service", str(port)), f"web-{port}")
            _wait_http(f"http://127.0.0.1:{port}/healthz", proc, log)
        start(exec_start("civicgrid-jobs.service"), "jobs")
        # the GPS gateway's unit, on a free port of this machine's loopback
        gps_port = free_port()
        gateway = [
            {"6808": str(gps_port), "0.0.0.0": "127.0.0.1"}.get(a, a)
            for a in exec_start("civicgrid-gps-gateway.service")
        ]
        start(gateway, "gps-gateway")
        http_port, https_port = free_port(), free_port()
        conf = _nginx_conf(tmp_path, http_port, https_port, workers, s3_port)
        check = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        proc, log = start([nginx, "-c", str(conf), "-g", "daemon off;"], "nginx")
        _wait_http(f"https://127.0.0.1:{https_port}/healthz", proc, tmp_path / "error.log")
        yield {
            "http": f"http://127.0.0.1:{http_port}",
            "https": f"https://127.0.0.1:{https_port}",
            "schema": schema,
            "bucket": bucket,
            "s3": f"http://127.0.0.1:{s3_port}",
            "tmp": tmp_path,
            "gps": gps_port,
        }
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        s3.stop()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _client(base: str) -> httpx.Client:
    # the certificate is made for the test; the Host and Origin are the public address's
    return httpx.Client(
        base_url=base,
        verify=False,
        timeout=30,
        headers={"Host": HOST, "Origin": f"https://{HOST}"},
    )


def _listen(base: str, cookies, into: queue.Queue, ready: threading.Event, stop: threading.Event):
    try:
        with (
            _client(base) as c,
            c.stream("GET", "/api/v1/command/stream", cookies=cookies) as r,
        ):
            into.put(("status", r.status_code, r.headers.get("content-type", "")))
            ready.set()
            event = None
            for line in r.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event == "case":
                    into.put(("case", json.loads(line.removeprefix("data: "))))
    except httpx.HTTPError as exc:  # the layout stopped under the stream: the end, if asked
        if not stop.is_set():
            into.put(("error", repr(exc)))
            ready.set()


def test_the_layout_serves_a_report_a_live_update_a_photo_and_a_login(layout):
    https = layout["https"]
    # plain HTTP is sent to HTTPS
    r = httpx.get(f"{layout['http']}/healthz", headers={"Host": HOST})
    assert r.status_code == 301 and r.headers["location"] == f"https://{HOST}/healthz"

    with _client(https) as staff:
        # a login through nginx: the session cookie is Secure (the app sees https)
        r = staff.post("/api/v1/auth/login", json={"username": "disp", "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert "secure" in r.headers["set-cookie"].lower()
        # the live updates of /command: a stream that nginx does not buffer
        events: queue.Queue = queue.Queue()
        ready, stop = threading.Event(), threading.Event()
        listener = threading.Thread(
            target=_listen, args=(https, staff.cookies, events, ready, stop), daemon=True
        )
        listener.start()
        assert ready.wait(15)
        assert events.get(timeout=5) == ("status", 200, "text/event-stream; charset=utf-8")

        # citizens' reports with a photo, spread over both workers by nginx: each reaches the
        # stream (through Redis when it was taken by the other worker)
        codes = []
        with _client(https) as citizen:
            for i in range(4):
                r = citizen.post(
                    "/api/v1/citizen/reports",
                    data={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]},
                    files=[("photos", ("p.jpg", jpeg(640, 480, color=(i, 9, 9)), "image/jpeg"))],
                )
                assert r.status_code == 201, r.text
                codes.append(r.json())
            seen = set()
            deadline = time.monotonic() + 20
            while len(seen) < len(codes) and time.monotonic() < deadline:
                try:
                    kind, *payload = events.get(timeout=1)
                except queue.Empty:
                    continue
                if kind == "case":
                    seen.add(payload[0].get("code"))
            stop.set()
            assert {c["code"] for c in codes} <= seen

            # the photo comes back through nginx, from the S3 store: the app checked the
            # tracking secret and named the object (X-Accel-Redirect); nginx fetched it from
            # the store and sent it (its header; the store's ETag, the MD5 of the bytes, which
            # the app never sends), with the app's type and private caching
            answer = codes[0]
            view = citizen.get(
                f"/api/v1/citizen/cases/{answer['code']}", params={"s": answer["secret"]}
            )
            assert view.status_code == 200, view.text
            url = view.json()["photos"][0]["url"].replace(f"https://{HOST}", "")
            photo = citizen.get(url)
            assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
            assert Image.open(io.BytesIO(photo.content)).size == (640, 480)
            assert photo.headers["x-served-by"] == "nginx"
            assert photo.headers["etag"].strip('"') == hashlib.md5(photo.content).hexdigest()
            assert photo.headers["cache-control"] == "private, max-age=86400"
            assert "x-accel-redirect" not in photo.headers
            # none of the store's cookies or cross-origin permissions reach the browser
            assert not {"set-cookie", "access-control-allow-origin"} & set(photo.headers)
            # a wrong secret stays refused, by the app, and nothing may keep the refusal
            wrong = citizen.get(url.replace(answer["secret"], "x" * len(answer["secret"])))
            assert wrong.status_code == 404 and wrong.headers["cache-control"] == "no-store"
            assert "x-served-by" not in wrong.headers and not wrong.content.startswith(b"\xff")
            # and nginx's internal location cannot be asked for from outside
            key = f"/_media/s3/{layout['bucket']}/"
            assert citizen.get(key + "x.jpg").status_code == 404

            # static files are nginx's, with cache headers
            name = next(p for p in STATIC.rglob("*.css")).relative_to(STATIC).as_posix()
            r = citizen.get(f"/static/{name}")
            assert r.status_code == 200 and r.headers["server"].startswith("nginx")
            assert (
                "public" in r.headers["cache-control"]
                and "max-age=86400" in r.headers["cache-control"]
            )
            # a body larger than any the app takes stops at nginx
            r = citizen.post("/api/v1/auth/login", content=b"x" * (2 * 1024 * 1024))
            assert r.status_code == 413
        # both workers answered requests (nginx spreads them)
        logs = [p.read_text() for p in layout["tmp"].glob("web-*.log")]
        assert all("/api/v1/citizen/reports" in log for log in logs), "a worker took no report"

    # the background jobs ran in their own process, under their leases
    engine = db.make_engine(
        Settings(database_url=DB_URL, database_schema=layout["schema"], mode="test")
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                ran = conn.execute(text("SELECT count(*) FROM job_runs WHERE runs > 0")).scalar()
            if ran:
                break
            time.sleep(0.5)
        assert ran, (layout["tmp"] / "jobs.log").read_text()[-2000:]
    finally:
        engine.dispose()


def test_the_gps_gateway_unit_answers_a_terminal(layout):
    # an unknown terminal registers (JT/T 808 0x0100, 2013 body) and is refused (0x8100,
    # result 4: not in the registry), as the settings' default says
    body = struct.pack(">HH", 23, 100) + b"MAKER" + b"MODEL".ljust(20, b"\0") + b"T000001"
    body += bytes([1]) + "黑A00001".encode("gbk")
    frame = jt808.build(jt808.REGISTER, "013800000001", 1, body)
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = socket.create_connection(("127.0.0.1", layout["gps"]), timeout=10)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    with conn:
        conn.sendall(frame)
        answer = b""
        while answer.count(b"\x7e") < 2:
            chunk = conn.recv(4096)
            assert chunk, "the gateway closed the connection without an answer"
            answer += chunk
    reply = jt808.parse(answer[1 : answer.index(b"\x7e", 1)])  # between its two 0x7e
    assert reply.msg_id == jt808.REGISTER_RESPONSE
    serial, result = struct.unpack(">HB", reply.body[:3])
    assert (serial, result) == (1, jt808.REG_NO_TERMINAL)
