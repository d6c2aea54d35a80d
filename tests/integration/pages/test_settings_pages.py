"""AppTests of the settings and voices pages, per role, on the real (throwaway) database."""

from __future__ import annotations

from datetime import time

import pytest
from streamlit.testing.v1 import AppTest

from core.agent import defaults as agent_defaults
from core.agent import effective as agent_effective
from core.agent import settings as agent_settings
from core.agent import voice_catalog
from core.db import AUDIT_LOG, PROVIDER_CACHE, utcnow
from core.people.jobs import create_job
from tests.support.apptest import APP, TIMEOUT, make_user, page_path, signed_in, texts


def _seed_catalog(db) -> None:
    # Fresh cached lists, so the pages never talk to a provider in these tests.
    now = utcnow()
    voices = [("Mark", "en-US", "sandbox"), ("Jessica", "en-US", "sandbox"),
              ("Hugo-French", "fr-FR", "other")]
    db[PROVIDER_CACHE].replace_one({"_id": "voices"}, {
        "_id": "voices", "fetched_at": now,
        "items": [{"voice_id": f"id-{n}", "name": n, "language": lang, "language_label": lang,
                   "description": f"{n} voice", "provider": prov, "preview_url": "http://x/p.wav"}
                  for n, lang, prov in voices]}, upsert=True)
    db[PROVIDER_CACHE].replace_one({"_id": "models"}, {
        "_id": "models", "fetched_at": now, "items": [{"name": "ultravox-v0.6"}, {"name": "ultravox-v0.7"}]},
        upsert=True)


def _page(db, stem: str, role: str, query: dict | None = None) -> AppTest:
    _seed_catalog(db)
    user = make_user(db, role)
    at = AppTest.from_file(page_path(stem), default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return signed_in(at, user).run()


def _by_key(elements, key: str):
    return next(e for e in elements if e.key == key)


# -- global settings ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "recruiter"])
def test_global_settings_read_only_for_non_admins(db, role) -> None:
    at = _page(db, "global_settings", role)
    assert not at.exception
    assert "Read only: only admins" in texts(at)
    assert _by_key(at.slider, "global_settings.form.temperature").disabled
    reviews = [b for b in at.button if b.key and b.key.startswith("global_settings.review.")]
    assert len(reviews) == 2 and all(b.disabled for b in reviews)  # the save bars, top and bottom


def test_global_settings_admin_saves_after_confirmation(db) -> None:
    at = _page(db, "global_settings", "admin")
    assert not at.exception
    _by_key(at.slider, "global_settings.form.temperature").set_value(0.6)
    _by_key(at.number_input, "global_settings.form.max_duration_minutes").set_value(20).run()
    _by_key(at.button, "global_settings.review.top").click().run()
    assert not at.exception
    assert "Confirm your changes" in texts(at)
    assert agent_settings.load_global(db).version == 0  # nothing saved before confirming
    _by_key(at.button, "global_settings.confirm").click().run()
    assert not at.exception
    stored = agent_settings.load_global(db)
    assert (stored.version, stored.config.temperature, stored.config.max_duration_minutes) == (1, 0.6, 20)
    assert db[AUDIT_LOG].find_one({"action": "global_config.update"})["actor"] == "admin1"
    assert "Version 1" in " ".join(e.label for e in at.expander)


def test_typed_questions_survive_the_settings_form(db) -> None:
    admin = make_user(db, "admin", "boss")
    base = agent_effective.as_plain(agent_defaults.default_global_config())
    typed = [
        {"text": "Are you authorised to work here?", "type": "yes_no", "knockout": {"must_be": True},
         "reviewer_guidance": "Must be yes."},
        {"text": "Years driving forklifts?", "type": "number", "unit": "years", "min_value": 0,
         "max_value": 50, "knockout": {"at_least": 2}},
        {"text": "Which shift?", "type": "choice", "options": ["days", "nights"],
         "knockout": {"one_of": ["nights"]}, "guidance": "Either is fine."},
        "Why this job?",
    ]
    agent_settings.save_global_config(db, admin, {**base, "screening_questions": typed})
    before = agent_settings.get_global_config(db).screening_questions
    at = _page(db, "global_settings", "admin")
    assert not at.exception
    assert "A knock-out rule says what the answer must be" in texts(at)
    _by_key(at.slider, "global_settings.form.temperature").set_value(0.6).run()
    _by_key(at.button, "global_settings.review.bottom").click().run()
    _by_key(at.button, "global_settings.confirm").click().run()
    assert not at.exception
    after = agent_settings.load_global(db)
    # Only the temperature changed: types, rules, guidance and ids came back from the table intact.
    assert after.version == 2 and after.config.temperature == 0.6
    assert after.config.screening_questions == before


def test_global_settings_shows_validation_messages(db) -> None:
    at = _page(db, "global_settings", "admin")
    _by_key(at.text_area, "global_settings.form.system_prompt").input("Hi {{nickname}}").run()
    _by_key(at.button, "global_settings.review.top").click().run()
    assert not at.exception
    assert "{{nickname}}" in " ".join(e.value for e in at.error)
    assert agent_settings.load_global(db).version == 0


def test_global_settings_restore(db) -> None:
    admin = make_user(db, "admin", "boss")
    base = agent_effective.as_plain(agent_defaults.default_global_config())
    agent_settings.save_global_config(db, admin, {**base, "temperature": 0.5})
    agent_settings.save_global_config(db, admin, {**base, "temperature": 0.9})
    at = _page(db, "global_settings", "admin")
    _by_key(at.checkbox, "global_settings.history.confirm").check()
    at.run()
    _by_key(at.button, "global_settings.history.restore").click().run()
    assert not at.exception
    assert agent_settings.get_global_config(db).temperature == 0.5
    assert agent_settings.load_global(db).version == 3


# -- job settings ------------------------------------------------------------------------


def test_admin_sets_the_organisation_time_zone_with_a_confirmation(db) -> None:
    at = _page(db, "global_settings", "admin")
    assert not at.exception
    zone = _by_key(at.selectbox, "global_settings.form.organisation_zone")
    assert zone.label == "Organisation time zone" and zone.value == "UTC"
    zone.set_value("America/New_York").run()
    _by_key(at.button, "global_settings.review.top").click().run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "Setting" in d.value.columns)
    assert table.to_dict("records") == [
        {"Setting": "Organisation time zone", "Before": "UTC", "After": "America/New_York"}]
    assert "saving recounts the figures" in texts(at)
    _by_key(at.button, "global_settings.confirm").click().run()
    assert not at.exception
    assert agent_settings.load_global(db).config.organisation_zone == "America/New_York"
    assert db[AUDIT_LOG].find_one({"action": "usage.recount"})["actor"] == "admin1"


