"""Passwords: the length rule, bcrypt hashing and checking, generated passwords."""

from __future__ import annotations

import secrets

import bcrypt

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """bcrypt hash of a password (the only form in which a password is stored)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def check_password(password: str, hashed: str) -> bool:
    """True if the password matches the bcrypt hash."""
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


def generate_password() -> str:
    """A random password that is easy to type (letters and digits, 16 characters)."""
    return secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
