"""Input widgets for the voice-agent settings, shared by the global and the job settings pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from core import labels, timezones
from core.agent import effective as agent_effective
from core.agent import hours_view
from core.agent import prompts as agent_prompts
from core.agent import questions as agent_questions
from core.agent import validation as agent_validation
from core.agent.models import EndBehavior, OpeningMode, VoiceLanguage, Weekday
from core.errors import UserError
from core.people import places
from dashboard import ui
from dashboard.components import hours_grid

# Sections of the form, in the order the settings are shown.
SECTIONS: list[tuple[str, list[str]]] = [
    ("Voice and model", ["voice", "model", "language_hint", "temperature"]),
    ("What the agent says", ["company_name", "system_prompt", "opening", "screening_questions"]),
    ("Recording and endings", ["recording_enabled", "recording_disclosure", "voicemail_message",
                               "max_duration_minutes", "time_exceeded_message", "inactivity_messages"]),
    ("Consent and pacing", ["require_consent", "calling_hours", "retry_policy",
                            "max_concurrent_calls", "calls_per_second", "monthly_budget",
                            "organisation_zone"]),
    ("Compliance", ["disclosure_phrases", "all_party_consent_places", "recording_consent_scope",
                    "recording_consent_method", "transcript_without_recording"]),
    ("Data retention", ["recording_retention_days", "transcript_retention_days"]),
]
_OPENING_LABELS = {
    OpeningMode.USER_FIRST.value: "The candidate speaks first (greeted if silent)",
    OpeningMode.AGENT_TEXT.value: "The agent speaks first: a fixed greeting",
    OpeningMode.AGENT_PROMPT.value: "The agent speaks first: a greeting it writes",
}
_OPENING_TEXT = {
    OpeningMode.USER_FIRST.value: "Fallback greeting (said if the candidate stays silent)",
    OpeningMode.AGENT_TEXT.value: "Greeting",
    OpeningMode.AGENT_PROMPT.value: "Instruction for the greeting",
}
_END_LABELS = {
    EndBehavior.KEEP_WAITING.value: "keep waiting",
    EndBehavior.HANG_UP_SOFT.value: "hang up unless they speak",
    EndBehavior.HANG_UP_STRICT.value: "hang up",
}

_END_CODES = {label: code for code, label in _END_LABELS.items()}


def sync(key: str, version: int) -> None:
    """Forget the widgets' typed values when the stored settings changed (saved or restored)."""
    marker = f"{key}.__version"
    if st.session_state.get(marker) != version:
        for name in [k for k in st.session_state if str(k).startswith(f"{key}.")]:
            del st.session_state[name]
        st.session_state[marker] = version


def _language_label(code: str) -> str:
    return f"{VoiceLanguage(code).label} ({code})"


def _zone_label(zone: str) -> str:
    return zone.replace("_", " ")


def _opening_label(mode: str) -> str:
    return _OPENING_LABELS[mode]


def _scope_label(code: str) -> str:
    return labels.label(labels.Kind.CONSENT_SCOPE, code)


def _method_label(code: str) -> str:
    return labels.label(labels.Kind.CONSENT_METHOD, code)


def _options(current: str, choices: list[str]) -> list[str]:
    return list(dict.fromkeys([*choices, current])) if current else choices


