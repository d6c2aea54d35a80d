"""`GET /recordings/<call_id>?token=`: recordings only for a signed-in user's short-lived link."""

from __future__ import annotations

import time

import pytest

from core import audit, auth
from core.db import utcnow
from core.review import recording_links, recording_store, recordings
from sidecar.app import create_app
from tests.support.review_seed import add_call, add_candidate, add_job

_AUDIO = b"RIFF" + b"\x00" * 4 + b"WAVEfmt " + bytes(range(256)) * 8


@pytest.fixture
def setup(db):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann Archer", "+12015550101", [job])
    calls = [add_call(db, cand, job), add_call(db, cand, job)]
    now = utcnow()
    for call_id in calls:
        recording_store.cache_recording(db, call_id, now, content=_AUDIO, content_type="audio/wav",
                                        expires_at=now + recordings.RECORDING_TTL)
    client = create_app(db, followup_in_background=False).test_client()
    admin = auth.create_user(db, "boss", "a-long-password-1", "admin", actor=auth.OPERATOR)
    viewer = auth.create_user(db, "vera", "a-long-password-1", "viewer", actor=auth.OPERATOR)
    return client, calls, admin, viewer


def _get(client, call_id: str, token: str | None, **headers):
    query = {} if token is None else {"token": token}
    return client.get(f"/recordings/{call_id}", query_string=query, headers=headers)


def test_a_valid_link_plays_and_is_audited_once_per_playback(db, setup) -> None:
    client, (call_id, _), admin, _viewer = setup
    link = recording_links.link_for(admin, call_id)
    assert link.url.startswith("http://127.0.0.1:") and f"/recordings/{call_id}?token=v1." in link.url
    assert link.expires_at - time.time() <= recording_links.MAX_TTL_SECONDS
    token = recording_links.make_token(admin, call_id)
    first = _get(client, call_id, token)
    assert first.status_code == 200 and first.data == _AUDIO and first.mimetype == "audio/wav"
    assert "no-store" in first.headers["Cache-Control"]
    seek = _get(client, call_id, token, Range="bytes=100-199")
    assert seek.status_code == 206 and seek.data == _AUDIO[100:200]
    plays = [e for e in audit.recent(db, entity="call", entity_id=call_id) if e.action == "recording.play"]
    assert [(e.actor, e.entity_id) for e in plays] == [("boss", call_id)]


def test_no_bad_expired_or_foreign_token_gets_anything(db, setup) -> None:
    client, (call_id, other_call), admin, _viewer = setup
    good = recording_links.make_token(admin, call_id)
    version, user, expires, signature = good.split(".")
    forged_user = recording_links._b64("vera")
    refused = {
        "no token": None,
        "empty": "",
        "garbage": "not-a-token",
        "bad signature": f"{version}.{user}.{expires}.{'0' * 64}",
        "expired": recording_links.make_token(admin, call_id, now=time.time() - 601),
        "another call's token": recording_links.make_token(admin, other_call),
        "longer expiry": f"{version}.{user}.{int(expires) + 3600}.{signature}",
        "another user": f"{version}.{forged_user}.{expires}.{signature}",
    }
    for why, token in refused.items():
        response = _get(client, call_id, token)
        assert response.status_code == 403, why
        assert response.data[:4] != b"RIFF", why
    assert _get(client, "../../etc/passwd", good).status_code in (403, 404)
    assert not [e for e in audit.recent(db, entity="call", entity_id=call_id) if e.action == "recording.play"]


def test_a_viewers_link_works_only_while_a_viewer_may_open_calls(db, setup) -> None:
    client, (call_id, other_call), admin, viewer = setup
    token = recording_links.make_token(viewer, call_id)
    assert _get(client, call_id, token).status_code == 200
    assert _get(client, other_call, token).status_code == 403  # bound to the call
    auth.set_disabled(db, admin, "vera", True)
    assert _get(client, call_id, token).status_code == 403  # checked on every request
    gone = auth.User(username="ghost", name="Ghost", role=auth.Role.ADMIN)
    assert _get(client, call_id, recording_links.make_token(gone, call_id)).status_code == 403
