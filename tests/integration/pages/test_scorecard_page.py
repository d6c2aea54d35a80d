"""The call page's review scorecard through AppTest: each question beside its rating, ▶ moves the
one player, Save & next, and a save refused when another reviewer saved first."""

from __future__ import annotations

import re
from datetime import timedelta

from streamlit.testing.v1 import AppTest

from core.db import CALLS, utcnow
from core.review import decisions as review_decisions
from core.review import recording_store, recordings
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts
from tests.support.review_seed import QUESTIONS, T0, add_call, add_candidate, add_job

PAGE = page_path("transcripts")


def app(user, call_id: str) -> AppTest:
    at = signed_in(AppTest.from_file(PAGE, default_timeout=TIMEOUT), user)
    at.query_params["call"] = call_id
    return at.run()


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def walk(node):
    """Every element under a block, depth first."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from walk(child)


def scorecard_rows(at: AppTest) -> list:
    return [b for b in walk(at.main) if getattr(b.proto, "id", "").rsplit(".", 1)[-1].startswith("row_q")]


def cached_recording(db, call_id: str) -> None:
    now = utcnow()
    recording_store.cache_recording(db, call_id, now, content=b"RIFF....WAVEfmt ", content_type="audio/wav",
                                    expires_at=now + recordings.RECORDING_TTL)


def called(at: AppTest) -> str:
    value = at.query_params["call"]
    return value[0] if isinstance(value, list) else value


def test_each_question_sits_beside_its_answer_excerpt_and_rating(db):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann Archer", "+12015550101", [job])
    call_id = add_call(db, cand, job)
    cached_recording(db, call_id)
    at = app(make_user(db, "recruiter"), call_id)
    assert not at.exception
    rows = scorecard_rows(at)
    assert len(rows) == len(QUESTIONS) == 3
    for number, (row, question) in enumerate(zip(rows, QUESTIONS, strict=True), start=1):
        inside = list(walk(row))
        shown = [str(e.value) for e in inside if e.type in ("text", "caption")]
        assert question["text"] in shown  # the question's own words in the row…
        assert f"Question {number} · Open answer" in shown
        boxes = [e for e in inside if e.type == "selectbox"]
        assert [b.key for b in boxes] == [f"transcripts.review.{call_id}.q{number}"]  # …beside its rating
        assert [b.label for b in inside if b.type == "button"] == [f"▶ Play from 0:{8 * number + 4:02d}"]
    first = [str(e.value) for e in walk(rows[0]) if e.type == "text"]
    assert "Candidate · 0:12: About five years in a warehouse." in first
    assert "Agent · 0:08: First, how many years of forklift experience do you have?" in first
    assert "matched from the transcript — check" in texts(at)


def test_play_button_moves_the_one_player_and_ratings_save_by_question(db):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann Archer", "+12015550101", [job])
    call_id = add_call(db, cand, job)
    cached_recording(db, call_id)
    at = app(make_user(db, "recruiter"), call_id)
    (audio,) = at.get("audio")
    assert audio.proto.start_time == 0 and not audio.proto.autoplay

    button(at, "▶ Play from 0:20").click().run()
    (audio,) = at.get("audio")
    assert (audio.proto.start_time, audio.proto.autoplay) == (20, True)
    assert at.session_state[f"transcripts.scorecard.{call_id}.play"] == 20.0
    assert "Playing from 0:20" in texts(at)
    button(at, "▶ Play from 0:12").click().run()
    assert [a.proto.start_time for a in at.get("audio")] == [12]

    key = f"transcripts.review.{call_id}"
    at.selectbox(key=f"{key}.q2").set_value(5).run()
    at.radio(key=f"{key}.decision").set_value("hold")
    at.selectbox(key=f"{key}.overall").set_value(3)
    button(at, "Save review").click().run()
    assert not at.exception and "Review saved." in texts(at)
    ratings = db[CALLS].find_one({"_id": call_id})["review"]["ratings"]
    assert list(ratings.values()) == [5] and len(ratings) == 1


def test_save_and_next_opens_the_next_undecided_call_of_the_same_job(db):
    job, other = add_job(db, "Forklift driver"), add_job(db, "Night cook")
    ann = add_candidate(db, "Ann Archer", "+12015550101", [job, other])
    bob = add_candidate(db, "Bob Stone", "+12015550103", [job, other])
    current = add_call(db, ann, job, created_at=T0)
    add_call(db, bob, other, created_at=T0 - timedelta(hours=2))  # older, but another job
    add_call(db, bob, job, created_at=T0 - timedelta(hours=1), decision="advance")  # already decided
    following = add_call(db, bob, job, created_at=T0 + timedelta(hours=1))
    user = make_user(db, "recruiter")

    at = app(user, current)
    key = f"transcripts.review.{current}"
    at.radio(key=f"{key}.decision").set_value("advance")
    at.selectbox(key=f"{key}.overall").set_value(4)
    button(at, "Save & next").click().run()
    assert not at.exception
    assert called(at) == following and "Bob Stone · Forklift driver" in texts(at)
    assert "Review saved. This is the next call awaiting review in this job." in texts(at)
    assert db[CALLS].find_one({"_id": current})["review"]["decision"] == "advance"

    key = f"transcripts.review.{following}"
    at.radio(key=f"{key}.decision").set_value("reject")
    at.selectbox(key=f"{key}.overall").set_value(2)
    button(at, "Save & next").click().run()
    assert called(at) == following  # stays: the other job's call is not offered
    assert "No more calls awaiting review in this job." in texts(at)
    assert db[CALLS].find_one({"_id": following})["review"]["decision"] == "reject"


def test_a_save_overtaken_by_another_reviewer_is_refused_and_the_input_kept(db):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann Archer", "+12015550101", [job])
    call_id = add_call(db, cand, job)
    maria, tom = make_user(db, "recruiter", "maria"), make_user(db, "recruiter", "tom")
    at = app(tom, call_id)  # Tom opens the call with no review yet…
    review_decisions.save_review(db, maria, call_id, "advance", {}, 5, "Maria's notes")  # …Maria saves

    key = f"transcripts.review.{call_id}"
    at.radio(key=f"{key}.decision").set_value("reject")
    at.selectbox(key=f"{key}.overall").set_value(1)
    at.text_area(key=f"{key}.notes").input("Tom's notes")
    button(at, "Save review").click().run()
    assert not at.exception
    assert re.search(r"maria saved a review of this call at \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC while you "
                     r"were editing; reload to see it", texts(at))
    stored = db[CALLS].find_one({"_id": call_id})["review"]
    assert (stored["by"], stored["notes"]) == ("maria", "Maria's notes")
    assert at.text_area(key=f"{key}.notes").value == "Tom's notes"  # his input is kept

    button(at, "Reload the saved review").click().run()
    key = f"transcripts.review.{call_id}.r1"  # new inputs, filled from the saved review
    assert at.text_area(key=f"{key}.notes").value == "Maria's notes"
    assert at.radio(key=f"{key}.decision").value == "advance"
    at.text_area(key=f"{key}.notes").input("Tom read Maria's review")
    button(at, "Save review").click().run()
    assert "Review saved." in texts(at)
    stored = db[CALLS].find_one({"_id": call_id})["review"]
    assert (stored["by"], stored["notes"], stored["version"]) == ("tom", "Tom read Maria's review", 2)