def field_input(key: str, name: str, value: Any, *, disabled: bool = False,
                voices: list[str] | None = None, models: list[str] | None = None) -> Any:
    """Render the widget(s) of one setting, pre-filled with `value` (plain); return the plain value."""
    label = agent_validation.FIELD_LABELS[name]
    k = f"{key}.{name}"
    if name == "voice":
        if voices:
            opts = _options(value, voices)
            return st.selectbox(label, opts, index=opts.index(value), key=k, disabled=disabled,
                                help="Listen to the voices on the Voices page.")
        return st.text_input(label, value, key=k, disabled=disabled, help="Voice name or id.")
    if name == "model":
        opts = _options(value, models or [])
        return st.selectbox(label, opts, index=opts.index(value), key=k, disabled=disabled)
    if name == "language_hint":
        opts = [lang.value for lang in VoiceLanguage]
        return st.selectbox(label, opts, index=opts.index(value) if value in opts else 0, key=k,
                            disabled=disabled, format_func=_language_label)
    if name == "temperature":
        return st.slider(label, 0.0, 1.0, float(value), 0.05, key=k, disabled=disabled,
                         help="Lower is more predictable; 0.2–0.4 suits screening.")
    if name == "company_name":
        return st.text_input(label, value, key=k, disabled=disabled,
                             help="Used when a job does not name its company.")
    if name in ("system_prompt", "recording_disclosure", "voicemail_message", "time_exceeded_message"):
        return st.text_area(label, value, key=k, disabled=disabled,
                            height=420 if name == "system_prompt" else 80)
    if name in ("recording_consent_scope", "recording_consent_method"):
        scope = name == "recording_consent_scope"
        opts = list(labels.labels(labels.Kind.CONSENT_SCOPE if scope else labels.Kind.CONSENT_METHOD))
        return st.radio(label, opts, index=opts.index(value) if value in opts else 0, key=k,
                        disabled=disabled, format_func=_scope_label if scope else _method_label,
                        help="For candidates who have not agreed to the recording in advance.")
    if name == "transcript_without_recording":
        return st.toggle(label, bool(value), key=k, disabled=disabled,
                         help="The answers the agent recorded are always kept.")
    if name in ("recording_enabled", "require_consent"):
        return st.toggle(label, bool(value), key=k, disabled=disabled)
    if name in ("max_duration_minutes", "max_concurrent_calls"):
        bounds = (1, 60) if name == "max_duration_minutes" else (1, 100)
        return int(st.number_input(label, *bounds, int(value), 1, key=k, disabled=disabled))
    if name in ("recording_retention_days", "transcript_retention_days"):
        what = "recordings" if name == "recording_retention_days" else "transcripts and the answers' words"
        return int(st.number_input(label, 0, 3650, int(value), 1, key=k, disabled=disabled,
                                   help=f"Days after the job is closed or archived before its calls' "
                                        f"{what} are deleted. RETENTION_DAYS still applies when it is "
                                        "shorter."))
    if name == "calls_per_second":
        return float(st.number_input(label, 0.1, 50.0, float(value), 0.1, key=k, disabled=disabled,
                                     help="Twilio accounts start at 1 call per second."))
    if name == "monthly_budget":
        amount = st.number_input(label, 0.0, 1_000_000.0, float(Decimal(str(value))), 10.0,
                                 format="%.2f", key=k, disabled=disabled)
        return str(Decimal(str(amount)).quantize(Decimal("0.01")))
    if name == "organisation_zone":
        opts = _options(value, timezones.zone_choices(value))
        return st.selectbox(label, opts, index=opts.index(value), key=k, disabled=disabled,
                            format_func=_zone_label,
                            help="The usage page counts each call under its day in this time zone, and "
                                 "the monthly budget runs from the 1st of the month here. Changing it "
                                 "recounts the usage figures, which takes a few seconds.")
    if name == "disclosure_phrases":
        text = st.text_input(label, ", ".join(value or []), key=k, disabled=disabled,
                             help="Comma-separated. A call counts as disclosed when every phrase appears "
                                  "in the agent's first two turns (capitals do not matter).")
        return [p.strip() for p in text.split(",") if p.strip()]
    if name == "all_party_consent_places":
        opts = list(dict.fromkeys([*(f"US-{s}" for s in places.US_STATES), *(value or [])]))
        return st.multiselect(label, opts, default=value or [], key=k, disabled=disabled,
                              format_func=places.place_label, accept_new_options=True,
                              help="US states, or a two-letter country code typed in (for example DE).")
    if name == "opening":
        return _opening(k, label, value, disabled)
    if name == "screening_questions":
        return _questions(k, label, value, disabled)
    if name == "inactivity_messages":
        return _table(k, label, value, ["duration_seconds", "message", "end_behavior"], disabled)
    if name == "calling_hours":
        return _hours(k, label, value, disabled)
    if name == "retry_policy":
        return _retry(k, label, value, disabled)
    raise ValueError(f"no widget for {name}")


