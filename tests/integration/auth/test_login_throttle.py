"""Log-in throttling on the real database: locks, the username ceiling, equal work, audit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import bcrypt
import pytest

from core import auth
from core.auth import throttle
from core.db import AUDIT_LOG, LOGIN_THROTTLE

HOME = "198.51.100.7"
ELSEWHERE = "203.0.113.50"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def alice(db):
    return auth.create_user(db, "alice", "correct-horse-1", "admin", actor=auth.OPERATOR)


@pytest.fixture
def bcrypt_calls(monkeypatch):
    """Counts bcrypt password checks (the expensive step a throttle must come before)."""
    calls: list[int] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(1)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    return calls


@pytest.fixture
def fast_checks(monkeypatch):
    """A cheap stand-in for bcrypt where a test needs many failures and not their cost."""
    monkeypatch.setattr(
        "core.auth.login.check_password", lambda password, _hash: password == "correct-horse-1"
    )


def _fail(db, times: int, address: str = HOME, username: str = "alice", at: datetime = T0) -> auth.SignIn:
    result = None
    for i in range(times):
        result = auth.sign_in(db, username, f"wrong-{i}", client_address=address,
                              now=at + timedelta(seconds=i / 10))
    return result


def test_five_failures_lock_the_pair_and_the_right_password_is_refused_unchecked(db, alice, bcrypt_calls):
    fifth = _fail(db, 5)
    assert not fifth.ok and fifth.locked_until == T0 + timedelta(seconds=0.4, minutes=15)
    bcrypt_calls.clear()
    right = auth.sign_in(db, "alice", "correct-horse-1", client_address=HOME, now=T0 + timedelta(minutes=1))
    assert not right.ok and right.locked_until is not None
    assert bcrypt_calls == []  # refused before the password was looked at


def test_four_failures_do_not_lock(db, alice, fast_checks):
    assert _fail(db, 4).locked_until is None
    assert auth.sign_in(db, "alice", "correct-horse-1", client_address=HOME,
                        now=T0 + timedelta(minutes=1)).ok


def test_the_lock_holds_for_one_address_only(db, alice, fast_checks):
    _fail(db, 5)
    assert auth.sign_in(db, "alice", "correct-horse-1", client_address=ELSEWHERE,
                        now=T0 + timedelta(minutes=1)).ok


def test_the_lock_expires_after_15_minutes(db, alice, fast_checks):
    _fail(db, 5)
    until = T0 + timedelta(minutes=15, seconds=0.4)  # 15 minutes after the fifth failure
    assert not auth.sign_in(db, "alice", "correct-horse-1", client_address=HOME,
                            now=until - timedelta(seconds=1)).ok
    assert auth.sign_in(db, "alice", "correct-horse-1", client_address=HOME, now=until).ok


def test_failures_older_than_15_minutes_do_not_count(db, alice, fast_checks):
    _fail(db, 4)
    late = T0 + timedelta(minutes=16)
    assert auth.sign_in(db, "alice", "wrong", client_address=HOME, now=late).locked_until is None


def test_a_success_clears_the_pairs_failures(db, alice, fast_checks):
    _fail(db, 4)
    assert auth.sign_in(db, "alice", "correct-horse-1", client_address=HOME, now=T0 + timedelta(minutes=1)).ok
    assert _fail(db, 4, at=T0 + timedelta(minutes=2)).locked_until is None


def test_fifty_failures_from_many_addresses_lock_the_username_everywhere(db, alice, fast_checks):
    for n in range(10):  # ten addresses, five failures each
        _fail(db, 5, address=f"192.0.2.{n}", at=T0 + timedelta(seconds=10 * n))
    fresh = auth.sign_in(db, "alice", "correct-horse-1", client_address=ELSEWHERE,
                         now=T0 + timedelta(minutes=3))
    assert not fresh.ok and fresh.locked_until is not None
    locks = {"action": "login.locked", "detail": {"$regex": "every address"}}
    assert db[AUDIT_LOG].count_documents(locks) == 1


def test_one_client_alone_cannot_lock_the_user_out_everywhere(db, alice, fast_checks):
    # A hundred tries within ten seconds from one address: five are counted, the rest refused.
    _fail(db, 100)
    assert auth.sign_in(db, "alice", "correct-horse-1", client_address=ELSEWHERE,
                        now=T0 + timedelta(minutes=5)).ok
    record = db[LOGIN_THROTTLE].find_one({"_id": throttle.username_key("alice")})
    assert len(record["failures"]) == 5


def test_a_burst_of_concurrent_guesses_checks_at_most_five_passwords(db, alice, bcrypt_calls):
    barrier = threading.Barrier(12)
    results: list[auth.SignIn] = []

    def guess(i: int) -> None:
        barrier.wait()
        results.append(auth.sign_in(db, "alice", f"guess-{i}", client_address=HOME))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 12 and not any(r.ok for r in results)
    assert len(bcrypt_calls) <= throttle.PAIR_LIMIT
    assert not auth.sign_in(db, "alice", "correct-horse-1", client_address=HOME).ok


def test_unknown_user_wrong_password_and_disabled_account_each_cost_one_bcrypt_check(
    db, alice, bcrypt_calls
):
    bob = auth.create_user(db, "bob", "bobs-password-1", "viewer", actor=auth.OPERATOR)
    auth.set_disabled(db, alice, bob.username, True)
    for username, password in [("nobody", "some-password-1"), ("alice", "wrong-password-1"),
                               ("bob", "bobs-password-1"), ("alice", "correct-horse-1")]:
        bcrypt_calls.clear()
        auth.sign_in(db, username, password, client_address=ELSEWHERE)
        assert bcrypt_calls == [1], username


def test_unknown_usernames_are_throttled_like_known_ones(db, fast_checks):
    assert _fail(db, 5, username="ghost").locked_until is not None
    assert _fail(db, 1, username="ghost").locked_until is not None


def test_every_login_failure_and_lock_is_audited_without_the_typed_secret(db, alice, fast_checks):
    auth.sign_in(db, "alice", "correct-horse-1", client_address=HOME, now=T0)
    auth.sign_in(db, "my-secret-password", "x", client_address=HOME, now=T0)  # password typed as name
    _fail(db, 5, at=T0 + timedelta(minutes=1))
    entries = list(db[AUDIT_LOG].find({"action": {"$regex": "^login\\."}}))
    actions = [e["action"] for e in entries]
    assert actions.count("login.success") == 1
    assert actions.count("login.failure") == 6
    assert actions.count("login.locked") == 1
    assert all(HOME in e["detail"] for e in entries)
    assert "my-secret-password" not in str(entries)
    unknown = next(e for e in entries if "unknown username" in e["detail"])
    assert unknown["actor"] == "anonymous" and unknown["entity_id"] is None


def test_unlock_user_lifts_the_locks_and_is_audited(db, alice, fast_checks):
    _fail(db, 5)
    assert auth.unlock_user(db, "ALICE", actor=alice, now=T0 + timedelta(minutes=1)) == 1
    assert auth.sign_in(db, "alice", "correct-horse-1", client_address=HOME, now=T0 + timedelta(minutes=1)).ok
    entry = db[AUDIT_LOG].find_one({"action": "user.unlock"})
    assert entry["actor"] == "alice" and entry["entity_id"] == "alice"


def test_only_admins_and_the_operator_unlock(db, alice, fast_checks):
    viewer = auth.create_user(db, "vic", "vics-password-1", "viewer", actor=auth.OPERATOR)
    with pytest.raises(auth.PermissionDenied):
        auth.unlock_user(db, "alice", actor=viewer)
    assert auth.unlock_user(db, "alice", actor=auth.OPERATOR) == 0


def test_old_throttle_records_are_purged(db, alice, fast_checks):
    _fail(db, 2, address="192.0.2.1")
    _fail(db, 1, address="192.0.2.2", at=T0 + timedelta(hours=1))  # a failure an hour later purges
    keys = {d["_id"] for d in db[LOGIN_THROTTLE].find()}
    assert throttle.pair_key("alice", "192.0.2.1") not in keys
    assert throttle.pair_key("alice", "192.0.2.2") in keys
