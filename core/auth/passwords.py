"""Passwords: the length rules, bcrypt hashing and checking, generated passwords."""

from __future__ import annotations

import functools
import secrets

import bcrypt

MIN_PASSWORD_LENGTH = 10
# bcrypt only reads the first 72 bytes of a password (bcrypt 5 refuses longer ones outright);
# a longer password gets a message instead of being cut short silently.
MAX_PASSWORD_BYTES = 72


def password_problem(password: str) -> str | None:
    """Why a new password cannot be used, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters."
    size = len(password.encode())
    if size > MAX_PASSWORD_BYTES:
        return (
            f"Password is too long: at most {MAX_PASSWORD_BYTES} bytes, this one has {size} "
            "(accented letters and other non-ASCII characters take 2–4 bytes each)."
        )
    return None


def hash_password(password: str) -> str:
    """bcrypt hash of a password (the only form in which a password is stored)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def check_password(password: str, hashed: str) -> bool:
    """True if the password matches the bcrypt hash."""
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        # A malformed hash, or a password over bcrypt's 72 bytes: neither can match.
        return False


@functools.cache
def dummy_hash() -> str:
    """A bcrypt hash of a random password, checked when the username is unknown.

    Checking it costs what checking a real user's password costs (same bcrypt cost factor),
    so the answer's timing does not tell whether the username exists.
    """
    return hash_password(secrets.token_urlsafe(32))


def generate_password() -> str:
    """A random password that is easy to type (letters and digits, 16 characters)."""
    return secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