def _opening(k: str, label: str, value: dict, disabled: bool) -> dict:
    modes = list(_OPENING_LABELS)
    mode = st.radio(label, modes, index=modes.index(value["mode"]), key=f"{k}.mode",
                    format_func=_opening_label, disabled=disabled, horizontal=True)
    text = st.text_area(_OPENING_TEXT[mode], value["text"], key=f"{k}.text", disabled=disabled, height=80)
    c1, c2 = st.columns(2)
    delay = c1.number_input("Seconds of silence before the fallback greeting", 1, 30,
                            int(value["fallback_delay_seconds"]), key=f"{k}.delay", disabled=disabled)
    uninterruptible = c2.checkbox("Agent's greeting cannot be interrupted", bool(value["uninterruptible"]),
                                  key=f"{k}.uninterruptible", disabled=disabled)
    return {"mode": mode, "text": text, "fallback_delay_seconds": int(delay),
            "uninterruptible": bool(uninterruptible)}


def _table(k: str, label: str, rows: list[dict], columns: list[str], disabled: bool) -> list[dict]:
    st.markdown(f"**{label}**")
    frame = pd.DataFrame(rows or [], columns=columns)
    if "end_behavior" in frame:
        frame["end_behavior"] = frame["end_behavior"].map(lambda v: _END_LABELS.get(v, v))
    config = {
        "text": st.column_config.TextColumn("Question", required=True, width="large"),
        "guidance": st.column_config.TextColumn("What a good answer contains", width="large"),
        "duration_seconds": st.column_config.NumberColumn("Silence (s)", min_value=2, max_value=300,
                                                          step=1, required=True),
        "message": st.column_config.TextColumn("Message", required=True, width="large"),
        "end_behavior": st.column_config.SelectboxColumn("Then", options=list(_END_LABELS.values()),
                                                         required=True),
    }
    edited = st.data_editor(frame, key=k, num_rows="dynamic", disabled=disabled, hide_index=True,
                            width="stretch", column_config={c: config[c] for c in columns})
    out = []
    for row in edited.to_dict("records"):
        clean = {c: ("" if pd.isna(v) else v) for c, v in row.items()}
        if not any(str(v).strip() for v in clean.values()):
            continue  # an empty new row the user did not fill
        if clean.get("end_behavior") in _END_CODES:
            clean["end_behavior"] = _END_CODES[clean["end_behavior"]]
        if "duration_seconds" in clean and clean["duration_seconds"] != "":
            clean["duration_seconds"] = int(clean["duration_seconds"])
        out.append(clean)
    return out


_QUESTION_COLUMNS = ["id", "text", "type", "options", "unit", "min_value", "max_value", "knockout",
                     "guidance", "reviewer_guidance"]


def _questions(k: str, label: str, rows: list[Any], disabled: bool) -> list[dict]:
    st.markdown(f"**{label}**")
    st.caption("Each question has a type of answer. A knock-out rule says what the answer must "
               "be: “yes” or “no” for a yes-or-no question; “at least 2”, “at most 40” or both "
               "for a number; the accepted choices, separated by commas, for a choice question. "
               "The agent never sees knock-out rules or the guidance for reviewers.")
    frame = pd.DataFrame(agent_questions.editor_rows(rows or []), columns=_QUESTION_COLUMNS)
    config = {
        "id": None,  # kept with its row, never shown: answers and ratings key questions by it
        "text": st.column_config.TextColumn("Question", required=True, width="large"),
        "type": st.column_config.SelectboxColumn(
            "Type of answer", options=list(agent_questions.TYPE_BY_LABEL), required=True,
            default=agent_questions.QuestionType.OPEN.label),
        "options": st.column_config.TextColumn("Choices (comma-separated)", width="medium"),
        "unit": st.column_config.TextColumn("Unit of the number (e.g. years)"),
        "min_value": st.column_config.NumberColumn("Smallest number accepted"),
        "max_value": st.column_config.NumberColumn("Largest number accepted"),
        "knockout": st.column_config.TextColumn("Knock-out rule (empty: none)", width="medium"),
        "guidance": st.column_config.TextColumn("What a good answer contains (for the agent)",
                                                width="large"),
        "reviewer_guidance": st.column_config.TextColumn(
            "What a strong answer sounds like (for reviewers only)", width="large"),
    }
    edited = st.data_editor(frame, key=k, num_rows="dynamic", disabled=disabled, hide_index=True,
                            width="stretch", column_config=config)
    out = []
    for row in edited.to_dict("records"):
        clean = agent_questions.from_editor_row(row)
        if not any(str(clean.get(c) or "").strip() for c in ("text", "guidance", "options",
                                                             "knockout", "reviewer_guidance")):
            continue  # an empty new row the user did not fill
        out.append(clean)
    return out


