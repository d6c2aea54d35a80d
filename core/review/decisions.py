"""The reviewer's decision, ratings and notes."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from core import audit
from core.auth import Action, User, require
from core.db import CALLS, utcnow
from core.review.answer_matching import _questions
from core.review.filters import _OPEN, DECISIONS, MAX_NOTES, ReviewError, valid_call_id
from core.usage import rollups

RATING_MIN, RATING_MAX = 1, 5


# -- the review -----------------------------------------------------------------------------


def _rating(value: Any, what: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ReviewError(f"The {what} rating must be a whole number from 1 to 5.") from None
    if number != value and str(number) != str(value).strip():
        raise ReviewError(f"The {what} rating must be a whole number from 1 to 5.")
    if not RATING_MIN <= number <= RATING_MAX:
        raise ReviewError(f"The {what} rating must be from {RATING_MIN} to {RATING_MAX}.")
    return number


def _flat(review: dict[str, Any] | None) -> dict[str, Any]:
    """A review as flat fields, for the audit diff."""
    review = review or {}
    flat = {
        "decision": review.get("decision"),
        "overall": review.get("overall"),
        "notes": review.get("notes") or "",
    }
    for key, value in (review.get("ratings") or {}).items():
        flat[f"rating_q{key}"] = value
    return flat


def save_review(
    db: Database,
    user: User | None,
    call_id: str,
    decision: str,
    ratings: dict[Any, Any] | None = None,
    overall: Any = None,
    notes: str = "",
) -> dict[str, Any]:
    """Record a reviewer's decision, ratings (per question and overall, 1–5) and notes; audited."""
    actor = require(user, Action.REVIEW_CALLS)
    call_id = valid_call_id(call_id)  # type: ignore[assignment]
    if decision not in DECISIONS:
        raise ReviewError("Choose a decision: advance, hold or reject.")
    call = db[CALLS].find_one(
        {"_id": call_id}, {"status": 1, "review": 1, "config_snapshot.config.screening_questions": 1,
                           "config_snapshot.spoken.screening_questions": 1}
    )
    if call is None:
        raise ReviewError("That call does not exist.")
    if call.get("status") in _OPEN:
        raise ReviewError("The call has not ended yet; review it once it is over.")
    count = len(_questions(call))
    clean: dict[str, int] = {}
    for key, value in (ratings or {}).items():
        try:
            number = int(key)
        except (TypeError, ValueError):
            raise ReviewError(f"Unknown question {key!r}.") from None
        if not 1 <= number <= count:
            raise ReviewError(f"This call has {count} screening question(s); there is no question {number}.")
        rated = _rating(value, f"question {number}")
        if rated is not None:
            clean[str(number)] = rated  # BSON keys are strings
    overall_rating = _rating(overall, "overall")
    if overall_rating is None:
        raise ReviewError("Give an overall rating from 1 to 5.")
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise ReviewError(f"The notes are longer than {MAX_NOTES:,} characters.")
    review = {
        "decision": decision,
        "ratings": clean,
        "overall": overall_rating,
        "notes": notes,
        "by": actor.username,
        "at": utcnow(),
    }
    changes = audit.diff(_flat(call.get("review")), _flat(review))
    db[CALLS].update_one({"_id": call_id}, {"$set": {"review": review, "updated_at": review["at"]}})
    # "Cost per advanced candidate" counts decisions: keep the usage rollups in step.
    rollups.record_decision(db, call_id, (call.get("review") or {}).get("decision"), decision)
    audit.record(
        db, actor=actor.username, action="call.review", entity="call", entity_id=call_id, changes=changes
    )
    return review