def test_a_job_cannot_override_the_organisation_time_zone(db) -> None:
    admin = make_user(db, "admin", "boss")
    job = create_job(db, admin, title="Barista", company="Bean Co")
    at = _page(db, "job_settings", "admin", {"job": job.id})
    assert not at.exception
    assert not [w for w in at.selectbox if w.key and w.key.endswith("organisation_zone")]
    assert "Organisation time zone" not in texts(at)


def test_job_settings_marks_inherited_and_overridden(db) -> None:
    admin = make_user(db, "admin", "boss")
    job = create_job(db, admin, title="Barista", company="Bean Co")
    agent_settings.save_job_config(db, admin, job.id, {"temperature": 0.8})
    at = _page(db, "job_settings", "viewer", {"job": job.id})
    assert not at.exception
    page = texts(at)
    assert "Overridden" in page and "Inherited" in page
    assert at.selectbox(key="job_settings.job").value == job.id
    prompt = at.code[0].value
    assert "Barista" in prompt and "Bean Co" in prompt and "Alex" in prompt
    diff = next(d.value for d in at.dataframe if "This job" in d.value.columns)  # diff vs global
    assert list(diff["Setting"]) == ["Temperature"] and list(diff["This job"]) == ["0.8"]
    assert "Test call" in page or any("Test call" in b.label for b in at.button)
    assert "Read only" in page


def test_job_settings_bad_deep_link(db) -> None:
    create_job(db, make_user(db, "admin", "boss"), title="Barista", company="Bean Co")
    at = _page(db, "job_settings", "recruiter", {"job": "no-such-job"})
    assert not at.exception
    assert "no job" in texts(at).lower()


def test_job_settings_recruiter_overrides_a_field(db) -> None:
    admin = make_user(db, "admin", "boss")
    job = create_job(db, admin, title="Barista", company="Bean Co")
    at = _page(db, "job_settings", "recruiter", {"job": job.id})
    prefix = f"job_settings.{job.id}"
    assert _by_key(at.number_input, f"{prefix}.form.max_duration_minutes").disabled  # locked: inherited
    _by_key(at.checkbox, f"{prefix}.override.max_duration_minutes").check().run()
    _by_key(at.number_input, f"{prefix}.form.max_duration_minutes").set_value(9).run()
    _by_key(at.button, f"{prefix}.review.top").click().run()
    assert not at.exception
    _by_key(at.button, "job_settings.confirm").click().run()
    assert not at.exception
    stored = agent_settings.load_job(db, job.id)
    assert agent_effective.overridden_fields(stored.overrides) == ["max_duration_minutes"]
    assert stored.overrides.max_duration_minutes == 9
    # A test call to a bad number is refused with the reason, before anything is dialled.
    at.text_input(key="job_settings.test_phone").input("12ab")
    _by_key(at.button, "job_settings.test_call").click().run()
    assert "The test call was not placed" in texts(at)
    assert db["calls"].count_documents({}) == 0


