"""Hostile candidate text (from a CSV or a form) renders as plain text on every page that shows
it, and a viewer sees a masked phone number and no email or notes (issue 13, items 7 and 8)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from core import auth
from core.db import utcnow
from core.people import candidates, csv_import, jobs
from tests.support.apptest import MARKDOWN_KINDS, TIMEOUT, make_user, page_path, signed_in, texts
from tests.support.review_seed import add_call

NAME = ("# Eve [win a prize](http://evil.com/phish) ![px](http://127.0.0.1:9/name.png) "
        "<img src=http://127.0.0.1:9/i.png> <b>bold</b> `tick` evil.com :red[x]")
NOTES = "**urgent** <img src=http://127.0.0.1:9/notes.png> see www.evil.com ## heading"
EMAIL = "eve@evil.com"
JOB = "Forklift [apply](http://evil.com) ![j](http://127.0.0.1:9/job.png) evil.com"
SAID = "My site is evil.com ![x](http://127.0.0.1:9/said.png) <script>alert(1)</script>"
_RENDER = MarkdownIt("commonmark", {"html": True}).enable("strikethrough")
# Live markup: an image, raw HTML, code, a heading, or a link that leaves the app.
_LIVE = re.compile(r'<(img|code|h[1-6]|script|b|pre)[\s>]|<a href="(?!/)')


def markdown_strings(at: AppTest) -> list[str]:
    """Every string of the run that Streamlit renders as Markdown (labels and values)."""
    found = [str(el.value) for kind in (*MARKDOWN_KINDS, "toast") for el in getattr(at, kind)]
    found += [str(e.label) for e in at.expander] + [str(t.label) for t in at.tabs]
    found += [s for m in at.metric for s in (str(m.label), str(m.value))]
    for kind in ("button", "selectbox", "text_input", "checkbox", "multiselect", "text_area"):
        found += [str(w.label) for w in getattr(at, kind)]
    return found


def assert_inert(at: AppTest) -> None:
    """No hostile fragment is live markup anywhere on the page."""
    assert not at.exception, at.exception
    strings = markdown_strings(at)
    assert strings
    for text in strings:
        html = _RENDER.render(text)
        assert not _LIVE.search(html), (text, html)
        assert "evil.com" not in text and "127.0.0.1:9" not in text, text  # bare domains escaped too


@pytest.fixture
def hostile(db):
    """A hostile job and candidate (imported from a CSV), with a call that repeats the payload."""
    admin = make_user(db, "admin", "boss")
    job = jobs.create_job(db, admin, title=JOB, company="Acme")
    csv_file = ("name,phone,email,consent,notes\n"
                f'"{NAME}",+1 212 555 0140,{EMAIL},yes,"{NOTES}"\n').encode()
    assert csv_import.commit_import(db, admin, job.id, csv_file).created == 1
    cand = candidates.list_candidates(db, admin)[0]
    assert cand.name == " ".join(NAME.split())
    msgs = [{"role": "agent", "text": f"Hello {cand.name}", "start_s": 0.0},
            {"role": "user", "text": SAID, "start_s": 2.0}]
    call_id = add_call(db, cand.id, job.id, created_at=utcnow() - timedelta(hours=1), messages=msgs,
                       summary=f"{cand.name} said: {SAID}")
    return {"admin": admin, "viewer": make_user(db, "viewer", "vera"), "job": job, "cand": cand,
            "call": call_id}


def _page(stem: str, user, **query) -> AppTest:
    at = signed_in(AppTest.from_file(page_path(stem), default_timeout=TIMEOUT), user)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_jobs_and_candidates_list_and_candidate_page(db, hostile, role) -> None:
    user = hostile[role]
    at = _page("jobs_candidates", user)
    assert_inert(at)
    rows = next(df for df in at.dataframe if "Phone" in df.value.columns).value.to_dict("records")
    assert rows[0]["Name"] == hostile["cand"].name  # a table cell is data: shown as typed
    assert rows[0]["Phone"] == ("+12125550140" if role == "admin" else "+1…0140")

    at = _page("jobs_candidates", user, candidate=hostile["cand"].id)
    assert_inert(at)
    shown = texts(at)
    assert "Eve" in shown and "[win a prize]" in shown  # visible, as plain text
    if role == "viewer":
        assert "+12125550140" not in shown and EMAIL not in shown and "urgent" not in shown
        assert "not shown for your role" in shown
        assert [m.value for m in at.metric if m.label == "Phone"] == ["\\+1…0140"]
    else:
        assert EMAIL in shown and "**urgent**" in shown


def test_adding_a_hostile_candidate_confirms_in_plain_text(db, hostile) -> None:
    at = _page("jobs_candidates", hostile["admin"])
    at.text_input(key="jobs_candidates.a_name").input("[Mal](http://evil.com) ![p](http://127.0.0.1:9/t.png)")
    at.text_input(key="jobs_candidates.a_phone").input("+1 212 555 0141")
    at.button(key="FormSubmitter:jobs_candidates.add-Add candidate").click()
    at.run()
    assert [t for t in at.toast if "added" in str(t.value)]
    assert_inert(at)


def test_launch_page_with_the_candidate_details(db, hostile) -> None:
    at = _page("launch_calls", hostile["admin"])
    assert_inert(at)
    assert "Eve" in texts(at)


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_calls_list_and_call_page(db, hostile, role) -> None:
    at = _page("transcripts", hostile[role])
    assert_inert(at)
    at = _page("transcripts", hostile[role], call=hostile["call"])
    assert_inert(at)
    shown = texts(at)
    assert SAID in shown  # the transcript line, verbatim and inert (st.text)
    assert ("+12125550140" in shown) is (role == "admin")


def test_a_viewer_cannot_find_whose_number_it_is(db, hostile) -> None:
    at = _page("transcripts", hostile["viewer"])
    at.text_input(key="transcripts.candidate").input("+1 212 555 0140")
    at.button(key="FormSubmitter:transcripts.filters-Apply filters").click()
    at.run()
    assert "cannot search by phone number" in texts(at)
    assert auth.can(hostile["viewer"], auth.Action.VIEW)
