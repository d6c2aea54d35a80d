"""After an erasure nothing of the candidate comes back: not with a webhook that arrives late (the
agent's summary follows the end of the line by seconds, its billing by minutes), nor with a
follow-up that was reading the transcript while the erasure ran. The money still settles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.db import CALL_EVENTS, CALLS, TRANSCRIPTS, utcnow
from core.lifecycle import followup
from core.people import candidates
from core.privacy import erasure
from core.providers.ultravox import Message
from sidecar.app import create_app
from tests.factories import insert_launched_call
from tests.support.sandbox_stack import make_job, stack  # noqa: F401 - fixture
from tests.support.webhooks import deliver, full_sequence

NEEDLE = "Zebulon mentioned his forklift licence"


def _dump(db) -> str:
    return " ".join(str(d) for name in db.list_collection_names() for d in db[name].find())


def _ended_call(stack, **fields):  # noqa: F811
    job = make_job(stack)
    cand = candidates.add_candidate(stack.db, stack.admin, name="Zebulon Late", phone="+14155550106",
                                    consent=True, job_ids=[job.id])
    ended = utcnow() - timedelta(seconds=5)
    call = insert_launched_call(stack.db, candidate_id=cand.id, job_id=job.id, status="completed",
                                open_key=None, ended_at=ended, **fields)
    return cand, call


@pytest.mark.parametrize("apply_after_ack", [True, False], ids=["applier", "inline"])
def test_a_webhook_arriving_after_the_erasure_brings_nothing_back(stack, apply_after_ack) -> None:  # noqa: F811
    db = stack.db
    cand, call = _ended_call(stack)
    done = erasure.erase_candidate(db, stack.admin, cand.id, reason="Data subject request 90",
                                   confirmed=True)
    erased_at = db[CALLS].find_one({"_id": call.id})["erased_at"]
    assert done.tombstone["state"] == "done"

    # The agent's end and billing arrive now, naming the call by its metadata.
    app = create_app(db, followup_in_background=False, apply_after_ack=apply_after_ack)
    client = app.test_client()
    sequence = full_sequence(call)
    ended, billed = sequence[6], sequence[7]
    for kind, (name, data) in (ended, billed):
        late = (kind, (name, {**data, "summary": NEEDLE, "shortSummary": NEEDLE}))
        assert deliver(client, late).status_code == 200
    if apply_after_ack:
        assert app.extensions["applier"].drain(10)

    doc = db[CALLS].find_one({"_id": call.id})
    # What the candidate said, and the provider id that would fetch the transcript, stay gone.
    for field in ("summary", "short_summary", "ultravox_call_id", "needs_followup", "followup_next_at"):
        assert field not in doc, field
    assert doc["erased_at"] == erased_at
    # The money is kept: the agent's billing still lands on the call.
    assert doc["billing_status"] == "BILLING_STATUS_BILLED" and doc["billed_duration_seconds"] == 48.5
    late_events = list(db[CALL_EVENTS].find({"call_id": call.id}))
    assert len(late_events) == 2 and all("payload" not in e and e["applied"] for e in late_events)
    assert NEEDLE not in _dump(db)
    # Nothing is left for a follow-up to fetch.
    assert followup.run_due(db, now=utcnow() + timedelta(minutes=1)) == (0, 0)


class _ErasedWhileReading:
    """An Ultravox client whose transcript read takes long enough for an admin to erase the
    candidate meanwhile (the erasure runs inside the read)."""

    def __init__(self, erase) -> None:
        self.erase = erase

    def list_messages(self, call_id: str) -> list[Message]:
        self.erase()
        return [Message.model_validate({"role": "MESSAGE_ROLE_USER", "text": NEEDLE,
                                        "timespan": {"start": "1s", "end": "3s"}})]


def test_a_follow_up_reading_the_transcript_during_the_erasure_keeps_nothing(stack) -> None:  # noqa: F811
    db = stack.db
    cand, call = _ended_call(stack, ultravox_ended=True, needs_followup=True,
                             followup_next_at=utcnow() - timedelta(seconds=1), summary="Fine.",
                             billing_status="BILLING_STATUS_BILLED", telephony_price="0.02",
                             transcript_status="pending")

    def erase() -> None:
        erasure.erase_candidate(db, stack.admin, cand.id, reason="Data subject request 91", confirmed=True)

    providers = followup.Providers(_ErasedWhileReading(erase), None)
    assert followup.follow_up(db, call.id, providers=providers) == "erased"
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["erased_at"] and doc["transcript_status"] == "erased"
    assert "message_count" not in doc and "needs_followup" not in doc
    assert db[TRANSCRIPTS].find_one({"_id": call.id}) is None
    assert NEEDLE not in _dump(db)
    # And it is not picked up again.
    assert followup.follow_up(db, call.id, providers=providers, now=utcnow() + timedelta(hours=1)) is None