def _hours(k: str, label: str, value: dict, disabled: bool) -> dict:
    # Each day's tick reruns the page at once (no form around it), so its times unlock as it is ticked.
    st.markdown(f"**{label}**")
    st.caption(hours_view.ZONE_NOTE)
    windows: dict[str, list[dict]] = {}
    problems: list[str] = []
    for day in [d.value for d in Weekday]:
        current = (value.get("windows") or {}).get(day) or []
        first = current[0] if current else {"start": "09:00:00", "end": "18:00:00"}
        c_on, c_start, c_end = st.columns([1, 2, 2], vertical_alignment="bottom")
        on = c_on.checkbox(hours_view.DAY_SHORT[day], bool(current), key=f"{k}.{day}.on", disabled=disabled)
        start = c_start.time_input(f"{hours_view.DAY_SHORT[day]} from", time.fromisoformat(first["start"]),
                                   key=f"{k}.{day}.start", disabled=disabled or not on, step=900)
        end = c_end.time_input(f"{hours_view.DAY_SHORT[day]} to", time.fromisoformat(first["end"]),
                               key=f"{k}.{day}.end", disabled=disabled or not on, step=900)
        if on:
            problem = hours_view.window_problem(day, start, end)
            if problem:
                problems.append(problem)
                st.error(problem, icon=":material/schedule:")
            # Extra windows stored by other means are kept as they are.
            windows[day] = [{"start": start.isoformat(), "end": end.isoformat()}, *current[1:]]
    if not windows:
        st.warning("No day is ticked: no candidate can be called.", icon=":material/block:")
    st.session_state[f"{k}.__problems"] = problems  # read by show(): no second message for these
    return {"windows": windows}


def _retry(k: str, label: str, value: dict, disabled: bool) -> dict:
    st.markdown(f"**{label}**")
    c1, c2, c3 = st.columns(3)
    attempts = c1.number_input("Attempts (first call included)", 1, 10, int(value["max_attempts"]),
                               key=f"{k}.attempts", disabled=disabled)
    spacing = c2.number_input("Minutes between attempts", 5, 10_080, int(value["spacing_minutes"]),
                              key=f"{k}.spacing", disabled=disabled)
    after_vm = c3.checkbox("Retry after leaving a voicemail", bool(value["retry_after_voicemail"]),
                           key=f"{k}.after_vm", disabled=disabled)
    return {"max_attempts": int(attempts), "spacing_minutes": int(spacing),
            "retry_after_voicemail": bool(after_vm)}


def anchor(title: str) -> str:
    """The anchor of a section heading ("Voice and model" → "voice-and-model")."""
    return "-".join(title.lower().split())


def section_links() -> None:
    """Links to the sections, so a long form is quick to move around in."""
    st.markdown(" · ".join(f"[{title}](#{anchor(title)})" for title, _ in SECTIONS))


def show_problems(key: str, name: str, problems: dict[str, list[str]]) -> None:
    """The problems of one field, in words, right under it."""
    if name == "calling_hours" and st.session_state.get(f"{key}.{name}.__problems"):
        return  # the day rows already say what is wrong
    for message in problems.get(name, []):
        st.error(message, icon=":material/error:")


def show(key: str, values: dict[str, Any], *, disabled: bool = False, voices: list[str] | None = None,
         models: list[str] | None = None) -> dict[str, Any]:
    """Every setting, in anchored sections, pre-filled with `values`; problems shown at each field."""
    out: dict[str, Any] = {}
    slots: dict[str, Any] = {}
    for title, names in SECTIONS:
        st.subheader(title, anchor=anchor(title))
        for name in names:
            out[name] = field_input(key, name, values[name], disabled=disabled, voices=voices,
                                    models=models)
            if name == "calling_hours":
                hours_grid.show(out[name], key=f"{key}.hours_grid", title="The week at a glance")
            slots[name] = st.container()
    problems = agent_validation.problems_by_field(out)
    for name, slot in slots.items():
        with slot:
            show_problems(key, name, problems)
    return out


def forget(key: str) -> None:
    """Drop the typed state of a widget and of its parts (so it shows its given value again)."""
    for name in [k for k in st.session_state if str(k) == key or str(k).startswith(f"{key}.")]:
        del st.session_state[name]


# -- draft: unsaved edits kept in the session, restored when the user comes back ------------


_DRAFT = ".draft"


def _draft_key(page: str) -> str:
    return page + _DRAFT


