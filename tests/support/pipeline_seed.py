"""A job whose candidates stand at several pipeline stages, for the pipeline's integration, page
and browser tests: typed questions with knockout rules, answers the agent recorded, reviews."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.db import CALLS
from core.db import utcnow as now
from tests import factories
from tests.support.review_seed import T0, add_call, add_job

TYPED_QUESTIONS = [
    {"id": "years", "text": "How many years have you driven a forklift?", "type": "number",
     "unit": "years", "knockout": {"at_least": 2}},
    {"id": "nights", "text": "Can you work night shifts?", "type": "yes_no",
     "knockout": {"must_be": True}},
    {"id": "start", "text": "When could you start?"},
]
SNAPSHOT = {"config": {"screening_questions": TYPED_QUESTIONS}}


def _answers(years: float, nights: bool) -> dict[str, Any]:
    return {"years": {"number": 1, "answer": f"{years:g} years on the docks", "value": years, "seq": 1},
            "nights": {"number": 2, "answer": "yes" if nights else "no", "value": nights, "seq": 1}}


def _review(decision: str, years: int, nights: int) -> dict[str, Any]:
    return {"decision": decision, "ratings": {"years": years, "nights": nights}, "overall": 4,
            "notes": "seeded note", "by": "rita", "at": T0}


def seed_pipeline(db, title: str = "Forklift driver", area: str = "201") -> dict[str, Any]:
    """The job and, by name, the candidate ids and their deciding call ids. The phone numbers are
    +1 `area` 555-01XX: two seeds in one database (the shared browser stack) need two areas."""
    job = add_job(db, title)
    ids: dict[str, str] = {}
    calls: dict[str, str] = {}

    # Calls from yesterday: older ones would be emptied by a running worker's retention purge
    # (RETENTION_DAYS, 180 by default) while a browser test reads them.
    recent = now() - timedelta(days=1)
    typed = {"config_snapshot": SNAPSHOT, "created_at": recent}

    def person(name: str, phone: str, **fields: Any) -> str:
        phone = f"+1{area}{phone.removeprefix('+1201')}"
        ids[name] = factories.insert_candidate(db, name=name, phone=phone, job_ids=[job],
                                               timezone="America/Chicago", **fields).id
        return ids[name]

    calls["Ann Archer"] = add_call(db, person("Ann Archer", "+12015550101"), job, **typed,
                                   agent_answers=_answers(5, True), review=_review("advance", 5, 4),
                                   summary="Five years, nights fine.", short_summary="Strong fit.")
    calls["Bob Stone"] = add_call(db, person("Bob Stone", "+12015550102"), job, **typed,
                                  agent_answers=_answers(1, True), review=_review("reject", 2, 3),
                                  short_summary="Only one year.")
    calls["Cara Diaz"] = add_call(db, person("Cara Diaz", "+12015550103"), job, **typed,
                                  agent_answers=_answers(3, False), short_summary="No nights.")
    calls["Hank Hold"] = add_call(db, person("Hank Hold", "+12015550104"), job, **typed,
                                  agent_answers=_answers(4, True), review=_review("hold", 3, 3),
                                  short_summary="Maybe later.")
    person("Dan Evans", "+12015550105")  # never called
    person("Eve Fox", "+12015550106", do_not_call=True)
    person("Hana Human", "+12015550109",
           human_requested={job: {"reason": "prefers to talk to a person", "call_id": None, "at": T0}})
    gus = person("Gus Hale", "+12015550107")
    first = add_call(db, gus, job, status="no_answer", duration=None, batch_id="b1", created_at=recent)
    due = now() + timedelta(hours=3)
    retry = factories.call(id=f"{first}-2", candidate_id=gus, job_id=job, status="queued", attempt=2,
                           retry_of=first, batch_id="b1", next_attempt_at=due,
                           open_key=f"{gus}:{job}")
    db[CALLS].insert_one(factories.call_doc(retry))
    calls["Gus Hale"] = retry.id
    calls["Ivy Unknown"] = add_call(db, person("Ivy Unknown", "+12015550108"), job, status="unknown",
                                    duration=None, created_at=recent)
    return {"job": job, "ids": ids, "calls": calls, "retry_due": due}
