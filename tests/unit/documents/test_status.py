"""The forward-only call status order."""

from itertools import product

from core.documents.status import TERMINAL_STATUSES, CallStatus, can_advance, statuses_before

ORDER = [CallStatus.QUEUED, CallStatus.DIALING, CallStatus.RINGING, CallStatus.IN_PROGRESS]


def test_forward_moves_allowed_backward_refused():
    for i, a in enumerate(ORDER):
        for b in ORDER[i + 1 :]:
            assert can_advance(a, b)
            assert not can_advance(b, a)


def test_nothing_leaves_a_terminal_status():
    for end, other in product(TERMINAL_STATUSES, CallStatus):
        assert not can_advance(end, other)


def test_every_open_status_can_end():
    for start, end in product(ORDER, TERMINAL_STATUSES):
        assert can_advance(start, end)


def test_statuses_before_matches_can_advance():
    for new in CallStatus:
        assert set(statuses_before(new)) == {s.value for s in CallStatus if can_advance(s, new)}
