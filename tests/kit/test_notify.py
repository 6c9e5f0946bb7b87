"""Notifications: templates, quiet hours and preferences; each provider against a real server
(an HTTP SMS gateway and WeChat Work robot, an SMTP server) that takes or refuses."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socketserver
import threading
from zoneinfo import ZoneInfo

import pytest

from civicgrid.config import Settings
from civicgrid.kit import notify
from tests.servers import serving

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at_local(hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 30, hh, mm, tzinfo=SHANGHAI).astimezone(dt.UTC)


class Gateway(http.server.BaseHTTPRequestHandler):
    took: list[tuple[str, dict]] = []
    answer: tuple[int, dict] = (200, {"errcode": 0})

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Gateway.took.append((self.path, body))
        status, answer = Gateway.answer
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: what came after DATA is kept."""

    mails: list[str] = []

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 test")
        while True:
            line = self.rfile.readline().decode().strip()
            verb = line.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 test")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                lines = []
                while (part := self.rfile.readline().decode()) not in (".\r\n", ""):
                    lines.append(part)
                Smtp.mails.append("".join(lines))
                self.reply("250 queued")
            else:
                self.reply("221 bye")
                return


@pytest.fixture()
def gateway():
    Gateway.took, Gateway.answer = [], (200, {"errcode": 0})
    with serving(Gateway) as url:
        yield url


def test_templates_fill_what_is_given_and_blank_the_rest():
    subject, body = notify.render("case_red", {"case": "XF1", "deadline": "12-01 17:00"})
    assert subject == "案件超时" and "XF1" in body and "12-01 17:00" in body
    assert "{" not in notify.render("case_urged", {})[1]
    with pytest.raises(KeyError):
        notify.render("no_such_event", {})


@pytest.mark.parametrize(
    "clock, start, end, quiet",
    [
        ("23:30", "22:00", "07:00", True),
        ("06:59", "22:00", "07:00", True),
        ("07:00", "22:00", "07:00", False),
        ("12:00", "12:00", "14:00", True),
        ("14:00", "12:00", "14:00", False),
        ("03:00", None, None, False),
    ],
)
def test_quiet_hours_wrap_past_midnight(clock, start, end, quiet):
    def t(v):
        return dt.time.fromisoformat(v) if v else None

    assert notify.in_quiet_hours(t(clock), t(start), t(end)) is quiet


def test_preferences_and_quiet_hours_decide_who_hears_what():
    log = notify.LogProvider("sms")
    notifier = notify.Notifier({"sms": log}, SHANGHAI)
    person = notify.Preference(
        {"sms": "13900000000"},
        events=frozenset({"case_red", "case_yellow"}),
        quiet_start=dt.time(22),
        quiet_end=dt.time(7),
    )
    data = {"case": "XF1", "deadline": "x"}
    assert [d.outcome for d in notifier.notify(person, "case_urged", data, now=at_local(10))] == [
        "unwanted"
    ]
    assert [d.outcome for d in notifier.notify(person, "case_yellow", data, now=at_local(23))] == [
        "quiet"
    ]
    # an urgent event comes through the quiet hours; in the day everything wanted does
    assert [d.outcome for d in notifier.notify(person, "case_red", data, now=at_local(23))] == [
        "sent"
    ]
    assert [d.outcome for d in notifier.notify(person, "case_yellow", data, now=at_local(9))] == [
        "sent"
    ]
    assert [m.to for m in log.sent] == ["13900000000", "13900000000"]


def test_the_log_is_every_channels_provider_until_a_gateway_is_set():
    chosen = notify.providers(Settings())
    assert all(isinstance(chosen[c], notify.LogProvider) for c in notify.CHANNELS)


def test_sms_and_wecom_over_http_and_a_refusal_reported_not_raised(gateway):
    settings = Settings(
        notify_sms_url=f"{gateway}/sms",
        notify_sms_sign="香坊城管",
        notify_wecom_url=f"{gateway}/cgi-bin/webhook/send?key=ROBOT",
        notify_timeout_seconds=2,
    )
    notifier = notify.Notifier(notify.providers(settings), SHANGHAI)
    person = notify.Preference({"sms": "13900000000", "wecom": "", "email": ""})
    group = notify.Preference({"wecom": "OTHERKEY"})
    data = {"case": "XF9", "deadline": "d"}
    assert [d.outcome for d in notifier.notify(person, "case_red", data, now=at_local(9))] == [
        "sent"
    ]
    assert [d.outcome for d in notifier.notify(group, "case_red", data, now=at_local(9))] == [
        "sent"
    ]
    (sms_path, sms), (robot_path, robot) = Gateway.took
    assert sms_path == "/sms" and sms["phone"] == "13900000000" and sms["sign"] == "香坊城管"
    assert "XF9" in sms["text"]
    assert robot_path.endswith("key=OTHERKEY") and robot["msgtype"] == "text"
    assert "XF9" in robot["text"]["content"]
    # the robot answers 200 with an errcode: a failure, reported in the delivery
    Gateway.answer = (200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    [failed] = notifier.notify(group, "case_red", data, now=at_local(9))
    assert failed.outcome == "failed" and "93000" in failed.error
    Gateway.answer = (500, {})
    [failed] = notifier.notify(person, "case_red", data, now=at_local(9))
    assert failed.outcome == "failed" and "500" in failed.error


def test_email_through_smtp():
    Smtp.mails = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = Settings(
            notify_smtp_host="127.0.0.1",
            notify_smtp_port=server.server_address[1],
            notify_smtp_sender="cg@example.org",
        )
        notifier = notify.Notifier(notify.providers(settings), SHANGHAI)
        person = notify.Preference({"email": "lead@example.org"})
        [sent] = notifier.notify(person, "case_closed", {"case": "XF7"}, now=at_local(9))
    finally:
        server.shutdown()
        server.server_close()
    assert sent.outcome == "sent"
    [mail] = Smtp.mails
    assert "To: lead@example.org" in mail and "From: cg@example.org" in mail
    # nobody listening: a failure in the delivery
    notifier = notify.Notifier(
        notify.providers(Settings(notify_smtp_host="127.0.0.1", notify_smtp_port=1)), SHANGHAI
    )
    [failed] = notifier.notify(person, "case_closed", {"case": "XF7"}, now=at_local(9))
    assert failed.outcome == "failed"