# -- voices ------------------------------------------------------------------------------


def test_voices_lists_filters_and_uses_for_global(db) -> None:
    at = _page(db, "voices", "admin")
    assert not at.exception
    assert "Jessica" in texts(at) and "Hugo-French" in texts(at)
    at.text_input(key="voices.search").input("hugo").run()
    assert "Hugo-French" in texts(at) and "Jessica" not in texts(at)
    at.text_input(key="voices.search").input("").run()
    before = agent_settings.get_global_config(db).voice
    _by_key(at.button, "voices.global.id-Jessica").click().run()
    assert not at.exception
    # It asks first, naming what changes; nothing is saved until confirmed.
    assert f"The global voice changes from {before} to Jessica." in texts(at)
    assert agent_settings.get_global_config(db).voice == before
    _by_key(at.button, "voices.global_yes").click().run()
    assert not at.exception
    assert agent_settings.get_global_config(db).voice == "Jessica"


def test_voices_viewer_cannot_use(db) -> None:
    at = _page(db, "voices", "viewer")
    assert not at.exception
    assert all(b.disabled for b in at.button if b.key and b.key.startswith("voices.global."))


def test_voices_empty_state_when_no_list(db, monkeypatch) -> None:
    monkeypatch.setattr(voice_catalog, "voice_library", lambda db,
                        **kw: voice_catalog.VoiceLibrary(error="Ultravox is down"))
    user = make_user(db, "admin")
    at = signed_in(AppTest.from_file(page_path("voices"), default_timeout=TIMEOUT), user).run()
    assert not at.exception
    assert "Ultravox is down" in texts(at)


def test_voices_preview_plays_bytes_fetched_server_side(db, monkeypatch) -> None:
    calls: list[str] = []

    def fake_preview(_db, voice_id: str) -> bytes:
        calls.append(voice_id)
        return b"RIFF\x24\x00\x00\x00WAVEfmt "

    monkeypatch.setattr(voice_catalog, "voice_preview", fake_preview)
    at = _page(db, "voices", "recruiter")
    _by_key(at.button, "voices.preview.id-Mark").click().run()
    assert not at.exception
    audio = at.get("audio")
    assert len(audio) == 1 and calls == ["id-Mark"]
    assert "http://x/p.wav" not in str(audio[0].proto)  # the provider URL never reaches the page


# -- the forms behave like a recruiter's forms (issue 15) --------------------------------


def test_ticking_a_day_enables_its_times_at_once(db) -> None:
    at = _page(db, "global_settings", "admin")
    hours = "global_settings.form.calling_hours"
    assert _by_key(at.time_input, f"{hours}.sat.start").disabled  # Saturday is off by default
    _by_key(at.checkbox, f"{hours}.sat.on").check().run()  # no form: this reruns by itself
    assert not at.exception
    assert not _by_key(at.time_input, f"{hours}.sat.start").disabled
    assert not _by_key(at.time_input, f"{hours}.sat.end").disabled
    assert "Sat 09:00–18:00" in texts(at)  # the picture's sentence follows the entered hours


def test_invalid_hours_are_shown_at_the_day_and_nothing_is_saved(db) -> None:
    at = _page(db, "global_settings", "admin")
    hours = "global_settings.form.calling_hours"
    _by_key(at.time_input, f"{hours}.mon.end").set_value(time(8, 0)).run()
    problem = next(e for e in at.error if "Monday" in e.value)
    assert "before it starts at 09:00" in problem.value
    # At the field: right after Monday's times, before Tuesday's row.
    keys = [getattr(n, "key", None) or n.value for n in at.main
            if getattr(n, "key", None) or getattr(n, "type", "") == "error"]
    assert keys.index(f"{hours}.mon.end") < keys.index(problem.value) < keys.index(f"{hours}.tue.on")
    _by_key(at.button, "global_settings.review.top").click().run()
    assert "were not saved" in texts(at)
    assert not any(b.key == "global_settings.confirm" for b in at.button)
    assert agent_settings.load_global(db).version == 0


