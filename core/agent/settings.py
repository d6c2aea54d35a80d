"""Stored voice settings: load, save (versioned, audited), history, restore, call snapshots."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from core import audit
from core.agent import settings_store
from core.agent.defaults import default_global_config
from core.agent.effective import (
    as_plain,
    cap_problems,
    effective_config,
    field_diff,
    overridden_fields,
    overrides_of,
    reset_field,
)
from core.agent.models import (
    GlobalVoiceConfig,
    JobVoiceConfig,
)
from core.agent.prompts import call_request_fields, render_prompt, render_spoken
from core.agent.records import ConfigVersion
from core.agent.validation import (
    ConfigConflict,
    ConfigValidationError,
    validate_global,
    validate_job,
    voice_problems,
)
from core.agent.voice_catalog import _known_voices
from core.auth import Action, User, require
from core.db import Database, utcnow
from core.people import jobs as people_jobs
from core.usage import zone_change

log = logging.getLogger(__name__)

GLOBAL_SCOPE = "global"
_GLOBAL_DOC_ID = "global"  # the audit entity id of the global settings
_HISTORY_CAP = 200  # history lists are bounded; older versions stay in the collection


# ---------------------------------------------------------------------------------------
# Storage: load, save (versioned + audited), history, restore
# ---------------------------------------------------------------------------------------


def job_scope(job_id: str) -> str:
    """The history scope of a job's settings."""
    return f"job:{job_id}"


@dataclass
class StoredGlobal:
    """The global config with its version (0 = the shipped default, never saved)."""

    config: GlobalVoiceConfig
    version: int = 0
    updated_by: str | None = None
    updated_at: datetime | None = None


@dataclass
class StoredJob:
    """A job's overrides with their version (0 = none saved yet)."""

    job_id: str
    overrides: Any  # JobVoiceConfig
    version: int = 0
    updated_by: str | None = None
    updated_at: datetime | None = None


@dataclass
class SaveResult:
    """What a save did: the new version (None when nothing changed) and the field changes."""

    version: int | None
    changes: dict[str, dict[str, Any]]
    note: str = ""  # in words, what the save left undone ("" when nothing)

    @property
    def changed(self) -> bool:
        """True when something was written."""
        return self.version is not None


def load_global(db: Database) -> StoredGlobal:
    """The stored global config, or the shipped default when none was ever saved."""
    record = settings_store.get_global(db)
    if not record:
        return StoredGlobal(config=default_global_config())
    try:
        cfg = GlobalVoiceConfig.model_validate(record.config)
    except ValidationError:
        # A field added since it was saved: fill it from the defaults rather than break calls.
        log.warning("stored global config incomplete; filling from defaults")
        cfg = GlobalVoiceConfig.model_validate({**as_plain(default_global_config()), **record.config})
    return StoredGlobal(cfg, record.version, record.updated_by, record.updated_at)


def get_global_config(db: Database) -> GlobalVoiceConfig:
    """The global config in force."""
    return load_global(db).config


def load_job(db: Database, job_id: str) -> StoredJob:
    """A job's stored overrides (empty when the job inherits everything)."""
    record = settings_store.get_job(db, job_id)
    if not record:
        return StoredJob(job_id=str(job_id), overrides=JobVoiceConfig())
    overrides = JobVoiceConfig.model_validate(record.overrides or {})
    return StoredJob(str(job_id), overrides, record.version, record.updated_by, record.updated_at)


def job_effective_config(db: Database, job_id: str) -> GlobalVoiceConfig:
    """The config a job's calls use now."""
    return effective_config(get_global_config(db), load_job(db, job_id).overrides)


def _write_version(db: Database, scope: str, version: int, config: dict[str, Any], actor: User,
                   changes: dict[str, Any], restored_from: int | None) -> None:
    # The store's unique (scope, version) index is the atomic "nobody saved in between" check.
    if not settings_store.insert_version(db, scope, version, config, actor.username, changes,
                                         restored_from):
        raise ConfigConflict(
            "Someone else saved these settings a moment ago. Reload the page to see their "
            "change, then make yours again."
        )


