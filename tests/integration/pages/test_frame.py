"""The dashboard frame: log-in gate, role-filtered navigation, every page renders."""

import pytest
from streamlit.testing.v1 import AppTest

from core import auth
from core.auth.roles import Role
from tests.support.apptest import APP, TIMEOUT, make_user, page_path, signed_in, texts

ALL_PAGES = list(auth.PAGE_ROLES)


def test_signed_out_app_shows_only_the_login_form(db):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    labels = [t.label for t in at.text_input]
    assert labels == ["Username", "Password"]
    assert "Sandbox mode" in texts(at)
    assert not at.sidebar.button  # no logout, no navigation content


@pytest.mark.parametrize("stem", ALL_PAGES)
def test_every_page_refuses_a_signed_out_session(db, stem):
    at = AppTest.from_file(page_path(stem), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "Please log in" in texts(at)
    assert not at.button and not at.text_area


def test_real_login_form_right_and_wrong_password(db):
    make_user(db, "admin", "root")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input[0].input("root")
    at.text_input[1].input("not-the-password")
    at.button[0].click().run()
    assert at.session_state["authentication_status"] is False
    assert "incorrect" in texts(at)

    at.text_input[0].input("root")
    at.text_input[1].input("a-long-password-1")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["authentication_status"] is True
    assert "Voice Screening Console" in [t.value for t in at.title]


def test_disabled_user_cannot_log_in(db):
    admin = make_user(db, "admin", "root")
    make_user(db, "recruiter", "rita")
    auth.set_disabled(db, admin, "rita", True)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input[0].input("rita")
    at.text_input[1].input("a-long-password-1")
    at.button[0].click().run()
    assert at.session_state["authentication_status"] is not True


def test_session_of_a_user_disabled_meanwhile_is_refused(db):
    admin = make_user(db, "admin", "root")
    rita = make_user(db, "recruiter", "rita")
    auth.set_disabled(db, admin, "rita", True)
    at = signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), rita).run()
    assert "disabled" in texts(at)
    assert "Voice Screening Console" not in [t.value for t in at.title]


@pytest.mark.parametrize("role", list(Role))
def test_each_role_can_open_exactly_its_pages(db, role):
    user = make_user(db, role.value)
    at = signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), user).run()
    assert not at.exception
    for stem in ALL_PAGES:
        allowed = role in auth.PAGE_ROLES[stem]
        if allowed:
            at.switch_page(page_path(stem)).run()
            assert not at.exception, (stem, at.exception)
        else:
            with pytest.raises(Exception):  # noqa: B017 - Streamlit raises for pages not in st.navigation
                at.switch_page(page_path(stem)).run()
            at = signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), user).run()


@pytest.mark.parametrize("stem", ALL_PAGES)
def test_every_page_renders_without_exception_for_admin(db, stem):
    admin = make_user(db, "admin")
    at = signed_in(AppTest.from_file(page_path(stem), default_timeout=TIMEOUT), admin).run()
    assert not at.exception, at.exception


def test_page_opened_directly_by_a_role_without_access_is_refused(db):
    viewer = make_user(db, "viewer")
    at = signed_in(AppTest.from_file(page_path("users"), default_timeout=TIMEOUT), viewer).run()
    assert "does not give access" in texts(at)
    assert not at.text_input


def test_users_page_adds_a_user(db):
    admin = make_user(db, "admin", "root")
    at = signed_in(AppTest.from_file(page_path("users"), default_timeout=TIMEOUT), admin).run()
    at.text_input(key="users.add_username").input("newbie")
    at.text_input(key="users.add_password").input("newbie-password-1")
    at.selectbox(key="users.add_role").select("viewer")
    at.button[0].click().run()
    assert not at.exception
    assert auth.get_user(db, "newbie").role is Role.VIEWER
    table = at.dataframe[0].value
    assert "$2" not in table.to_csv()  # never shows a hash


def test_unreachable_database_shows_a_clear_message(test_env, monkeypatch):
    from tools.embedded_db.launcher import free_port

    monkeypatch.setenv("MONGODB_URI", f"mongodb://127.0.0.1:{free_port()}")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "database cannot be reached" in texts(at)
    assert not at.text_input  # no log-in form without a database
