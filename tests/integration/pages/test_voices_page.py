"""Voices: "Use for global" asks first and names the jobs it reaches; the chosen job's voice is marked."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.agent import settings as agent_settings
from core.people.jobs import create_job
from tests.integration.pages.test_settings_pages import _seed_catalog
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts


def test_the_confirmation_names_the_jobs_and_cancel_changes_nothing(db) -> None:
    _seed_catalog(db)
    admin = make_user(db, "admin", "boss")
    follows = create_job(db, admin, title="Forklift operator", company="Acme")
    chef = create_job(db, admin, title="Chef", company="Acme")
    agent_settings.use_voice_for_job(db, admin, chef.id, "Hugo-French")
    at = signed_in(AppTest.from_file(page_path("voices"), default_timeout=TIMEOUT), admin).run()
    at.button(key="voices.global.id-Jessica").click().run()
    shown = texts(at).replace("\u2060", "")  # md() keeps a word joiner before colons
    assert "for 1 job that follows the global settings use it: Forklift operator." in shown
    assert "1 job keeps its own voice: Chef (Hugo-French)." in shown
    at.button(key="voices.global_no").click().run()
    assert agent_settings.get_global_config(db).voice == "Mark"
    assert "keeps its own voice" not in texts(at)

    # The job picked for "Use for this job" has its current voice marked.
    at.selectbox(key="voices.job").set_value(chef.id).run()
    marked = [m.value for m in at.markdown if "this job's voice" in str(m.value)]
    assert len(marked) == 1 and "Hugo\\-French" in marked[0]  # md() escapes the hyphen
    at.selectbox(key="voices.job").set_value(follows.id).run()
    marked = [m.value for m in at.markdown if "this job's voice" in str(m.value)]
    assert len(marked) == 1 and "Mark" in marked[0]