def _checked_global(db: Database,
                    data: GlobalVoiceConfig | dict[str, Any]) -> tuple[GlobalVoiceConfig, StoredGlobal]:
    """Validate new global settings (a changed voice must exist); with what is stored now."""
    cfg = validate_global(data)
    stored = load_global(db)
    if cfg.voice != stored.config.voice:
        problems = voice_problems(cfg.voice, _known_voices(db))
        if problems:
            raise ConfigValidationError(problems)
    return cfg, stored


def _checked_job(db: Database, job_id: str,
                 data: BaseModel | dict[str, Any]) -> tuple[StoredJob, dict[str, Any], dict[str, Any]]:
    """Validate a job's new overrides against the global ones; (stored, old and new overrides)."""
    overrides = validate_job(data)
    global_cfg = get_global_config(db)
    problems = cap_problems(global_cfg, overrides)
    if problems:
        raise ConfigValidationError(problems)
    effective = effective_config(global_cfg, overrides)  # cross-field rules
    stored = load_job(db, job_id)
    old, new = overrides_of(stored.overrides), overrides_of(overrides)
    if "voice" in new and new.get("voice") != old.get("voice"):
        problems = voice_problems(effective.voice, _known_voices(db))
        if problems:
            raise ConfigValidationError(problems)
    return stored, old, new


def save_global_config(
    db: Database, actor: User, data: GlobalVoiceConfig | dict[str, Any], *,
    base_version: int | None = None, restored_from: int | None = None,
) -> SaveResult:
    """Validate and save the global config (admins only): new version + audit entry."""
    require(actor, Action.EDIT_GLOBAL_SETTINGS)
    cfg, stored = _checked_global(db, data)
    new = as_plain(cfg)
    changes = field_diff(as_plain(stored.config), new)
    if not changes and restored_from is None:
        return SaveResult(None, {})
    current = settings_store.latest_version(db, GLOBAL_SCOPE)
    if base_version is not None and base_version != current:
        raise ConfigConflict("Someone else saved the global settings after you opened them. "
                             "Reload the page to see their change, then make yours again.")
    version = current + 1
    _write_version(db, GLOBAL_SCOPE, version, new, actor, changes, restored_from)
    settings_store.replace_global(db, new, version, actor.username)
    audit.record(db, actor=actor.username,
                 action="global_config.restore" if restored_from else "global_config.update",
                 entity="global_voice_config", entity_id=_GLOBAL_DOC_ID, changes=changes,
                 detail=f"version {version}" + (f" (restored from {restored_from})" if restored_from else ""))
    log.info("global config saved as version %s by %s", version, actor.username)
    note = ""
    if "organisation_zone" in changes:
        # Usage days and budget months are stored cut in the zone: cut them again in the new one.
        recut = zone_change.recut_for_zone(db, zone=cfg.organisation_zone, actor=actor.username,
                                           old_zone=stored.config.organisation_zone)
        note = recut.note
    return SaveResult(version, changes, note)


def save_job_config(
    db: Database, actor: User, job_id: str, data: BaseModel | dict[str, Any], *,
    base_version: int | None = None, restored_from: int | None = None,
) -> SaveResult:
    """Validate and save a job's overrides (admins, recruiters): new version + audit entry."""
    require(actor, Action.EDIT_JOB_SETTINGS)
    job_id = str(job_id)
    if people_jobs.get_job(db, job_id) is None:
        raise ConfigValidationError(["That job does not exist (it may have been deleted)."])
    stored, old, new = _checked_job(db, job_id, data)
    changes = field_diff(old, new)
    if not changes and restored_from is None:
        return SaveResult(None, {})
    scope = job_scope(job_id)
    current = settings_store.latest_version(db, scope)
    if base_version is not None and base_version != current:
        raise ConfigConflict("Someone else saved this job's settings after you opened them. "
                             "Reload the page to see their change, then make yours again.")
    version = current + 1
    _write_version(db, scope, version, new, actor, changes, restored_from)
    settings_store.replace_job(db, job_id, new, version, actor.username)
    audit.record(db, actor=actor.username,
                 action="job_config.restore" if restored_from else "job_config.update",
                 entity="job_voice_config", entity_id=job_id, changes=changes,
                 detail=f"version {version}" + (f" (restored from {restored_from})" if restored_from else ""))
    return SaveResult(version, changes)


