"""Users, passwords and roles; every permission check of the app lives here.

`from core import auth; auth.X` is how the rest of the app uses it. The pieces: `roles` and
`permissions` (who may do what, pure), `passwords` (bcrypt), `models` (the stored user),
`store` (every query on `users`), `users` (the user service) and `login`.
"""

from __future__ import annotations

from core.auth.login import authenticate, cookie_key, credentials_for_login, forget_stored_cookie_key
from core.auth.models import UserRecord
from core.auth.passwords import MIN_PASSWORD_LENGTH, check_password, generate_password, hash_password
from core.auth.permissions import (
    ALLOWED,
    PAGE_ROLES,
    Action,
    PermissionDenied,
    User,
    can,
    pages_for,
    require,
)
from core.auth.roles import Role
from core.auth.users import (
    AuthError,
    create_user,
    ensure_first_admin,
    get_user,
    has_users,
    list_users,
    reset_password,
    set_disabled,
    set_role,
)

__all__ = [
    "ALLOWED",
    "MIN_PASSWORD_LENGTH",
    "PAGE_ROLES",
    "Action",
    "AuthError",
    "PermissionDenied",
    "Role",
    "User",
    "UserRecord",
    "authenticate",
    "can",
    "check_password",
    "cookie_key",
    "create_user",
    "credentials_for_login",
    "ensure_first_admin",
    "forget_stored_cookie_key",
    "generate_password",
    "get_user",
    "has_users",
    "hash_password",
    "list_users",
    "pages_for",
    "require",
    "reset_password",
    "set_disabled",
    "set_role",
]
