"""Voice config storage on the real (throwaway) database: versions, audit diffs, permissions."""

from __future__ import annotations

import pytest

from core.agent import defaults as agent_defaults
from core.agent import effective as agent_effective
from core.agent import settings as agent_settings
from core.agent import validation as agent_validation
from core.agent.models import JobVoiceConfig
from core.agent.records import ConfigVersion
from core.auth import PermissionDenied, User
from core.auth.roles import Role
from core.db import AUDIT_LOG, CONFIG_VERSIONS, GLOBAL_VOICE_CONFIG, JOB_VOICE_CONFIGS, PROVIDER_CACHE, utcnow
from core.people.jobs import create_job
from tests.factories import insert_call

ADMIN = User("ada", "Ada", Role.ADMIN)
RECRUITER = User("rita", "Rita", Role.RECRUITER)
VIEWER = User("vic", "Vic", Role.VIEWER)


def _seed_voices(db, names=("Mark", "Jessica")) -> None:
    # A fresh cached list, so no test talks to a provider.
    db[PROVIDER_CACHE].replace_one(
        {"_id": "voices"},
        {"_id": "voices", "fetched_at": utcnow(),
         "items": [{"voice_id": f"id-{n}", "name": n, "language": "en-US"} for n in names]},
        upsert=True,
    )


@pytest.fixture
def job(db) -> dict:
    return create_job(db, ADMIN, title="Barista", company="Bean Co")


def _with(**changes) -> dict:
    return {**agent_effective.as_plain(agent_defaults.default_global_config()), **changes}


def test_default_until_first_save(db) -> None:
    stored = agent_settings.load_global(db)
    assert stored.version == 0 and stored.config == agent_defaults.default_global_config()
    assert agent_settings.list_history(db, agent_settings.GLOBAL_SCOPE) == []


def test_admin_save_versions_and_audits(db) -> None:
    result = agent_settings.save_global_config(db, ADMIN, _with(temperature=0.7, max_duration_minutes=10))
    assert result.version == 1
    assert result.changes == {"temperature": {"old": 0.3, "new": 0.7},
                              "max_duration_minutes": {"old": 15, "new": 10}}
    stored = agent_settings.load_global(db)
    assert (stored.version, stored.config.temperature, stored.updated_by) == (1, 0.7, "ada")
    version = db[CONFIG_VERSIONS].find_one({"scope": "global", "version": 1})
    assert version["actor"] == "ada" and version["config"]["temperature"] == 0.7 and version["at"]
    entry = db[AUDIT_LOG].find_one({"action": "global_config.update"})
    assert entry["actor"] == "ada" and entry["changes"]["temperature"] == {"old": 0.3, "new": 0.7}
    # Saving the same values again writes nothing.
    assert not agent_settings.save_global_config(db, ADMIN, stored.config).changed
    assert db[CONFIG_VERSIONS].count_documents({}) == 1


@pytest.mark.parametrize("user", [RECRUITER, VIEWER, None])
def test_global_refused_for_non_admins(db, user) -> None:
    with pytest.raises(PermissionDenied):
        agent_settings.save_global_config(db, user, _with(temperature=0.9))
    agent_settings.save_global_config(db, ADMIN, _with(temperature=0.9))
    with pytest.raises(PermissionDenied):
        agent_settings.restore_version(db, user, agent_settings.GLOBAL_SCOPE, 1)
    assert agent_settings.load_global(db).version == 1
    assert db[AUDIT_LOG].count_documents({"actor": getattr(user, "username", None)}) == 0


def test_validation_refuses_and_writes_nothing(db) -> None:
    with pytest.raises(agent_validation.ConfigValidationError) as info:
        agent_settings.save_global_config(db, ADMIN, _with(system_prompt="", temperature=4))
    assert "System prompt cannot be empty." in info.value.messages
    assert db[GLOBAL_VOICE_CONFIG].count_documents({}) == 0
    assert db[CONFIG_VERSIONS].count_documents({}) == 0


def test_unknown_voice_refused(db) -> None:
    _seed_voices(db)
    with pytest.raises(agent_validation.ConfigValidationError, match="not in the Ultravox voice library"):
        agent_settings.save_global_config(db, ADMIN, _with(voice="Ghost"))
    assert agent_settings.save_global_config(db, ADMIN, _with(voice="Jessica")).version == 1


def test_conflicting_save_refused(db) -> None:
    agent_settings.save_global_config(db, ADMIN, _with(temperature=0.5), base_version=0)
    with pytest.raises(agent_validation.ConfigConflict):
        agent_settings.save_global_config(db, ADMIN, _with(temperature=0.6), base_version=0)
    assert agent_settings.get_global_config(db).temperature == 0.5


def test_history_and_restore(db) -> None:
    _seed_voices(db)
    agent_settings.save_global_config(db, ADMIN, _with(temperature=0.5))
    agent_settings.save_global_config(db, ADMIN, _with(temperature=0.6, voice="Jessica"))
    history = agent_settings.list_history(db, agent_settings.GLOBAL_SCOPE)
    assert all(isinstance(h, ConfigVersion) for h in history)
    assert [h.version for h in history] == [2, 1]
    assert history[0].changes["voice"] == {"old": "Mark", "new": "Jessica"}
    assert history[0].actor == "ada" and history[0].at is not None
    result = agent_settings.restore_version(db, ADMIN, agent_settings.GLOBAL_SCOPE, 1)
    assert result.version == 3
    cfg = agent_settings.get_global_config(db)
    assert (cfg.temperature, cfg.voice) == (0.5, "Mark")
    assert agent_settings.list_history(db, agent_settings.GLOBAL_SCOPE)[0].restored_from == 1
    assert db[AUDIT_LOG].find_one({"action": "global_config.restore"})["changes"]["voice"]["new"] == "Mark"
    with pytest.raises(agent_validation.ConfigValidationError, match="does not exist"):
        agent_settings.restore_version(db, ADMIN, agent_settings.GLOBAL_SCOPE, 99)


