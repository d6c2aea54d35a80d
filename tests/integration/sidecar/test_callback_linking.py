"""Twilio's status callbacks name our call in their (signed) URL, so a lost CallSid loses nothing."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from core.config import get_settings
from core.db import CALLS, new_id, utcnow
from core.documents.call import Call
from sidecar.app import create_app
from tests.factories import call_doc

PATH = "/webhooks/twilio/status"
SID = "CA" + "7" * 32


@pytest.fixture
def client(db):
    return create_app(db, followup_in_background=False).test_client()


def _dialing_call_without_sid(db) -> Call:
    candidate_id = new_id()
    call = Call.model_validate({"_id": new_id(), "candidate_id": candidate_id, "job_id": "job1",
                                "status": "dialing", "open_key": f"{candidate_id}:job1",
                                "created_at": utcnow(),
                                "ultravox_call_id": f"uv-{new_id()}", "twilio_call_sid": None,
                                "twilio_sent_at": utcnow(), "twilio_unconfirmed": "answer lost"})
    db[CALLS].insert_one(call_doc(call))
    return call


def _post(client, query: str, form: dict[str, str], *, signed_query: str | None = None):
    signed_url = get_settings().webhook_base_url + PATH + (signed_query if signed_query is not None
                                                           else query)
    signature = RequestValidator(get_settings().twilio_token).compute_signature(signed_url, form)
    return client.post(PATH + query, data=form, headers={"X-Twilio-Signature": signature})


def _form(status: str, seq: str) -> dict[str, str]:
    return {"CallSid": SID, "CallStatus": status, "SequenceNumber": seq, "AccountSid": "AC" + "0" * 32}


def test_a_callback_links_a_call_whose_callsid_was_never_stored(client, db) -> None:
    call = _dialing_call_without_sid(db)
    assert _post(client, f"?call={call.id}", _form("ringing", "1")).status_code == 200
    linked = Call.model_validate(db[CALLS].find_one({"_id": call.id}))
    assert linked.twilio_call_sid == SID and linked.status.value == "ringing"
    assert linked.twilio_unconfirmed is None
    assert _post(client, f"?call={call.id}", _form("completed", "3")).status_code == 200
    assert db[CALLS].find_one({"_id": call.id})["status"] == "completed"


def test_the_call_parameter_is_covered_by_the_signature(client, db) -> None:
    call = _dialing_call_without_sid(db)
    other = _dialing_call_without_sid(db)
    # Signed for one call, sent for another: refused, nothing written.
    response = _post(client, f"?call={other.id}", _form("ringing", "1"), signed_query=f"?call={call.id}")
    assert response.status_code == 403
    assert db["call_events"].count_documents({}) == 0
    assert db[CALLS].find_one({"_id": other.id}).get("twilio_call_sid") is None


def test_a_malformed_call_parameter_is_a_bad_request(client, db) -> None:
    response = _post(client, "?call=%24where", _form("ringing", "1"))
    assert response.status_code == 400
    assert db["call_events"].count_documents({}) == 0


def test_a_callsid_already_linked_to_another_call_is_never_moved(client, db) -> None:
    owner = _dialing_call_without_sid(db)
    db[CALLS].update_one({"_id": owner.id}, {"$set": {"twilio_call_sid": SID}})
    other = _dialing_call_without_sid(db)
    db[CALLS].update_one({"_id": other.id}, {"$set": {"twilio_call_sid": "CA" + "8" * 32}})
    assert _post(client, f"?call={other.id}", _form("ringing", "1")).status_code == 200
    # The hint names a call that has another CallSid: the event goes to the CallSid's owner.
    assert db[CALLS].find_one({"_id": owner.id})["status"] == "ringing"
    assert db[CALLS].find_one({"_id": other.id})["status"] == "dialing"
