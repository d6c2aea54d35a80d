"""Forms that behave: a list shows what was just added, a zone is chosen from a list and kept."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core import auth
from core.people import candidates
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in
from tests.support.review_seed import add_job


def _page(stem: str, user) -> AppTest:
    return signed_in(AppTest.from_file(page_path(stem), default_timeout=TIMEOUT), user).run()


def _rows(at: AppTest, column: str) -> list[dict]:
    return [r for df in at.dataframe for r in df.value.to_dict("records") if column in r]


def test_a_new_candidate_is_in_the_list_at_once_with_the_zone_chosen(db) -> None:
    admin = make_user(db, "admin", "boss")
    add_job(db, "Forklift operator")
    at = _page("jobs_candidates", admin)
    assert _rows(at, "Phone") == []
    zone = at.selectbox(key="jobs_candidates.a_tz")
    assert zone.value == "" and "From the phone number" in zone.options[0]
    at.text_input(key="jobs_candidates.a_name").input("Dana Denver")
    at.text_input(key="jobs_candidates.a_phone").input("+1 303 555 0142")
    zone.set_value("America/Denver")
    at.button(key="FormSubmitter:jobs_candidates.add-Add candidate").click().run()
    assert not at.exception
    rows = _rows(at, "Phone")
    shown = [(r["Name"], r["Time zone"], r["Consent"]) for r in rows]
    assert shown == [("Dana Denver", "America/Denver", "No")]
    assert [t.value for t in at.toast if "added" in str(t.value)]
    assert candidates.list_candidates(db, admin)[0].timezone == "America/Denver"


def test_a_zone_outside_the_usual_list_survives_an_edit(db) -> None:
    admin = make_user(db, "admin", "boss")
    cand = candidates.add_candidate(db, admin, name="Eve East", phone="+1 212 555 0143", timezone="EST5EDT",
                                    consent=True)
    at = _page("jobs_candidates", admin)
    box = at.selectbox(key=f"jobs_candidates.ed_{cand.id}_tz")
    assert box.value == "EST5EDT"
    at.button(key="FormSubmitter:jobs_candidates.edit_cand-Save candidate").click().run()
    assert not at.exception
    assert candidates.list_candidates(db, admin)[0].timezone == "EST5EDT"


def test_a_new_user_is_in_the_list_at_once_with_their_role_in_words(db) -> None:
    admin = make_user(db, "admin", "boss")
    at = _page("users", admin)
    at.text_input(key="users.add_username").input("rita")
    at.text_input(key="users.add_password").input("a-long-password-1")
    at.button(key="FormSubmitter:users.add-Add user").click().run()
    assert not at.exception
    assert {r["Username"]: r["Role"] for r in _rows(at, "Username")} == {"boss": "Administrator",
                                                                       "rita": "Recruiter"}
    assert auth.get_user(db, "rita").role.value == "recruiter"