def test_draft_is_restored_after_leaving_the_page_and_can_be_discarded(db) -> None:
    _seed_catalog(db)
    # The whole app (its navigation frame), so leaving the page drops its widgets as in a browser.
    at = signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), make_user(db, "admin")).run()
    at.switch_page(page_path("global_settings")).run()
    assert "Unsaved draft" not in texts(at)
    _by_key(at.slider, "global_settings.form.temperature").set_value(0.65).run()
    assert "Unsaved draft" in texts(at)
    at.switch_page(page_path("home")).run()
    assert not at.exception
    assert not any(s.key == "global_settings.form.temperature" for s in at.slider)  # really away
    at.switch_page(page_path("global_settings")).run()
    assert not at.exception
    assert _by_key(at.slider, "global_settings.form.temperature").value == 0.65
    assert "Unsaved draft" in texts(at)
    assert agent_settings.load_global(db).version == 0  # a draft is not a save
    _by_key(at.button, "global_settings.discard.top").click().run()
    assert _by_key(at.slider, "global_settings.form.temperature").value == 0.3
    assert not any(b.key and b.key.startswith("global_settings.discard") for b in at.button)


def test_nothing_to_save_is_said_on_the_button(db) -> None:
    at = _page(db, "global_settings", "admin")
    review = _by_key(at.button, "global_settings.review.top")
    assert review.disabled and review.label == "Nothing to save"
    _by_key(at.slider, "global_settings.form.temperature").set_value(0.6).run()
    review = _by_key(at.button, "global_settings.review.top")
    assert not review.disabled and review.label == "Review changes"


def test_override_checkbox_unlocks_a_field_and_unticking_inherits_again(db) -> None:
    admin = make_user(db, "admin", "boss")
    job = create_job(db, admin, title="Barista", company="Bean Co")
    agent_settings.save_job_config(db, admin, job.id, {"max_duration_minutes": 9})
    at = _page(db, "job_settings", "recruiter", {"job": job.id})
    prefix = f"job_settings.{job.id}"
    temp = _by_key(at.slider, f"{prefix}.form.temperature")
    assert temp.disabled and temp.value == 0.3  # inherited: locked, showing the global value
    _by_key(at.checkbox, f"{prefix}.override.temperature").check().run()
    assert not _by_key(at.slider, f"{prefix}.form.temperature").disabled
    minutes = _by_key(at.number_input, f"{prefix}.form.max_duration_minutes")
    assert not minutes.disabled and minutes.value == 9
    _by_key(at.checkbox, f"{prefix}.override.temperature").uncheck().run()
    _by_key(at.checkbox, f"{prefix}.override.max_duration_minutes").uncheck().run()
    minutes = _by_key(at.number_input, f"{prefix}.form.max_duration_minutes")
    assert minutes.disabled and minutes.value == 15  # the global value, not the job's 9
    _by_key(at.button, f"{prefix}.review.bottom").click().run()
    _by_key(at.button, "job_settings.confirm").click().run()
    assert not at.exception
    assert agent_effective.overridden_fields(agent_settings.load_job(db, job.id).overrides) == []


def test_job_hours_are_shown_beside_the_global_ones(db) -> None:
    admin = make_user(db, "admin", "boss")
    job = create_job(db, admin, title="Barista", company="Bean Co")
    at = _page(db, "job_settings", "viewer", {"job": job.id})
    charts = [c for c in at.get("plotly_chart")]
    titles = [str(c.proto.spec) for c in charts]
    assert len(charts) == 2
    assert '"Global"' in titles[0] and "This job (inherits global)" in titles[1]


def test_reset_to_global_asks_first_and_names_the_field(db) -> None:
    admin = make_user(db, "admin", "boss")
    job = create_job(db, admin, title="Barista", company="Bean Co")
    agent_settings.save_job_config(db, admin, job.id, {"temperature": 0.8})
    at = _page(db, "job_settings", "recruiter", {"job": job.id})
    prefix = f"job_settings.{job.id}"
    _by_key(at.button, f"{prefix}.reset").click().run()
    assert not at.exception
    ask = next(line for line in texts(at).splitlines() if "to the global value?" in line)
    assert "Temperature" in ask and "(0.8)" in ask and "(0.3)" in ask
    assert agent_settings.load_job(db, job.id).overrides.temperature == 0.8  # not yet
    _by_key(at.button, f"{prefix}.reset_confirm").click().run()
    assert not at.exception
    assert agent_effective.overridden_fields(agent_settings.load_job(db, job.id).overrides) == []
