"""The frame's sessions through AppTest: ended sessions land on the form; log-out; My account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from core import auth
from core.config import get_settings
from core.db import AUDIT_LOG, SESSIONS
from tests.support.apptest import APP, TIMEOUT, make_user, page_path, signed_in, texts

MULTIBYTE_73 = "é" * 36 + "a"  # 37 characters, 73 bytes


def _on_login_form(at: AppTest) -> bool:
    titles = [t.value for t in at.title]
    return [t.label for t in at.text_input] == ["Username", "Password"] and not titles


def test_the_real_form_opens_a_server_side_session(db):
    make_user(db, "recruiter", "rita")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input[0].input("rita")
    at.text_input[1].input("a-long-password-1")
    at.button[0].click().run()
    assert not at.exception
    record = db[SESSIONS].find_one({"username": "rita"})
    assert record and at.session_state["auth.session_id"] == record["_id"]
    assert db[AUDIT_LOG].count_documents({"action": "login.success", "entity_id": "rita"}) == 1


def test_a_session_ended_elsewhere_lands_on_the_log_in_form(db):
    rita = make_user(db, "recruiter", "rita")
    at = signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), rita).run()
    assert "Voice Screening Console" in [t.value for t in at.title]
    auth.log_out(db, "rita")  # e.g. logged out in another browser
    at.run()
    assert not at.exception and _on_login_form(at)
    assert "session has ended" in texts(at)


def test_a_session_idle_for_longer_than_the_limit_lands_on_the_log_in_form(db):
    rita = make_user(db, "recruiter", "rita")
    at = signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), rita)
    last_seen = db[SESSIONS].find_one()["last_seen"]
    db[SESSIONS].update_one({}, {"$set": {"last_seen": last_seen - timedelta(hours=8, minutes=1)}})
    at.run()
    assert _on_login_form(at)


def test_the_idle_limit_is_configurable(db, monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_HOURS", "0.5")
    get_settings.cache_clear()
    rita = make_user(db, "recruiter", "rita")
    at = signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), rita)
    last_seen = db[SESSIONS].find_one()["last_seen"]
    db[SESSIONS].update_one({}, {"$set": {"last_seen": last_seen - timedelta(minutes=31)}})
    at.run()
    assert _on_login_form(at)


def test_log_out_ends_the_session_and_is_audited(db):
    rita = make_user(db, "recruiter", "rita")
    at = signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), rita).run()
    at.button(key="auth_logout").click().run()
    assert not at.exception and _on_login_form(at)
    assert db[SESSIONS].count_documents({"username": "rita"}) == 0
    assert db[AUDIT_LOG].count_documents({"action": "user.logout", "entity_id": "rita"}) == 1


@pytest.mark.parametrize("role", ["admin", "recruiter", "viewer"])
def test_every_role_can_open_my_account(db, role):
    user = make_user(db, role)
    at = signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), user).run()
    at.switch_page(page_path("account")).run()
    assert not at.exception
    assert "My account" in [t.value for t in at.title]


def _account(db, user) -> AppTest:
    return signed_in(AppTest.from_file(page_path("account"), default_timeout=TIMEOUT), user).run()


def _change(at: AppTest, current: str, new: str, repeat: str | None = None) -> AppTest:
    at.text_input(key="account.current").input(current)
    at.text_input(key="account.new").input(new)
    at.text_input(key="account.repeat").input(new if repeat is None else repeat)
    return at.button(key="FormSubmitter:account.password-Change password").click().run()


def test_my_time_zone_is_remembered_and_shown(db):
    rita = make_user(db, "recruiter", "rita")
    at = _account(db, rita)
    assert "Follow my browser" in at.selectbox(key="account.time_zone").options[0]
    at.selectbox(key="account.time_zone").set_value("America/Denver")
    at.button(key="FormSubmitter:account.zone-Save time zone").click().run()
    assert not at.exception
    assert auth.get_user(db, "rita").time_zone == "America/Denver"
    again = _account(db, rita)  # a new session starts from the stored choice
    assert again.selectbox(key="account.time_zone").value == "America/Denver"
    assert "shown in America/Denver" in texts(again)


def test_changing_my_password_needs_the_current_one_and_ends_my_sessions(db):
    vic = make_user(db, "viewer", "vic")
    at = _change(_account(db, vic), "wrong-password-1", "vics-new-password-2")
    assert "current password is not right" in texts(at)
    at = _change(at, "a-long-password-1", "vics-new-password-2", repeat="something-else-2")
    assert "differ" in texts(at)
    at = _change(at, "a-long-password-1", MULTIBYTE_73)
    assert not at.exception and "72 bytes" in texts(at)
    assert auth.authenticate(db, "vic", "a-long-password-1")

    at = _change(at, "a-long-password-1", "vics-new-password-2")
    assert not at.exception
    assert auth.authenticate(db, "vic", "vics-new-password-2")
    assert db[SESSIONS].count_documents({"username": "vic"}) == 0
    assert "Please log in" in texts(at.run())


def test_users_page_explains_a_password_over_72_bytes(db):
    admin = make_user(db, "admin", "root")
    at = signed_in(AppTest.from_file(page_path("users"), default_timeout=TIMEOUT), admin).run()
    at.text_input(key="users.add_username").input("dora")
    at.text_input(key="users.add_password").input(MULTIBYTE_73)
    at.button[0].click().run()
    assert not at.exception
    assert "72 bytes" in texts(at)
    assert auth.get_user(db, "dora") is None
