"""Job settings: per-job overrides of the global settings, marked inherited or overridden."""

import streamlit as st

from core.agent import effective as agent_effective
from core.agent import models as agent_models
from core.agent import prompts as agent_prompts
from core.agent import settings as agent_settings
from core.agent import validation as agent_validation
from core.agent import voice_catalog
from core.auth import Action, PermissionDenied, can
from core.calling import test_call
from core.errors import UserError
from core.people import jobs
from dashboard import safe_text, ui
from dashboard.components import config_fields, config_history, hours_grid

user = ui.require_user("job_settings")
db = ui.require_database()

st.title("Job settings")
st.caption("Each job uses the global settings unless it overrides a field here.")

job_list = jobs.list_jobs(db, include_closed=True)  # a closed job's retention days stay editable
if not job_list:
    st.info("There are no open jobs yet. Create one on the Jobs & candidates page.")
    st.stop()
titles = {j.id: jobs.label(j) for j in job_list}

wanted = st.query_params.get("job")
if wanted and wanted not in titles:
    st.warning("The link points to no job that is open or closed (it may be archived or mistyped); "
               "pick one below.")
    wanted = None
ids = list(titles)
job_id = st.selectbox("Job", ids, index=ids.index(wanted) if wanted else 0,
                      format_func=titles.get, key="job_settings.job")
st.query_params["job"] = job_id
job = jobs.get_job(db, job_id)

stored_global, stored_job = agent_settings.load_global(db), agent_settings.load_job(db, job_id)
overridden = set(agent_effective.overridden_fields(stored_job.overrides))
editable = can(user, Action.EDIT_JOB_SETTINGS)
prefix = f"job_settings.{job_id}"
config_fields.sync(prefix, stored_job.version * 10_000 + stored_global.version)

try:
    effective = agent_effective.effective_config(stored_global.config, stored_job.overrides)
except agent_validation.ConfigValidationError as exc:
    effective = None
    st.error("This job's overrides no longer combine with the global settings: "
             + " ".join(exc.messages))

c1, c2, c3 = st.columns(3)
c1.metric("Overridden fields", len(overridden))
c2.metric("Inherited fields", len(agent_models.JOB_FIELDS) - len(overridden))
c3.metric("Job settings version", stored_job.version)
if not editable:
    st.info("Read only: viewers can look at job settings but not change them.", icon=":material/lock:")

library = voice_catalog.voice_library(db)
voices = [voice_catalog.voice_ref(v, library.voices) for v in library.voices]
global_plain = agent_effective.as_plain(stored_global.config)
job_plain = agent_effective.overrides_of(stored_job.overrides)
config_fields.placeholders_help()

tab_edit, tab_effective, tab_history = st.tabs(["Overrides", "Effective config & prompt", "History"])