@pytest.mark.parametrize("user", [ADMIN, RECRUITER])
def test_job_overrides_by_admin_and_recruiter(db, job, user) -> None:
    _seed_voices(db)
    result = agent_settings.save_job_config(db, user, job.id, {"temperature": 0.8, "voice": "Jessica"})
    assert result.version == 1
    assert result.changes == {"voice": {"old": None, "new": "Jessica"},
                              "temperature": {"old": None, "new": 0.8}}
    stored = agent_settings.load_job(db, job.id)
    assert agent_effective.overridden_fields(stored.overrides) == ["voice", "temperature"]
    assert agent_settings.job_effective_config(db, job.id).temperature == 0.8
    doc = db[JOB_VOICE_CONFIGS].find_one({"job_id": job.id})
    assert doc["overrides"] == {"voice": "Jessica", "temperature": 0.8}
    assert db[CONFIG_VERSIONS].find_one({"scope": f"job:{job.id}"})["actor"] == user.username
    entry = db[AUDIT_LOG].find_one({"action": "job_config.update"})
    assert entry["entity_id"] == job.id and entry["changes"]["temperature"]["new"] == 0.8


def test_job_refused_for_viewer_and_unknown_job(db, job) -> None:
    with pytest.raises(PermissionDenied):
        agent_settings.save_job_config(db, VIEWER, job.id, {"temperature": 0.8})
    with pytest.raises(PermissionDenied):
        agent_settings.reset_job_field(db, VIEWER, job.id, "temperature")
    with pytest.raises(agent_validation.ConfigValidationError, match="does not exist"):
        agent_settings.save_job_config(db, RECRUITER, "nope", {"temperature": 0.8})
    assert db[JOB_VOICE_CONFIGS].count_documents({}) == 0


def test_job_validation_messages(db, job) -> None:
    with pytest.raises(agent_validation.ConfigValidationError) as info:
        agent_settings.save_job_config(db, RECRUITER, job.id, {"max_duration_minutes": 90,
                                                        "system_prompt": "Hi {{nickname}}"})
    assert "Maximum call length (minutes) must be at most 60." in info.value.messages
    assert any("{{nickname}}" in m for m in info.value.messages)


def test_reset_field_and_job_restore(db, job) -> None:
    agent_settings.save_job_config(db, RECRUITER, job.id, {"temperature": 0.8, "max_duration_minutes": 5})
    result = agent_settings.reset_job_field(db, RECRUITER, job.id, "temperature")
    assert result.changes == {"temperature": {"old": 0.8, "new": None}}
    overrides = agent_settings.load_job(db, job.id).overrides
    assert agent_effective.overridden_fields(overrides) == ["max_duration_minutes"]
    global_temperature = agent_settings.get_global_config(db).temperature
    assert agent_settings.job_effective_config(db, job.id).temperature == global_temperature
    agent_settings.restore_version(db, RECRUITER, agent_settings.job_scope(job.id), 1)
    assert agent_settings.load_job(db, job.id).overrides == JobVoiceConfig(temperature=0.8,
                                                                               max_duration_minutes=5)


def test_global_change_flows_into_inheriting_job(db, job) -> None:
    agent_settings.save_job_config(db, RECRUITER, job.id, {"max_duration_minutes": 5})
    agent_settings.save_global_config(db, ADMIN, _with(temperature=0.1, max_duration_minutes=30))
    eff = agent_settings.job_effective_config(db, job.id)
    assert (eff.temperature, eff.max_duration_minutes) == (0.1, 5)


def test_snapshot_for_call_is_exact_and_frozen(db, job) -> None:
    agent_settings.save_global_config(db, ADMIN, _with(temperature=0.2))
    agent_settings.save_job_config(db, RECRUITER, job.id, {"max_duration_minutes": 7})
    snap = agent_settings.snapshot_for_call(db, job.id, "Alex Morgan", "Barista", "Bean Co")
    assert snap["config"]["temperature"] == 0.2 and snap["config"]["max_duration_minutes"] == 7
    assert (snap["global_version"], snap["job_version"]) == (1, 1)
    assert snap["overridden_fields"] == ["max_duration_minutes"]
    assert "Alex" in snap["rendered_prompt"] and "{{" not in snap["rendered_prompt"]
    assert snap["ultravox"]["maxDuration"] == "420s"
    assert snap["ultravox"]["systemPrompt"] == snap["rendered_prompt"]
    # Stored on a call document and read back unchanged, whatever changes later.
    insert_call(db, id="c1", config_snapshot=snap)
    agent_settings.save_global_config(db, ADMIN, _with(temperature=0.9))
    stored = db["calls"].find_one({"_id": "c1"})["config_snapshot"]
    assert stored["config"]["temperature"] == 0.2 and stored["rendered_prompt"] == snap["rendered_prompt"]
