"""Jobs & candidates: jobs, candidates, CSV import and the candidate view (`?candidate=`)."""

import re

import pandas as pd
import streamlit as st

from core import auth, labels, timezones
from core.agent import settings as agent_settings
from core.people import candidates, csv_import, jobs
from dashboard import ui
from dashboard.components import (
    candidate_detail,
    do_not_call_controls,
    erasure_controls,
    human_request_controls,
    job_stage_controls,
    legal_hold_controls,
)
from dashboard.safe_text import md

user = ui.require_user("jobs_candidates")
db = ui.require_database()
can_edit = auth.can(user, auth.Action.MANAGE_JOBS)

st.title("Jobs & candidates")

wanted = st.query_params.get("candidate", "")
if wanted:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", wanted):
        st.warning("That candidate link is not valid.")
    else:
        shown = candidate_detail.show(db, wanted, user, key="jobs_candidates.detail")
        if can_edit and shown is not None:
            do_not_call_controls.show(db, user, wanted, key="jobs_candidates.dnc")
            human_request_controls.show(db, user, wanted, key="jobs_candidates.human")
        if shown is not None:
            erasure_controls.show(db, user, wanted, key="jobs_candidates.privacy")
    if st.button("Back to the lists", key="jobs_candidates.back"):
        st.query_params.clear()
        st.rerun()
    st.stop()

all_jobs = jobs.list_jobs(db, include_archived=True)
job_label = {j.id: jobs.label(j) for j in all_jobs}
open_jobs = [j.id for j in all_jobs if j.takes_calls]

# A pale background per result, so a long import report is read at a glance.
_COLOURS = {"new": "#e8f5e9", "attach": "#e3f2fd", "no_consent": "#fff8e1", "duplicate": "#fff3e0",
            "rejected": "#ffebee"}

tab_jobs, tab_cands, tab_import = st.tabs(["Jobs", "Candidates", "Import CSV"])
_FROM_NUMBER = ""  # the time-zone choice "read it from the number"
zone_options = [_FROM_NUMBER, *timezones.zone_choices(ui.viewer_zone(user))]
zone_label = {**{z: z for z in zone_options}, _FROM_NUMBER: "From the phone number"}

with tab_jobs:
    st.dataframe([{"Title": j.title, "Company": j.company, "Owner": j.owner,
                   "Status": labels.label(labels.Kind.JOB_STATUS, j.status),
                   "Legal hold": legal_hold_controls.badge_text(j.legal_hold, ui.viewer_zone(user)),
                   "Settings": ui.address("job_settings", job=j.id)} for j in all_jobs],
                 hide_index=True, width="stretch",
                 column_config={"Settings": ui.link_column("Settings", "Open job settings")})
    if can_edit:
        with st.expander("Create a job", expanded=not all_jobs), \
                st.form("jobs_candidates.new_job", clear_on_submit=True):
            title = st.text_input("Title", key="jobs_candidates.new_title")
            company = st.text_input("Company", key="jobs_candidates.new_company")
            description = st.text_area("Description", key="jobs_candidates.new_description")
            if st.form_submit_button("Create job", type="primary"):
                try:
                    jobs.create_job(db, user, title=title, company=company, description=description)
                    ui.flash("jobs_candidates", f"Job {md(title)} created.")
                    st.rerun()
                except (jobs.JobError, auth.PermissionDenied) as exc:
                    st.error(md(str(exc)))
        if all_jobs:
            edit_id = st.selectbox("Edit a job", list(job_label), format_func=job_label.get,
                                   key="jobs_candidates.edit_job")
            job = next(j for j in all_jobs if j.id == edit_id)
            with st.form("jobs_candidates.edit_job_form"):
                e_title = st.text_input("Title", job.title, key=f"jobs_candidates.e_title_{edit_id}")
                e_company = st.text_input("Company", job.company,
                                          key=f"jobs_candidates.e_company_{edit_id}")
                e_desc = st.text_area("Description", job.description,
                                      key=f"jobs_candidates.e_desc_{edit_id}")
                e_owner = st.text_input("Owner", job.owner,
                                        key=f"jobs_candidates.e_owner_{edit_id}")
                if st.form_submit_button("Save job"):
                    try:
                        jobs.update_job(db, user, edit_id, title=e_title, company=e_company,
                                        description=e_desc, owner=e_owner)
                        ui.flash("jobs_candidates", "Job saved.")
                        st.rerun()
                    except (jobs.JobError, auth.PermissionDenied) as exc:
                        st.error(md(str(exc)))

            job_stage_controls.show(db, user, job, key="jobs_candidates.stage")
            legal_hold_controls.show(db, user, "job", job.id, key="jobs_candidates.job_hold")

