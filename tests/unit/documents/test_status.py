"""The forward-only call status order."""

from itertools import product

from core.documents.status import TERMINAL_STATUSES, CallStatus, can_advance, statuses_before

ORDER = [CallStatus.QUEUED, CallStatus.DIALING, CallStatus.RINGING, CallStatus.IN_PROGRESS]


def test_forward_moves_allowed_backward_refused():
    for i, a in enumerate(ORDER):
        for b in ORDER[i + 1 :]:
            assert can_advance(a, b)
            assert not can_advance(b, a)


def test_nothing_leaves_a_terminal_status_but_unknown():
    for end, other in product(TERMINAL_STATUSES - {CallStatus.UNKNOWN}, CallStatus):
        assert not can_advance(end, other)


def test_unknown_may_only_become_a_providers_own_end():
    # The sweeper's "unknown" is a verdict of ignorance: a later provider result replaces it.
    for end in TERMINAL_STATUSES - {CallStatus.UNKNOWN}:
        assert can_advance(CallStatus.UNKNOWN, end)
    for other in [*ORDER, CallStatus.UNKNOWN]:
        assert not can_advance(CallStatus.UNKNOWN, other)


def test_every_open_status_can_end():
    for start, end in product(ORDER, TERMINAL_STATUSES):
        assert can_advance(start, end)


def test_statuses_before_matches_can_advance():
    for new in CallStatus:
        assert set(statuses_before(new)) == {s.value for s in CallStatus if can_advance(s, new)}
