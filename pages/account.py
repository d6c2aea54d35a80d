"""My account (every role): who I am, change my own password."""

import streamlit as st

from core import auth
from dashboard import ui
from dashboard.login import client_address

user = ui.require_user("account")
db = ui.require_database()

st.title("My account")
st.markdown(f"Signed in as **{user.username}** ({user.name}) · role: **{user.role.value}**")

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