def reset_job_field(db: Database, actor: User, job_id: str, name: str) -> SaveResult:
    """Remove one override of a job, so that field inherits the global value again."""
    require(actor, Action.EDIT_JOB_SETTINGS)
    stored = load_job(db, job_id)
    return save_job_config(db, actor, job_id, reset_field(stored.overrides, name),
                           base_version=stored.version)


def list_history(db: Database, scope: str, limit: int = 50) -> list[ConfigVersion]:
    """Saved versions of a scope ("global" or "job:<id>"), newest first (bounded)."""
    return settings_store.list_versions(db, scope, min(limit, _HISTORY_CAP))


def restore_version(db: Database, actor: User, scope: str, version: int) -> SaveResult:
    """Make an earlier version current again (saved as a new version; history is kept)."""
    require(actor, Action.EDIT_GLOBAL_SETTINGS if scope == GLOBAL_SCOPE else Action.EDIT_JOB_SETTINGS)
    saved = settings_store.get_version(db, scope, int(version))
    if saved is None:
        raise ConfigValidationError([f"Version {version} does not exist."])
    if scope == GLOBAL_SCOPE:
        return save_global_config(db, actor, saved.config, restored_from=int(version))
    job_id = scope.removeprefix("job:")
    return save_job_config(db, actor, job_id, saved.config, restored_from=int(version))


def snapshot_for_call(
    db: Database, job_id: str, candidate_name: str, job_title: str, company_name: str | None,
    candidate_zone: str | None = None, recording_off: bool = False,
) -> dict[str, Any]:
    """The exact effective config and rendered texts for one call, to store on the call
    (`recording_off`: this call is not recorded whatever the settings say, for lack of consent)."""
    stored_global, stored_job = load_global(db), load_job(db, job_id)
    cfg = effective_config(stored_global.config, stored_job.overrides)
    if recording_off:
        cfg = cfg.model_copy(update={"recording_enabled": False})
    taken_at = utcnow()
    prompt = render_prompt(cfg, candidate_name=candidate_name, job_title=job_title,
                           company_name=company_name, candidate_zone=candidate_zone, now=taken_at)
    spoken = render_spoken(cfg, candidate_name=candidate_name, job_title=job_title,
                           company_name=company_name)
    return {
        "taken_at": taken_at,
        "job_id": str(job_id),
        "global_version": stored_global.version,
        "job_version": stored_job.version,
        "overridden_fields": overridden_fields(stored_job.overrides),
        "config": as_plain(cfg),
        "rendered_prompt": prompt,
        "spoken": spoken,
        "ultravox": call_request_fields(cfg, prompt, spoken),
    }


# ---------------------------------------------------------------------------------------
# Helpers for the settings pages (validate + diff before the confirmation step)
# ---------------------------------------------------------------------------------------


def preview_global_save(db: Database, data: GlobalVoiceConfig | dict[str, Any]) -> dict[str, Any]:
    """The field changes a global save would make; raises ConfigValidationError if invalid."""
    cfg, stored = _checked_global(db, data)
    return field_diff(as_plain(stored.config), as_plain(cfg))


def preview_job_save(db: Database, job_id: str, data: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """The override changes a job save would make; raises ConfigValidationError if invalid."""
    _stored, old, new = _checked_job(db, job_id, data)
    return field_diff(old, new)


def use_voice_globally(db: Database, actor: User, voice: str) -> SaveResult:
    """Make `voice` the global voice (admins only)."""
    stored = load_global(db)
    return save_global_config(db, actor, {**as_plain(stored.config), "voice": voice},
                              base_version=stored.version)


def use_voice_for_job(db: Database, actor: User, job_id: str, voice: str) -> SaveResult:
    """Override a job's voice with `voice` (admins, recruiters)."""
    stored = load_job(db, job_id)
    return save_job_config(db, actor, job_id, {**overrides_of(stored.overrides), "voice": voice},
                           base_version=stored.version)
