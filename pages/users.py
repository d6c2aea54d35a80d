"""Users (admin): list, add, change role, disable, reset password."""

import pandas as pd
import streamlit as st

from core import auth, labels
from core.auth.roles import Role
from dashboard import ui

user = ui.require_user("users")
db = ui.require_database()

st.title("Users")

users = auth.list_users(db)
st.dataframe(
    pd.DataFrame(
        [
            {
                "Username": u.username,
                "Name": u.name,
                "Email": u.email,
                "Role": labels.label(labels.Kind.ROLE, u.role),
                "Status": "Disabled" if u.disabled else "Active",
            }
            for u in users
        ]
    ),
    hide_index=True,
    width="stretch",
)

roles = [r.value for r in Role]
role_label = labels.labels(labels.Kind.ROLE)

with st.expander("Add a user", expanded=not users), st.form("users.add", clear_on_submit=True):
    username = st.text_input("Username", key="users.add_username")
    name = st.text_input("Full name", key="users.add_name")
    email = st.text_input("Email", key="users.add_email")
    role = st.selectbox("Role", roles, index=roles.index("recruiter"), format_func=role_label.get,
                        key="users.add_role")
    password = st.text_input(
        "Password",
        type="password",
        key="users.add_password",
        help=f"At least {auth.MIN_PASSWORD_LENGTH} characters, at most {auth.MAX_PASSWORD_BYTES} bytes.",
    )
    if st.form_submit_button("Add user", type="primary"):
        try:
            created = auth.create_user(db, username, password, role, name=name, email=email, actor=user)
        except (auth.AuthError, auth.PermissionDenied) as exc:
            st.error(str(exc))
        else:
            ui.flash("users", f"User {created.username} added.")
            st.rerun()  # the list above shows them at once

if users:
    st.subheader("Change a user")
    target = st.selectbox("User", [u.username for u in users], key="users.target")
    selected = next(u for u in users if u.username == target)
    col_role, col_state, col_pw = st.columns(3)
    with col_role, st.form("users.role"):
        new_role = st.selectbox(
            "Role", roles, index=roles.index(selected.role.value), format_func=role_label.get,
            key="users.new_role",
        )
        if st.form_submit_button("Change role"):
            try:
                auth.set_role(db, user, target, new_role)
                ui.flash("users", f"{target} is now {role_label[new_role].lower()}.")
                st.rerun()
            except (auth.AuthError, auth.PermissionDenied) as exc:
                st.error(str(exc))
    with col_state:
        label = "Enable account" if selected.disabled else "Disable account"
        confirm = st.checkbox(f"Yes, {label.lower()} of {target}", key="users.confirm_state")
        if st.button(label, disabled=not confirm, key="users.toggle_state"):
            try:
                auth.set_disabled(db, user, target, not selected.disabled)
                ui.flash("users", f"{target}: {'enabled' if selected.disabled else 'disabled'}.")
                st.rerun()
            except (auth.AuthError, auth.PermissionDenied) as exc:
                st.error(str(exc))
    with col_pw, st.form("users.password", clear_on_submit=True):
        new_password = st.text_input("New password", type="password", key="users.new_password")
        if st.form_submit_button("Reset password"):
            try:
                auth.reset_password(db, user, target, new_password)
                st.toast(f"Password of {target} reset; their sessions have ended.")
            except (auth.AuthError, auth.PermissionDenied) as exc:
                st.error(str(exc))
