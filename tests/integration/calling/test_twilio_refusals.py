"""Twilio refusing a dial: the error code is kept, the number never reaches a failure reason.

Twilio's own error texts often quote the dialled number ("Account not authorized to call
+1212…"). The sandbox answers the create with such a text (an injected Twilio error over real
HTTP, parsed by the real SDK); the stored reason, the calls page and the CLI must not show it.
"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from core import manage
from core.calling import launch
from core.calling import store as call_store
from core.calling.outcome import outcome_text
from core.review import call_list
from core.review.filters import CallFilters
from tests.factories import insert_launched_call
from tests.support import sandbox_stack
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts
from tests.support.sandbox_stack import make_job

stack = sandbox_stack.stack

NUMBER = "+12125550107"
# Every way the number's digits could show: whole, national, the subscriber part.
DIGIT_RUNS = ("12125550107", "2125550107", "5550107", "555-0107", "555 0107")


def _no_number(text: str) -> None:
    squeezed = re.sub(r"[\s().-]", "", text)
    for run in DIGIT_RUNS:
        assert run not in text, text
    assert "2125550107" not in squeezed, text


def _refuse_next_dial(stack, code: int, message: str) -> None:
    stack.sandbox.inject_fault(status=400, code=code, message=message, count=1,
                               path_prefix="/2010-04-01/", method="POST")


def _candidate(stack, job):
    from core.people import candidates

    return candidates.add_candidate(stack.db, stack.recruiter, name="Dana Reyes", consent=True,
                                    phone="+1 212 555 0107", job_ids=[job.id])


@pytest.mark.parametrize(("code", "message", "words"), [
    (21215, f"Account not authorized to call {NUMBER}. Perhaps you need to enable some "
            "international permissions: https://www.twilio.com/console/voice/calls/geo-permissions",
     "geographic permissions"),
    (21219, f"The number {NUMBER[2:]} is unverified. Trial accounts cannot call unverified "
            f"numbers; verify {NUMBER} at twilio.com/user/account/phone-numbers/verified",
     "not verified"),
    (13999, "Something about (212) 555-0107 we have never seen", "Twilio refused the call (error 13999)"),
])
def test_a_refused_dial_stores_the_code_and_a_reason_without_the_number(stack, code, message, words):
    job = make_job(stack)
    cand = _candidate(stack, job)
    _refuse_next_dial(stack, code, message)
    call = launch.launch_call(stack.db, stack.recruiter, cand.id).call
    assert call.status == "failed"
    # Twilio's create really was sent and answered with the refusal (the fault is used up).
    assert [f.count for f in stack.sandbox.state.faults] == [0] and stack.dials() == []
    stored = stack.db["calls"].find_one({"_id": call.id})
    assert stored["provider_error_code"] == code
    assert words in stored["failure_reason"] and str(code) in stored["failure_reason"]
    _no_number(stored["failure_reason"])
    _no_number(outcome_text(call_store.get_call(stack.db, call.id)))


def test_the_calls_page_and_the_cli_show_the_reason_without_the_number(stack, capsys):
    job = make_job(stack)
    cand = _candidate(stack, job)
    _refuse_next_dial(stack, 21215, f"Account not authorized to call {NUMBER}.")
    call = launch.launch_call(stack.db, stack.recruiter, cand.id).call
    stack.stop_sidecar()

    rows = call_list.list_calls(stack.db, CallFilters(), user=stack.recruiter).data
    [row] = [r for r in rows if r.id == call.id]
    assert "Twilio refused the call" in row.outcome
    _no_number(row.outcome)

    assert manage.main(["show-call", call.id]) == 0
    shown = capsys.readouterr().out
    assert "Twilio refused the call" in shown and "21215" in shown
    _no_number(shown)
    assert manage.main(["--json", "show-call", call.id]) == 0
    _no_number(capsys.readouterr().out)

    viewer = make_user(stack.db, "viewer")
    at = signed_in(AppTest.from_file(page_path("transcripts"), default_timeout=TIMEOUT), viewer).run()
    assert not at.exception
    table = next(df for df in at.dataframe if df.proto.id.endswith("transcripts.table"))
    _no_number(table.value.to_csv())
    at.query_params["call"] = call.id
    at.run()
    assert not at.exception and "Twilio refused the call" in texts(at)
    _no_number(texts(at))


def test_an_old_reason_with_a_number_is_not_shown(db, test_env, capsys):
    # Stored before reasons were cleaned: the display cleans it on the way out.
    call = insert_launched_call(db, status="failed", failure_reason=(
        f"Twilio step failed: Twilio rejected the request: Account not authorized to call "
        f"{NUMBER} (error 21215)"))
    text = outcome_text(call)
    assert "Twilio" in text and "21215" in text
    _no_number(text)
    assert manage.main(["show-call", call.id]) == 0
    _no_number(capsys.readouterr().out)
