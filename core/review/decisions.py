"""The reviewer's decision, ratings and notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import audit, labels
from core.auth import Action, User, require
from core.db import Database, utcnow
from core.documents.call import Review
from core.review import store
from core.review.answer_matching import screening_questions
from core.review.detail import review_version
from core.review.filters import DECISIONS, MAX_NOTES, ReviewError, valid_call_id
from core.usage import rollups

RATING_MIN, RATING_MAX = 1, 5


# -- the review input (pure) ----------------------------------------------------------------


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


def review_from_input(
    *,
    decision: Any,
    ratings: dict[Any, Any] | None,
    overall: Any,
    notes: str | None,
    question_ids: list[str],
    by: str,
    at: datetime,
) -> Review:
    """The review a reviewer's form input makes, or a ReviewError saying what is wrong with it.

    A rating is keyed by the question's id within the call's snapshot; a position (1, "2")
    is accepted too and stored under that question's id.
    """
    if decision not in DECISIONS:
        raise ReviewError("Choose a decision: advance, hold or reject.")
    clean: dict[str, int] = {}
    for key, value in (ratings or {}).items():
        if isinstance(key, str) and key in question_ids:
            qid, number = key, question_ids.index(key) + 1
        else:
            try:
                number = int(key)
            except (TypeError, ValueError):
                raise ReviewError(f"Unknown question {key!r}.") from None
            if not 1 <= number <= len(question_ids):
                raise ReviewError(
                    f"This call has {labels.counted(len(question_ids), 'screening question')}; "
                    f"there is no question {number}."
                )
            qid = question_ids[number - 1]
        rated = _rating(value, f"question {number}")
        if rated is not None:
            clean[qid] = rated
    overall_rating = _rating(overall, "overall")
    if overall_rating is None:
        raise ReviewError("Give an overall rating from 1 to 5.")
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise ReviewError(f"The notes are longer than {MAX_NOTES:,} characters.")
    return Review(decision=decision, ratings=clean, overall=overall_rating, notes=notes, by=by, at=at)


def flat_review(review: Review | None) -> dict[str, Any]:
    """A review as flat fields, for the audit diff."""
    if review is None:
        return {"decision": None, "overall": None, "notes": ""}
    flat: dict[str, Any] = {
        "decision": review.decision,
        "overall": review.overall,
        "notes": review.notes or "",
    }
    for key, value in review.ratings.items():
        flat[f"rating_{key}" if key.startswith("q") else f"rating_q{key}"] = value
    return flat


# -- the review -----------------------------------------------------------------------------


class ReviewConflict(ReviewError):
    """Another reviewer saved a review of the call after this one's form was opened."""

    def __init__(self, by: str | None, at: datetime | None) -> None:
        self.by, self.at = by, at
        when = f" at {at:%H:%M} UTC" if at else ""
        super().__init__(
            f"{by or 'Someone'} saved a review of this call{when} while you were editing; "
            "reload to see it — your input is kept below."
        )


def save_review(
    db: Database,
    user: User | None,
    call_id: str,
    decision: str,
    ratings: dict[Any, Any] | None = None,
    overall: Any = None,
    notes: str = "",
    *,
    expected_version: int | None = None,
) -> Review:
    """Record a reviewer's decision, ratings (per question and overall, 1–5) and notes; audited.

    `expected_version`: the review version the reviewer's form was opened with (0: no review
    yet); if another save came in since, nothing is written and ReviewConflict says who saved.
    None (scripts, tests): replace the review just read here, still refusing a save that lands
    between that read and this write.
    """
    actor = require(user, Action.REVIEW_CALLS)
    call_id = valid_call_id(call_id)  # type: ignore[assignment]
    if decision not in DECISIONS:
        raise ReviewError("Choose a decision: advance, hold or reject.")
    call = store.call_for_review(db, call_id)
    if call is None:
        raise ReviewError("That call does not exist.")
    if call.test_call:
        raise ReviewError("This was a test call to a team member's own number; there is nothing to review.")
    if call.is_open:
        raise ReviewError("The call has not ended yet; review it once it is over.")
    current = review_version(call.review)
    expected = current if expected_version is None else expected_version
    if expected != current:
        raise ReviewConflict(call.review.by if call.review else None, call.review.at if call.review else None)
    review = review_from_input(
        decision=decision,
        ratings=ratings,
        overall=overall,
        notes=notes,
        question_ids=[q.id for q in screening_questions(call)],
        by=actor.username,
        at=utcnow(),
    ).model_copy(update={"version": expected + 1})
    if not store.record_review(db, call_id, review, expected):
        # Another save landed between the read above and this write.
        latest = store.call_for_review(db, call_id)
        saved = latest.review if latest else None
        raise ReviewConflict(saved.by if saved else None, saved.at if saved else None)
    changes = audit.diff(flat_review(call.review), flat_review(review))
    # "Cost per advanced candidate" counts decisions: keep the usage rollups in step.
    rollups.record_decision(db, call_id, call.decision, decision)
    audit.record(
        db, actor=actor.username, action="call.review", entity="call", entity_id=call_id, changes=changes
    )
    return review


def next_awaiting_review(db: Database, user: User | None, call_id: str) -> str | None:
    """The next call awaiting review in the same job as `call_id`: ended, a screening (not a
    test call), no decision yet, not `call_id` itself; oldest first. None: there is none."""
    require(user, Action.REVIEW_CALLS)
    call_id = valid_call_id(call_id)  # type: ignore[assignment]
    call = store.call_for_review(db, call_id) if call_id else None
    if call is None or not call.job_id:
        return None
    return store.next_awaiting_review(db, call.job_id, call_id)
