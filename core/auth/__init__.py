"""Users, passwords, roles, log-in and sessions; every permission check of the app lives here.

`from core import auth; auth.X` is how the rest of the app uses it. The pieces: `roles` and
`permissions` (who may do what, pure), `passwords` (bcrypt), `throttle` (log-in lock rules,
pure), `models` (the stored documents), `store` (every query on `users`, `auth_sessions`,
`login_throttle`), `users` (the user service), `login` (signing in) and `sessions`.
"""

from __future__ import annotations

from core.auth.login import SignIn, authenticate, cookie_key, forget_stored_cookie_key, sign_in
from core.auth.models import UserRecord
from core.auth.passwords import (
    MAX_PASSWORD_BYTES,
    MIN_PASSWORD_LENGTH,
    check_password,
    generate_password,
    hash_password,
    password_problem,
)
from core.auth.permissions import (
    ALLOWED,
    OPERATOR,
    PAGE_ROLES,
    UNLISTED_PAGES,
    Action,
    PermissionDenied,
    User,
    can,
    menu_for,
    pages_for,
    require,
)
from core.auth.roles import Role
from core.auth.sessions import (
    Ticket,
    end_sessions,
    log_out,
    resume_session,
    session_user,
    start_session,
)
from core.auth.throttle import client_address
from core.auth.users import (
    AuthError,
    change_own_password,
    create_user,
    ensure_first_admin,
    get_user,
    has_users,
    list_users,
    reset_password,
    set_disabled,
    set_own_time_zone,
    set_role,
    unlock_user,
)

__all__ = [
    "ALLOWED",
    "MAX_PASSWORD_BYTES",
    "MIN_PASSWORD_LENGTH",
    "OPERATOR",
    "PAGE_ROLES",
    "Action",
    "AuthError",
    "PermissionDenied",
    "Role",
    "SignIn",
    "Ticket",
    "User",
    "UserRecord",
    "authenticate",
    "can",
    "change_own_password",
    "check_password",
    "client_address",
    "cookie_key",
    "create_user",
    "end_sessions",
    "ensure_first_admin",
    "forget_stored_cookie_key",
    "generate_password",
    "get_user",
    "has_users",
    "hash_password",
    "list_users",
    "log_out",
    "UNLISTED_PAGES",
    "menu_for",
    "pages_for",
    "password_problem",
    "require",
    "reset_password",
    "resume_session",
    "session_user",
    "set_disabled",
    "set_own_time_zone",
    "set_role",
    "sign_in",
    "start_session",
    "unlock_user",
]
