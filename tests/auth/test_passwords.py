"""The password rule (issue 12 #16): at least 10 characters, not the username, not common."""

from importlib.resources import files

import pytest

from civicgrid.auth import passwords
from civicgrid.auth import service as auth_service
from civicgrid.auth.exceptions import WeakPassword
from civicgrid.demo import DEMO_PASSWORD
from tests.factories import PASSWORD, login, small_geography, user


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("", "10"),
        ("Ab3$efg9k", "10"),  # nine characters
        ("zhangwei88", "username"),
        ("ZhangWei88", "username"),
        ("ZHANGWEI88!!", "username"),
        ("2024-zhangwei88", "username"),
        ("1234567890", "common"),
        ("qwertyuiop", "common"),
        ("Password123", "common"),
        ("password2024!", "common"),
        ("!!Iloveyou!!", "common"),
        ("aaaaaaaaaaaa", "different"),
        ("abababababab", "different"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, says):
    with pytest.raises(WeakPassword) as exc:
        passwords.check_policy(password, username="zhangwei88")
    assert exc.value.status_code == 400 and says in exc.value.en


@pytest.mark.parametrize(
    "password", [DEMO_PASSWORD, PASSWORD, "马路上有个大坑要填平", "Xq7-loom-ferry"]
)
def test_good_passwords_pass(password):
    passwords.check_policy(password, username="zhangwei88")


def test_the_demo_and_test_passwords_pass_for_every_demo_username():
    for username in ("admin", "leader", "dispatcher", "operator", "supervisor", "handler"):
        passwords.check_policy(DEMO_PASSWORD, username=username)
        passwords.check_policy(PASSWORD, username=username)


def test_the_shipped_list_holds_ten_thousand_common_passwords_with_its_licence():
    common = passwords.common_passwords()
    assert len(common) == 10_000
    assert {"123456", "password", "qwerty", "iloveyou", "5201314"} <= common
    data = files("civicgrid") / "data"
    licence = (data / "common-passwords.LICENSE").read_text(encoding="utf-8")
    assert "MIT" in licence and "zxcvbn" in licence
    assert "common-passwords.txt" in (data / "README.md").read_text(encoding="utf-8")


@pytest.fixture()
def admin(client, session):
    small_geography(session)
    user(session, "boss", ["admin"], "239901")
    user(session, "h1", ["handler"], "239901001")
    login(client, "boss")
    return client


def test_the_api_refuses_a_weak_password_on_create_and_on_change(admin, session):
    body = {"name": "新人", "org_unit": "239901001", "roles": ["handler"]}
    for username, weak in (("new1", "short-1"), ("new2", "New2-2025!"), ("new3", "monkey12345")):
        r = admin.post("/api/v1/users", json={**body, "username": username, "password": weak})
        assert r.status_code == 400 and r.json()["error"] == "bad_request", (weak, r.text)
        assert auth_service.get_user(session, username) is None
    r = admin.patch("/api/v1/users/h1", json={"password": "H1-2024-2025"})
    assert r.status_code == 400 and "username" in r.json()["detail"]
    r = admin.patch("/api/v1/users/h1", json={"password": ""})
    assert r.status_code == 400
    login(admin, "h1")  # the old password still works


def test_the_service_applies_the_rule_for_every_caller(session):
    small_geography(session)
    with pytest.raises(WeakPassword):
        auth_service.create_user(
            session,
            username="x1",
            password="password1",
            name="x",
            org_unit_code="239901001",
            roles=["handler"],
        )
    h1 = user(session, "h1", ["handler"], "239901001")
    with pytest.raises(WeakPassword):
        auth_service.set_password(session, h1, "H1H1H1H1H1H1")
