"""Demo data for the sandbox: a job with one candidate per scripted sandbox outcome.

Admins only, and only in sandbox mode: the numbers are fictional +1 212 555-01XX ones whose last
two digits pick the simulated outcome; in live mode they would be real dial attempts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.auth import Action, User, require
from core.config import get_settings
from core.db import Database, DatabaseError
from core.documents.candidate import Candidate
from core.errors import UserError
from core.people import candidates, jobs

log = logging.getLogger(__name__)

DEMO_JOB_ID = "demo-sandbox-outcomes"
# Sandbox outcome by the last two digits of +1 212 555-01XX (the sandbox's scripted numbers).
DEMO_OUTCOMES: list[tuple[str, str, str]] = [
    ("00", "answered", "Avery Answered"),
    ("50", "no_answer", "Nolan Noanswer"),
    ("51", "busy", "Bea Busy"),
    ("52", "voicemail", "Vera Voicemail"),
    ("53", "rejected", "Rex Rejected"),
    ("54", "dropped", "Drew Dropped"),
    ("55", "opt_out", "Olive Optout"),
    ("56", "corrects_answer", "Cora Corrects"),
    ("57", "asks_for_human", "Hugh Human"),
    ("58", "asks_for_callback", "Cal Callback"),
]


class DemoRefused(UserError):
    """Demo data was asked for where it must not exist (live mode)."""


@dataclass(frozen=True)
class DemoSeed:
    """The demo job and each demo candidate with the sandbox outcome their number picks."""

    job_id: str
    candidates: list[tuple[Candidate, str]]


def seed_demo(db: Database, actor: User | None) -> DemoSeed:
    """Create the demo job and candidates (running it again adds nothing); admins, sandbox only."""
    actor = require(actor, Action.LOAD_DEMO_DATA)
    if not get_settings().is_sandbox:
        raise DemoRefused("Demo data exists only in sandbox mode: its numbers would be dialled for real.")
    if jobs.get_job(db, DEMO_JOB_ID) is None:
        try:
            jobs.create_job(db, actor, title="Demo: warehouse team lead", company="Acme Logistics (demo)",
                            job_id=DEMO_JOB_ID,
                            description="Sandbox demo job: each candidate's number picks an outcome.")
        except DatabaseError:  # a concurrent seed created it first (duplicate id): carry on
            if jobs.get_job(db, DEMO_JOB_ID) is None:
                raise
    seeded = []
    for xx, outcome, name in DEMO_OUTCOMES:
        phone = f"+1212555 01{xx}"
        if candidates.number_listed(db, candidates.normalize_phone(phone)):
            # An erased demo candidate who asked not to be called stays out: the rest still seed.
            log.warning("demo candidate for the %s outcome left out: its number is on the do-not-call "
                        "list of erased candidates", outcome)
            continue
        seeded.append((candidates.upsert_demo_candidate(db, name=name, phone=phone, job_id=DEMO_JOB_ID,
                                                        timezone="America/New_York"), outcome))
    return DemoSeed(job_id=DEMO_JOB_ID, candidates=seeded)