pending_key = "job_settings.pending"
with tab_edit:
    top = st.container()
    new_overrides = {}
    slots = {}
    for title, names in config_fields.SECTIONS:
        st.subheader(title)
        for name in [n for n in names if n in agent_models.JOB_FIELDS]:  # not the organisation's own
            is_over = name in overridden
            mark, body = st.columns([1, 4])
            with mark:
                if is_over:
                    st.badge("Overridden", color="orange", icon=":material/edit:")
                else:
                    st.badge("Inherited", color="gray", icon=":material/south:")
                # Outside any form: ticking unlocks the field at once.
                use = st.checkbox("Override", is_over, key=f"{prefix}.override.{name}",
                                  disabled=not editable)
            with body:
                if not use:
                    config_fields.forget(f"{prefix}.form.{name}")  # locked: show the inherited value
                value = config_fields.field_input(
                    f"{prefix}.form", name, job_plain.get(name, global_plain[name]) if use
                    else global_plain[name], disabled=not editable or not use, voices=voices,
                    models=library.models)
                if use:
                    st.caption("Global: "
                               + safe_text.md(agent_effective.describe_value(global_plain[name], name=name)))
                else:
                    st.caption("Inherits the global value. Tick “Override” to change it for this job.")
                if name == "calling_hours":
                    g1, g2 = st.columns(2)
                    with g1:
                        hours_grid.show(global_plain[name], key=f"{prefix}.grid.global", title="Global")
                    with g2:
                        hours_grid.show(value, key=f"{prefix}.grid.job",
                                        title="This job" if use else "This job (inherits global)")
                slots[name] = st.container()
            if use:
                new_overrides[name] = value
    problems_at = agent_validation.problems_by_field(new_overrides, job=True)
    for name, slot in slots.items():
        with slot:
            config_fields.show_problems(f"{prefix}.form", name, problems_at)

    try:
        changes, problems = agent_settings.preview_job_save(db, job_id, new_overrides), []
    except agent_validation.ConfigValidationError as exc:
        changes, problems = None, exc.messages
    bar = {"editable": editable, "dirty": changes is None or bool(changes), "problems": problems}
    with top:
        clicked_top = config_fields.save_bar(prefix, "top", **bar)
    clicked_bottom = config_fields.save_bar(prefix, "bottom", **bar)
    where = "top" if clicked_top else "bottom"
    if clicked_top or clicked_bottom:
        if problems:
            with top if where == "top" else st.container():
                st.error("The job settings were not saved. Fix these first:\n\n"
                         + "\n".join(f"- {m}" for m in problems))
        elif changes:
            st.session_state[pending_key] = {"job": job_id, "values": new_overrides, "where": where,
                                             "changes": changes, "base": stored_job.version}

    pending = st.session_state.get(pending_key)
    if pending and (pending["job"] != job_id or pending["values"] != new_overrides):
        pending = st.session_state.pop(pending_key, None) and None  # another job, or edited since
    if pending:
        with top if pending["where"] == "top" else st.container():
            config_fields.confirm_changes(
                "job_settings", pending_key, pending["changes"], what="Job settings",
                note="“—” means the field inherits the global value.",
                save=lambda: agent_settings.save_job_config(db, user, job_id, pending["values"],
                                                            base_version=pending["base"]).version)

    if overridden and editable:
        st.subheader("Reset a field to the global value")
        r1, r2 = st.columns([2, 1], vertical_alignment="bottom")
        to_reset = r1.selectbox("Field", sorted(overridden), format_func=agent_validation.FIELD_LABELS.get,
                                key=f"{prefix}.reset_field")
        ask_key = f"{prefix}.reset_ask"
        if r2.button("Reset to global…", key=f"{prefix}.reset"):
            st.session_state[ask_key] = to_reset
        asked = st.session_state.get(ask_key)
        if asked in overridden:
            label = agent_validation.FIELD_LABELS[asked]
            mine = agent_effective.describe_value(job_plain.get(asked), name=asked)
            theirs = agent_effective.describe_value(global_plain[asked], name=asked)
            st.warning(f"Reset **{label}** to the global value? This job's value "
                       f"({safe_text.md(mine)}) is removed; the job then uses the global one "
                       f"({safe_text.md(theirs)}).", icon=":material/restart_alt:")
            y, n = st.columns(2)
            if y.button(f"Yes, reset {label}", type="primary", key=f"{prefix}.reset_confirm"):
                try:
                    agent_settings.reset_job_field(db, user, job_id, asked)
                    st.session_state.pop(ask_key, None)
                    ui.flash("job_settings", f"{label} now inherits the global value.")
                    st.rerun()
                except UserError as exc:
                    st.error(str(exc))
            if n.button("Keep the override", key=f"{prefix}.reset_cancel"):
                st.session_state.pop(ask_key, None)
                st.rerun()

with tab_effective:
    if effective is not None:
        diff = agent_effective.field_diff(global_plain, agent_effective.as_plain(effective))
        st.subheader("Differences from the global settings")
        if diff:
            st.dataframe(config_fields.changes_table(diff).rename(
                columns={"Before": "Global", "After": "This job"}), hide_index=True, width="stretch")
        else:
            st.caption("There are none: this job uses the global settings unchanged.")
        st.subheader(f"The prompt for a sample candidate ({agent_prompts.SAMPLE_CANDIDATE})")
        st.code(agent_prompts.render_prompt(effective, candidate_name=agent_prompts.SAMPLE_CANDIDATE,
                                 job_title=job.title, company_name=job.company),
                language=None, wrap_lines=True)
        with st.expander("The effective settings (what calls for this job use)"):
            plain = agent_effective.as_plain(effective)
            st.dataframe([{"Setting": agent_validation.FIELD_LABELS[n],
                           "Value": agent_effective.describe_value(plain[n], 400, name=n)}
                          for n in agent_models.JOB_FIELDS],
                         hide_index=True, width="stretch")

    st.subheader("Test call")
    st.caption("Calls your own number with this job's settings, at any hour. It is paid for and "
               "counts against the budget, but it is no screening: it stays out of the candidate "
               "and call lists. A candidate's number is refused; every test call is audited.")
    phone = st.text_input("Your phone number", key="job_settings.test_phone",
                          placeholder="+1 202 555 0123")
    if st.button("Test call with this job's settings", key="job_settings.test_call",
                 disabled=not can(user, Action.LAUNCH_CALLS)):
        try:
            call_id = test_call.place_test_call(db, user, job_id, phone)
            st.success("Calling your number now with this job's settings.")
            ui.page_link("call", "Follow the call", {"call": call_id}, icon=":material/forum:")
        except test_call.TestCallUnavailable as exc:
            st.error(f"The test call was not placed: {exc}")
        except PermissionDenied as exc:
            st.error(str(exc))

with tab_history:
    config_history.show(f"{prefix}.history", db, user, agent_settings.job_scope(job_id), can_restore=editable)
