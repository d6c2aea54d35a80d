"""The worker's heartbeat on the real database, and what the sidebar says about it."""

from datetime import timedelta

from core import health


def test_sidebar_summary_says_when_the_worker_is_silent(db):
    assert "not running" in health.sidebar_summary(db)
    health.beat(db)
    assert "alive" in health.sidebar_summary(db)
    later = health.last_heartbeat(db) + timedelta(minutes=5)
    assert "silent since 5 min ago" in health.sidebar_summary(db, now=later)
