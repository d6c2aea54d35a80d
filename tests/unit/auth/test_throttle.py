"""Log-in throttle rules: the client's address, the window, the lock."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from core.auth import throttle

PROXY = (ipaddress.ip_network("10.0.0.5/32"),)
PROXIES = (ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("127.0.0.1/32"))


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored():
    assert throttle.client_address("203.0.113.9", "198.51.100.1", ()) == "203.0.113.9"


def test_a_forwarded_header_from_someone_else_than_the_proxy_is_ignored():
    # An attacker connecting directly cannot choose the address its failures count against.
    assert throttle.client_address("203.0.113.9", "198.51.100.1", PROXY) == "203.0.113.9"


def test_the_trusted_proxy_names_the_client():
    assert throttle.client_address("10.0.0.5", "198.51.100.1", PROXY) == "198.51.100.1"


def test_addresses_the_client_wrote_left_of_the_proxys_are_ignored():
    # The client sent "X-Forwarded-For: 1.2.3.4"; our proxy appended the real peer.
    header = "1.2.3.4, 198.51.100.1"
    assert throttle.client_address("10.0.0.5", header, PROXY) == "198.51.100.1"


def test_a_chain_of_our_own_proxies_is_skipped():
    header = "198.51.100.1, 10.0.0.7, 127.0.0.1"
    assert throttle.client_address("10.0.0.9", header, PROXIES) == "198.51.100.1"


def test_garbage_where_the_proxy_writes_falls_back_to_the_peer():
    assert throttle.client_address("10.0.0.5", "1.2.3.4, not-an-address", PROXY) == "10.0.0.5"


def test_loopback_is_reported_as_none_by_streamlit_and_counts_as_loopback():
    assert throttle.client_address(None, None, ()) == "127.0.0.1"
    loopback = (ipaddress.ip_network("127.0.0.1"),)
    assert throttle.client_address(None, "198.51.100.1", loopback) == "198.51.100.1"


def test_addresses_are_normalised():
    assert throttle.client_address("2001:DB8:0:0::1", None, ()) == "2001:db8::1"
    # What Streamlit reports for an IPv4 client of a dual-stack ("::") listener.
    assert throttle.client_address("::ffff:127.0.0.1", None, ()) == "127.0.0.1"
    loopback = (ipaddress.ip_network("127.0.0.1"),)
    assert throttle.client_address("::ffff:127.0.0.1", "198.51.100.1", loopback) == "198.51.100.1"


def test_non_string_peers_are_treated_as_unknown_loopback():
    # AppTest hands a mock object as the peer address.
    assert throttle.client_address(object(), object(), ()) == "127.0.0.1"  # type: ignore[arg-type]


def test_only_failures_within_the_window_count():
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    failures = [now - timedelta(minutes=16), now - timedelta(minutes=14), now]
    assert throttle.recent(failures, now) == 2


@pytest.mark.parametrize(("until", "locked"), [(None, False), (-1, False), (0, False), (1, True)])
def test_a_lock_holds_until_its_time(until, locked):
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    value = None if until is None else now + timedelta(seconds=until)
    assert throttle.is_locked(value, now) is locked


def test_usernames_are_normalised_and_bounded():
    assert throttle.normalise_username("  Alice ") == "alice"
    assert len(throttle.normalise_username("x" * 5000)) == throttle.MAX_USERNAME_LENGTH
    assert throttle.normalise_username(None) == ""
