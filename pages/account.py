"""My account (every role): who I am, change my own password."""

import streamlit as st

from core import auth, labels, timezones
from dashboard import ui
from dashboard.login import client_address

_BROWSER = ""  # the choice "follow my browser"

user = ui.require_user("account")
db = ui.require_database()

st.title("My account")
st.markdown(f"Signed in as **{user.username}** ({user.name}) · role: "
            f"**{labels.label(labels.Kind.ROLE, user.role)}**")

st.subheader("Time zone")
browser = st.context.timezone if timezones.valid_zone(st.context.timezone) else timezones.UTC_NAME
choices = [_BROWSER, *timezones.zone_choices(browser)]
zone_labels = {**{z: z for z in choices}, _BROWSER: f"Follow my browser (now {browser})"}
with st.form("account.zone"):
    zone = st.selectbox(
        "Show times in",
        choices,
        index=choices.index(user.time_zone) if user.time_zone in choices else 0,
        format_func=zone_labels.get,
        key="account.time_zone",
        help="Every page shows times in this zone; a candidate's own local time is shown beside "
        "where it matters.",
    )
    if st.form_submit_button("Save time zone"):
        try:
            auth.set_own_time_zone(db, user, zone)
        except (auth.AuthError, auth.PermissionDenied) as exc:
            st.error(str(exc))
        else:
            ui.flash("account", f"Times are now shown in {zone or zone_labels[_BROWSER]}.")
            st.rerun()
st.caption(f"Times on every page are shown in {ui.viewer_zone(user)} at the moment.")

st.subheader("Change my password")
with st.form("account.password", clear_on_submit=True):
    current = st.text_input("Current password", type="password", key="account.current")
    new = st.text_input(
        "New password",
        type="password",
        key="account.new",
        help=f"At least {auth.MIN_PASSWORD_LENGTH} characters, at most {auth.MAX_PASSWORD_BYTES} bytes.",
    )
    repeat = st.text_input("New password again", type="password", key="account.repeat")
    submitted = st.form_submit_button("Change password", type="primary")

st.caption("Changing your password logs you out everywhere, this browser included.")

if submitted:
    if new != repeat:
        st.error("The two new passwords differ.")
    else:
        try:
            auth.change_own_password(db, user, current, new, client_address=client_address())
        except (auth.AuthError, auth.PermissionDenied) as exc:
            st.error(str(exc))
        else:
            ui.forget_session()
            st.session_state[ui.SESSION_ENDED] = True
            st.rerun()
