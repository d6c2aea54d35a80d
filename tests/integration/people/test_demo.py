"""Demo data: admins only, sandbox only (enforced in core), loading twice adds nothing; the Home
button for admins in sandbox mode."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import auth
from core.config import get_settings
from core.db import CANDIDATES, JOBS
from core.people import demo
from tests.integration.startup.test_banners import LIVE_ENV
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in


def test_an_admin_loads_it_once_and_others_may_not(db) -> None:
    admin = make_user(db, "admin", "boss")
    first = demo.seed_demo(db, admin)
    again = demo.seed_demo(db, admin)
    assert [c.id for c, _ in first.candidates] == [c.id for c, _ in again.candidates]
    assert db[JOBS].count_documents({}) == 1 and db[CANDIDATES].count_documents({}) == len(demo.DEMO_OUTCOMES)
    for role in ("recruiter", "viewer"):
        with pytest.raises(auth.PermissionDenied):
            demo.seed_demo(db, make_user(db, role))


def test_live_mode_refuses_and_stores_nothing(db, monkeypatch) -> None:
    for key, value in LIVE_ENV.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    admin = make_user(db, "admin", "boss")
    with pytest.raises(demo.DemoRefused, match="sandbox mode"):
        demo.seed_demo(db, admin)
    assert db[JOBS].count_documents({}) == 0 and db[CANDIDATES].count_documents({}) == 0


def test_the_home_button_is_for_admins_and_loads_the_demo(db) -> None:
    recruiter = make_user(db, "recruiter", "rita")
    at = signed_in(AppTest.from_file(page_path("home"), default_timeout=TIMEOUT), recruiter).run()
    assert not [b for b in at.button if b.key == "home.demo"]
    admin = make_user(db, "admin", "boss")
    at = signed_in(AppTest.from_file(page_path("home"), default_timeout=TIMEOUT), admin).run()
    at.button(key="home.demo").click().run()
    assert not at.exception
    assert [m.value for m in at.metric if m.label == "Open jobs"] == ["1"]
    assert db[CANDIDATES].count_documents({}) == len(demo.DEMO_OUTCOMES)


def test_an_erased_demo_candidate_who_said_stop_stays_out_and_the_rest_seed(db) -> None:
    from core.people import candidates
    from core.privacy import erasure

    admin = make_user(db, "admin", "boss")
    opt_out = next(c for c, outcome in demo.seed_demo(db, admin).candidates if outcome == "opt_out")
    candidates.set_do_not_call(db, admin, opt_out.id, True, reason="asked by email")
    erasure.erase_candidate(db, admin, opt_out.id, reason="Erasure request 12", confirmed=True)
    again = demo.seed_demo(db, admin)
    assert "opt_out" not in [outcome for _, outcome in again.candidates]
    assert len(again.candidates) == len(demo.DEMO_OUTCOMES) - 1
    assert candidates.find_by_phone(db, "+12125550155") is None