with tab_cands:
    filter_labels = {"": "All jobs", **job_label}
    filter_job = st.selectbox("Job", list(filter_labels), format_func=filter_labels.get,
                              key="jobs_candidates.filter_job")
    search = st.text_input("Name", key="jobs_candidates.search",
                           help="Each word you type matches the start (3 letters or more) of a word "
                                "of the name, e.g. “mor” finds Alex Morgan.")
    rows = candidates.list_candidates(db, user, job_id=filter_job or None, search=search, limit=500)
    st.dataframe([{"Name": c.name, "Phone": c.phone,
                   "Time zone": c.timezone or "From the number",
                   "Consent": labels.yes_no(c.consent), "Do not call": labels.yes_no(c.do_not_call),
                   "Jobs": len(c.job_ids), "Candidate": ui.address("jobs_candidates", candidate=c.id)}
                  for c in rows], hide_index=True, width="stretch",
                 column_config={"Candidate": ui.link_column("Candidate", "Open")})
    st.caption(f"{len(rows)} shown (at most 500; narrow with the filters).")
    if rows:
        name_of = {c.id: c.name for c in rows}
        pick = st.selectbox("Open a candidate", list(name_of), format_func=name_of.get,
                            key="jobs_candidates.pick")
        if st.button("Open", key="jobs_candidates.open"):
            st.query_params["candidate"] = pick
            st.rerun()
    if can_edit:
        with st.expander("Add a candidate"), st.form("jobs_candidates.add", clear_on_submit=True):
            a_name = st.text_input("Name", key="jobs_candidates.a_name")
            a_phone = st.text_input("Phone", key="jobs_candidates.a_phone",
                                    help="Any format; without +country code it is read as a US number.")
            a_email = st.text_input("Email", key="jobs_candidates.a_email")
            a_tz = st.selectbox("Time zone", zone_options, format_func=zone_label.get,
                                key="jobs_candidates.a_tz",
                                help="Calling hours apply in this zone. Left as is, it is read from the "
                                "number (a number spanning several zones must fit all of them).")
            a_region = st.text_input("State or country", key="jobs_candidates.a_region",
                                     help="A US state (CA, California) or a two-letter country code. "
                                     "Left empty, it is read from the number.")
            a_consent = st.checkbox("Consented to be called", key="jobs_candidates.a_consent")
            a_jobs = st.multiselect("Jobs", open_jobs, format_func=job_label.get,
                                    key="jobs_candidates.a_jobs")
            a_notes = st.text_area("Notes", key="jobs_candidates.a_notes")
            if st.form_submit_button("Add candidate", type="primary"):
                try:
                    new = candidates.add_candidate(db, user, name=a_name, phone=a_phone, email=a_email,
                                                   timezone=a_tz, consent=a_consent, notes=a_notes,
                                                   job_ids=a_jobs, region=a_region)
                except (candidates.CandidateError, auth.PermissionDenied) as exc:
                    st.error(md(str(exc)))
                else:
                    ui.flash("jobs_candidates", f"{md(new.name)} added.")
                    st.rerun()  # the list above shows them at once
        if rows:
            edit = next(c for c in rows if c.id == pick)
            with st.expander(f"Edit {md(edit.name)}"), st.form("jobs_candidates.edit_cand"):
                k = f"jobs_candidates.ed_{edit.id}"
                ed_name = st.text_input("Name", edit.name, key=f"{k}_name")
                ed_phone = st.text_input("Phone", edit.phone, key=f"{k}_phone")
                ed_email = st.text_input("Email", edit.email, key=f"{k}_email")
                # A stored zone outside the usual list (e.g. "EST5EDT") stays choosable, never lost.
                ed_options = zone_options + [z for z in [edit.timezone] if z and z not in zone_options]
                ed_labels = {**zone_label, **{z: z for z in ed_options if z not in zone_label}}
                ed_tz = st.selectbox("Time zone", ed_options, format_func=ed_labels.get, key=f"{k}_tz",
                                     index=ed_options.index(edit.timezone or _FROM_NUMBER))
                ed_region = st.text_input("State or country", edit.region or "", key=f"{k}_region",
                                          help="Left empty, it is read from the number.")
                ed_consent = st.checkbox("Consented", edit.consent, key=f"{k}_consent",
                                         help=candidates.consent_words(edit))
                ed_recording = st.checkbox("Agreed in advance to the call being recorded",
                                           edit.recording_consent, key=f"{k}_recording_consent",
                                           help="Then no consent question is asked on the call.")
                ed_jobs = st.multiselect("Jobs", list(job_label),
                                         default=[j for j in edit.job_ids if j in job_label],
                                         format_func=job_label.get, key=f"{k}_jobs")
                ed_notes = st.text_area("Notes", edit.notes, key=f"{k}_notes")
                if st.form_submit_button("Save candidate"):
                    try:
                        candidates.update_candidate(db, user, edit.id, name=ed_name, phone=ed_phone,
                                                    email=ed_email, timezone=ed_tz, consent=ed_consent,
                                                    recording_consent=ed_recording, region=ed_region,
                                                    job_ids=ed_jobs, notes=ed_notes)
                        ui.flash("jobs_candidates", "Candidate saved.")
                        st.rerun()
                    except (candidates.CandidateError, auth.PermissionDenied) as exc:
                        st.error(md(str(exc)))

