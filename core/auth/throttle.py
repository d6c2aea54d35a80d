"""Log-in throttling rules (pure): what locks, for how long, and which address is the client's.

Two counters, both over the last 15 minutes: failures of one username from one client address
(5 lock that pair), and failures of one username from every address (50 lock the username for
everyone). The pair lock stops a guesser without touching the real user at another address;
the username ceiling stops a guesser spread over many addresses. One client alone cannot trip
the ceiling: once its pair is locked its further tries are refused before they count.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
PAIR_LIMIT = 5  # failures of one (username, address) pair within WINDOW before it locks
USERNAME_LIMIT = 50  # failures of one username from all addresses within WINDOW
MAX_USERNAME_LENGTH = 64  # longer input cannot be a username; it is cut before it is stored

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_LOOPBACK = "127.0.0.1"


def normalise_username(typed: str | None) -> str:
    """The username as stored: trimmed, lower-case, bounded in length."""
    return (typed or "").strip().lower()[:MAX_USERNAME_LENGTH]


def pair_key(username: str, address: str) -> str:
    """Throttle document id of one (username, client address) pair."""
    return f"pair:{username}|{address}"


def username_key(username: str) -> str:
    """Throttle document id of a username's failures from every address."""
    return f"user:{username}"


def recent(failures: Iterable[datetime], now: datetime) -> int:
    """How many of the failure times fall within the window ending now."""
    return sum(1 for at in failures if at > now - WINDOW)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    """True while a lock set until `locked_until` holds."""
    return locked_until is not None and locked_until > now


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    # A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; they are the IPv4 address.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address: the connection's, or X-Forwarded-For's when a trusted proxy sent it.

    `peer` is the address the connection came from (Streamlit reports loopback as None). The
    forwarded header is read right to left, skipping our own proxies; the first address that is
    not one of them is the client. Anything to its left was written by the client and is ignored.
    """
    peer = peer if isinstance(peer, str) and peer else _LOOPBACK
    forwarded_for = forwarded_for if isinstance(forwarded_for, str) else None
    peer_address = _address(peer)
    if peer_address is None:
        return peer[:64]  # not an IP address (a Unix socket, say): still a stable key
    if forwarded_for and trusted and _trusted(peer_address, trusted):
        for hop in reversed(forwarded_for.split(",")):
            address = _address(hop)
            if address is None:
                break  # garbage where our proxy writes: trust nothing further left
            if not _trusted(address, trusted):
                return str(address)
    return str(peer_address)
