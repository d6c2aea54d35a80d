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
