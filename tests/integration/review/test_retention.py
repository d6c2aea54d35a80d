"""The retention purge."""

from datetime import timedelta

from core.db import CALLS, MEDIA_CACHE, TRANSCRIPTS, utcnow
from core.review import retention
from tests.factories import insert_call


def test_purges_old_conversations_and_keeps_outcome_and_recent_calls(db):
    now = utcnow()
    insert_call(db, id="old", status="completed", ended_at=now - timedelta(days=40), summary="s",
                review={"decision": "advance"})
    insert_call(db, id="new", status="completed", ended_at=now - timedelta(days=5), summary="s")
    insert_call(db, id="open", status="ringing")
    db[TRANSCRIPTS].insert_many([{"_id": "old", "messages": [1]}, {"_id": "new", "messages": [1]}])
    db[MEDIA_CACHE].insert_many(
        [
            {"_id": "rec-old", "call_id": "old", "expires_at": now + timedelta(days=1)},
            {"_id": "stale", "expires_at": now - timedelta(minutes=1)},
        ]
    )
    summary = retention.purge_expired(db, now=now, retention_days=30)
    assert "purged 1 call" in summary
    assert db[TRANSCRIPTS].find_one({"_id": "old"}) is None
    assert db[TRANSCRIPTS].find_one({"_id": "new"}) is not None
    old = db[CALLS].find_one({"_id": "old"})
    assert old["transcript_status"] == "purged" and "summary" not in old
    assert old["review"] == {"decision": "advance"} and old["status"] == "completed"
    assert db[MEDIA_CACHE].count_documents({}) == 0
    # A second run finds nothing more.
    assert retention.purge_expired(db, now=now, retention_days=30) == ""


def test_the_workers_purge_stops_after_its_time_and_the_next_tick_goes_on(db):
    now = utcnow()
    db[CALLS].insert_many([{"_id": f"c{i}", "status": "completed", "ended_at": now - timedelta(days=40),
                            "summary": "s"} for i in range(1200)])
    first = retention.purge_expired(db, now=now, retention_days=30, max_seconds=0)
    assert "purged 500 calls" in first and first.endswith("more next time")
    assert db[CALLS].count_documents({"purged_at": {"$exists": True}}) == 500
    rest = retention.purge_expired(db, now=now, retention_days=30)
    assert "purged 700 calls" in rest and "more next time" not in rest
    assert db[CALLS].count_documents({"purged_at": {"$exists": False}}) == 0


def test_every_way_a_call_ends_gives_it_an_end_time_so_it_is_purged_in_time(db):
    from core.calling.transitions import advance_status
    from core.documents.status import CallStatus

    # The follow-up fails a call that was never placed without naming an end time itself.
    insert_call(db, id="never-placed", status="dialing", summary="s")
    assert advance_status(db, "never-placed", CallStatus.FAILED,
                          fields={"failure_reason": "the phone call was never placed"})
    assert db[CALLS].find_one({"_id": "never-placed"})["ended_at"] is not None
    later = utcnow() + timedelta(days=40)
    assert "purged 1 call" in retention.purge_expired(db, now=later, retention_days=30)
    assert db[CALLS].find_one({"_id": "never-placed"})["transcript_status"] == "purged"