def unsaved_drafts() -> list[str]:
    """The pages whose unsaved settings draft this session holds."""
    return sorted(str(k).removesuffix(_DRAFT) for k in st.session_state if str(k).endswith(_DRAFT))


def draft_seed(page: str, stored: dict[str, Any], version: int, sentinel: str) -> dict[str, Any]:
    """The values to pre-fill: the session's draft when the page is opened again, else stored.

    The seed stays the same while the user is on the page, so widgets keep their identity.
    """
    draft = st.session_state.get(_draft_key(page))
    if draft and draft["base"] != version:
        st.session_state.pop(_draft_key(page), None)  # the settings were saved or restored since
        draft = None
    seed = st.session_state.get(f"{page}.seed")
    if sentinel in st.session_state and seed and seed["base"] == version:
        return seed["values"]
    values = draft["values"] if draft else stored
    st.session_state[f"{page}.seed"] = {"base": version, "values": values}
    return values


def keep_draft(page: str, values: dict[str, Any], version: int, dirty: bool) -> bool:
    """Remember the entered values as the page's draft when they differ from the stored ones."""
    if dirty:
        st.session_state[_draft_key(page)] = {"base": version, "values": values}
    else:
        st.session_state.pop(_draft_key(page), None)
    return dirty


def discard_draft(page: str, form_key: str) -> None:
    """Forget the draft and the typed values (a button callback, before widgets are drawn)."""
    st.session_state.pop(_draft_key(page), None)
    st.session_state.pop(f"{page}.seed", None)
    for name in [k for k in st.session_state if str(k).startswith(f"{form_key}.")
                 and not str(k).endswith("__version")]:
        del st.session_state[name]


def save_bar(key: str, where: str, *, editable: bool, dirty: bool, problems: list[str],
             draft: bool = False, on_discard: Any = None) -> bool:
    """The save row (top and bottom of a long form): draft badge, review button; True if clicked."""
    cols = st.columns([2, 3, 2], vertical_alignment="center")
    with cols[0]:
        if not editable:
            clicked = st.button("Review changes", key=f"{key}.review.{where}", disabled=True)
        elif dirty:
            clicked = st.button("Review changes", key=f"{key}.review.{where}", type="primary")
        else:
            clicked = st.button("Nothing to save", key=f"{key}.review.{where}", disabled=True)
    with cols[1]:
        if editable and not dirty:
            st.caption("No setting differs from the saved version.")
        elif problems:
            st.caption(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} to fix "
                       "before saving (marked at the field).")
        if draft:
            st.badge("Unsaved draft", color="orange", icon=":material/edit_note:")
    if draft and on_discard is not None:
        cols[2].button("Discard draft", key=f"{key}.discard.{where}", on_click=on_discard)
    return clicked


def placeholders_help() -> None:
    """The placeholders templates may use, as a compact list."""
    with st.expander("Placeholders you can use in the texts"):
        st.markdown("\n".join(f"- `{{{{{n}}}}}` — {d}" for n, d in agent_prompts.PLACEHOLDERS.items()))


def changes_table(changes: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """A readable table of field changes (old → new)."""
    return pd.DataFrame(
        [{"Setting": line.setting, "Before": line.before, "After": line.after}
         for line in agent_effective.change_lines(changes)],
        columns=["Setting", "Before", "After"],
    )


def confirm_changes(page: str, pending_key: str, changes: dict[str, dict[str, Any]],
                    save: Callable[[], int | None], *, what: str, note: str = "",
                    clear: tuple[str, ...] = ()) -> None:
    """The confirmation step of a settings save: the changes as a table, then Save or Cancel.
    `save` writes and returns the new version; a refusal is shown and nothing is cleared."""
    st.subheader("Confirm your changes")
    if note:
        st.caption(note)
    st.dataframe(changes_table(changes), hide_index=True, width="stretch")
    yes, no = st.columns(2)
    if yes.button("Save these changes", type="primary", key=f"{page}.confirm"):
        try:
            version = save()
        except UserError as exc:
            st.error(str(exc))
        else:
            for key in (pending_key, *clear):
                st.session_state.pop(key, None)
            ui.flash(page, f"{what} saved as version {version}.")
            st.rerun()
    if no.button("Cancel", key=f"{page}.cancel"):
        st.session_state.pop(pending_key, None)
        st.rerun()
