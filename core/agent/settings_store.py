"""Every query on the voice settings: `global_voice_config`, `job_voice_configs`, `config_versions`."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from core.agent.records import ConfigVersion, GlobalConfigRecord, JobConfigRecord
from core.db import CONFIG_VERSIONS, GLOBAL_VOICE_CONFIG, JOB_VOICE_CONFIGS, insert_new, new_id, utcnow

_GLOBAL_DOC_ID = "global"


def get_global(db: Database) -> GlobalConfigRecord | None:
    """The stored global settings document, or None when none was ever saved."""
    return GlobalConfigRecord.from_doc(db[GLOBAL_VOICE_CONFIG].find_one({"_id": _GLOBAL_DOC_ID}))


def replace_global(db: Database, config: dict[str, Any], version: int, actor: str) -> None:
    """Make `config` (plain values) the global settings, as `version`, saved by `actor`."""
    db[GLOBAL_VOICE_CONFIG].replace_one(
        {"_id": _GLOBAL_DOC_ID},
        {"_id": _GLOBAL_DOC_ID, "config": config, "version": version, "updated_by": actor,
         "updated_at": utcnow()},
        upsert=True,
    )


def get_job(db: Database, job_id: str) -> JobConfigRecord | None:
    """A job's stored overrides document, or None when the job inherits everything."""
    return JobConfigRecord.from_doc(db[JOB_VOICE_CONFIGS].find_one({"job_id": str(job_id)}))


def replace_job(db: Database, job_id: str, overrides: dict[str, Any], version: int, actor: str) -> None:
    """Make `overrides` (plain values) a job's overrides, as `version`, saved by `actor`."""
    db[JOB_VOICE_CONFIGS].replace_one(
        {"job_id": job_id},
        {"_id": job_id, "job_id": job_id, "overrides": overrides, "version": version,
         "updated_by": actor, "updated_at": utcnow()},
        upsert=True,
    )


def insert_version(db: Database, scope: str, version: int, config: dict[str, Any], actor: str,
                   changes: dict[str, Any], restored_from: int | None) -> bool:
    """Record a saved version; False when that (scope, version) exists already.

    The unique (scope, version) index makes this the atomic "nobody saved in between" check.
    """
    return insert_new(db[CONFIG_VERSIONS], {
        "_id": new_id(), "scope": scope, "version": version, "config": config,
        "actor": actor, "at": utcnow(), "changes": changes, "restored_from": restored_from,
    })


def latest_version(db: Database, scope: str) -> int:
    """The number of the last saved version of a scope (0 when none)."""
    last = db[CONFIG_VERSIONS].find_one({"scope": scope}, sort=[("version", -1)])
    return int(last["version"]) if last else 0


def list_versions(db: Database, scope: str, limit: int) -> list[ConfigVersion]:
    """Saved versions of a scope, newest first (at most `limit`)."""
    cursor = db[CONFIG_VERSIONS].find({"scope": scope}).sort("version", -1).limit(limit)
    return [ConfigVersion.model_validate(d) for d in cursor]


def get_version(db: Database, scope: str, version: int) -> ConfigVersion | None:
    """One saved version of a scope, or None."""
    return ConfigVersion.from_doc(db[CONFIG_VERSIONS].find_one({"scope": scope, "version": int(version)}))
