"""An attacker against the running sidecar's recording route: without a valid, unexpired link
of a user who may open calls, for that call, no audio comes back."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from core import auth
from core.db import utcnow
from core.review import recording_links, recording_store, recordings
from sidecar.app import create_app
from tests.support.review_seed import add_call, add_candidate, add_job


@pytest.fixture
def sidecar(db):
    server = make_server("127.0.0.1", 0, create_app(db, followup_in_background=False), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_recordings_need_a_valid_link_of_an_allowed_user(db, sidecar) -> None:
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann Archer", "+12015550101", [job])
    mine, other = add_call(db, cand, job), add_call(db, cand, job)
    now = utcnow()
    for call_id in (mine, other):
        recording_store.cache_recording(db, call_id, now, content=b"RIFF" + b"\x01" * 2000,
                                        content_type="audio/wav", expires_at=now + recordings.RECORDING_TTL)
    viewer = auth.create_user(db, "vera", "a-long-password-1", "viewer", actor=auth.OPERATOR)
    admin = auth.create_user(db, "boss", "a-long-password-1", "admin", actor=auth.OPERATOR)

    def get(call_id: str, token: str | None) -> requests.Response:
        params = {} if token is None else {"token": token}
        return requests.get(f"{sidecar}/recordings/{call_id}", params=params, timeout=10)

    attempts = {
        "no token": (mine, None),
        "forged": (mine, "v1.Ym9zcw." + str(int(time.time()) + 60) + "." + "a" * 64),
        "expired": (mine, recording_links.make_token(admin, mine, now=time.time() - 700)),
        "another call's": (other, recording_links.make_token(viewer, mine)),
        "path trick": ("..%2F..%2Fetc%2Fpasswd", recording_links.make_token(admin, mine)),
    }
    for why, (call_id, token) in attempts.items():
        response = get(call_id, token)
        assert response.status_code in (403, 404), why
        assert not response.content.startswith(b"RIFF"), why
    good = recording_links.make_token(viewer, mine)
    assert get(mine, good).status_code == 200
    auth.set_disabled(db, admin, "vera", True)
    assert get(mine, good).status_code == 403  # revoked with the account, within the link's life