with tab_import:
    if not can_edit:
        st.info("Your role may not import candidates.")
    elif not open_jobs:
        st.info("Create a job first.")
    else:
        imp_job = st.selectbox("Import into job", open_jobs, format_func=job_label.get,
                               key="jobs_candidates.import_job")
        upload = st.file_uploader("CSV file (name, phone, email, timezone, state, consent, notes)",
                                  type=["csv", "txt"], key="jobs_candidates.upload",
                                  help="Optional column recording_consent: yes when the candidate agreed "
                                       "in advance to the call being recorded.")
        if upload is not None and st.button("Check file", key="jobs_candidates.check"):
            try:
                st.session_state["jobs_candidates.report"] = csv_import.preview_import(
                    db, imp_job, upload.getvalue())
            except csv_import.ImportFileError as exc:
                st.session_state.pop("jobs_candidates.report", None)
                st.error(md(str(exc)))
        report = st.session_state.get("jobs_candidates.report")
        if report and upload is not None and report.job_id == imp_job:
            st.write(f"**{report.total}** rows: **{report.accepted}** accepted, "
                     f"**{report.duplicate}** duplicate, **{report.rejected}** rejected.")
            if report.ignored_columns:
                st.caption("Ignored columns: " + ", ".join(md(c) for c in report.ignored_columns))
            consent_needed = agent_settings.job_effective_config(db, imp_job).require_consent
            results = [csv_import.row_result(r, require_consent=consent_needed) for r in report.rows]
            table = pd.DataFrame([{"Line": r.line, "Result": words, "Name": r.name,
                                   "Phone": r.phone or r.input_phone, "Time zone used": r.zone or "",
                                   "Why / note": r.reason or r.note or ""}
                                  for r, (_, words) in zip(report.rows, results, strict=True)])
            row_styles = [f"background-color: {_COLOURS[kind]}" for kind, _ in results]
            styled = table.style.apply(lambda row: [row_styles[row.name]] * len(row), axis=1)
            st.dataframe(styled, hide_index=True, width="stretch",
                         column_config={"Result": st.column_config.TextColumn(width="medium"),
                                        "Why / note": st.column_config.TextColumn(width="large")})
            problems = [r for r in report.rows if r.reason]
            if problems:
                with st.expander(f"Why {labels.counted(len(problems), 'row')} cannot be saved, in full"):
                    for r in problems:
                        st.text(f"Line {r.line}: {r.reason}")

            @st.dialog("Save the accepted candidates")
            def _confirm_import() -> None:
                st.write(f"Save {labels.counted(report.accepted, 'candidate')} into "
                         f"**{md(job_label.get(imp_job))}**? Rejected and duplicate rows are skipped.")
                if st.button("Yes, save", type="primary", key="jobs_candidates.import_yes"):
                    try:
                        done = csv_import.commit_import(db, user, imp_job, upload.getvalue())
                        st.session_state.pop("jobs_candidates.report", None)
                        ui.flash("jobs_candidates", csv_import.import_summary(
                            done, job_label.get(imp_job, "the job"), require_consent=consent_needed))
                        st.rerun()
                    except (csv_import.ImportFileError, auth.PermissionDenied) as exc:
                        st.error(md(str(exc)))

            save_label = f"Save {labels.counted(report.accepted, 'candidate')}…"
            if st.button(save_label, disabled=not report.accepted,
                         type="primary", key="jobs_candidates.save"):
                _confirm_import()
