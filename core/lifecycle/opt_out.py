"""A candidate's spoken "don't call me again": detected in the transcript, then honoured."""

from __future__ import annotations

import logging
import re
from typing import Any

from core import audit
from core.calling import store as call_store
from core.calling.transitions import advance_status
from core.db import Database
from core.documents.call import Call
from core.documents.status import CallStatus
from core.people import store as people_store

log = logging.getLogger(__name__)

# -- spoken opt-out -----------------------------------------------------------------------

# Phrases a candidate uses to refuse further calls. Text is normalised first (lower case,
# straight apostrophes, "do not"/"don't"/"dont" → "dont"), so each pattern covers its variants.
_OPT_OUT_PATTERNS = [
    re.compile(r"\bstop (calling|contacting|phoning|ringing|bothering) (me|us|this number)\b"),
    re.compile(r"\b(dont|never) (ever )?(call|contact|phone|ring) (me|us|this number)"
               r"( ever)? (again|anymore|any more|in the future)\b"),
    re.compile(r"\b(remove|take) (me|us|my (phone )?number|this number) (off|from) (of )?"
               r"(your|the|this) ([a-z-]+ ){0,2}(list|database|system)\b"),
    re.compile(r"\b(put|add) (me|my (phone )?number|this number) (on|to) (your|the) "
               r"dont call list\b"),
    re.compile(r"\b(i|we) dont want (to be called|to be contacted|any more calls|anymore calls|"
               r"(you|anyone) (to )?(call|calling|contact|contacting) (me|us)( again| anymore)?)\b"),
    re.compile(r"\b(lose|delete) my (phone )?number\b"),
]
# Context that flips the meaning: "don't stop calling me", "I didn't say stop calling me".
_NEGATED_PREFIX = re.compile(
    r"(\bdont|\bnever|\bnot|\bdidnt say|\bno need to|\bwhy would i ask you to)\s*(\w+\s+){0,2}$"
)


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\bdo not\b|\bdon't\b|\bdon t\b", "dont", text)
    text = re.sub(r"\bdid not\b|\bdidn't\b", "didnt", text)
    text = text.replace("do-not-call", "dont call")
    text = re.sub(r"[^a-z' -]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def detect_opt_out(messages: list[dict[str, Any]]) -> str | None:
    """The candidate's words asking not to be called again, if any (only their own lines count)."""
    for message in messages:
        if message.get("role") != "user" or not message.get("text"):
            continue
        # Sentences are checked one by one so a negation in one cannot cancel another.
        for sentence in re.split(r"[.!?;]+", message["text"]):
            norm = _normalise(sentence)
            for pattern in _OPT_OUT_PATTERNS:
                match = pattern.search(norm)
                if match and not _NEGATED_PREFIX.search(norm[: match.start()]):
                    return match.group(0)
    return None


def mark_do_not_call(db: Database, call: Call, phrase: str) -> bool:
    """Record a spoken opt-out: candidate do-not-call (all jobs), call flagged, audit entry."""
    call_store.mark_opt_out(db, call.id)
    candidate_id = call.candidate_id
    if not candidate_id:
        return False
    newly = people_store.mark_do_not_call(db, candidate_id, call_id=call.id,
                                          reason="asked during the screening call")
    # Calls still waiting in the queue for this candidate (any job) must never be dialled.
    for queued_id in call_store.queued_of_candidate(db, candidate_id):
        advance_status(db, queued_id, CallStatus.CANCELED,
                       fields={"failure_reason": "candidate asked not to be called"})
    if newly:
        audit.record(
            db, actor="system", action="candidate.do_not_call", entity="candidate",
            entity_id=candidate_id,
            changes={"do_not_call": {"old": False, "new": True}},
            detail=f"spoken opt-out on call {call.id}: \"{phrase}\"",
        )
        log.info("candidate %s opted out on call %s", candidate_id, call.id)
    return newly
