"""Password rules: bcrypt's 72-byte limit is a message, never a crash; the stand-in hash."""

from __future__ import annotations

import bcrypt

from core.auth import passwords

# 36 × "é" (2 bytes each) + "a": 37 characters, 73 bytes.
MULTIBYTE_73 = "é" * 36 + "a"


def test_a_73_byte_multibyte_password_gets_a_message():
    assert len(MULTIBYTE_73) == 37 and len(MULTIBYTE_73.encode()) == 73
    problem = passwords.password_problem(MULTIBYTE_73)
    assert problem and "72 bytes" in problem and "73" in problem


def test_72_bytes_is_accepted_and_short_passwords_are_not():
    assert passwords.password_problem("é" * 36) is None
    assert "at least" in passwords.password_problem("short")


def test_checking_a_password_over_72_bytes_is_false_not_an_exception():
    assert passwords.check_password(MULTIBYTE_73, passwords.hash_password("a-long-password-1")) is False


def test_the_stand_in_hash_costs_what_a_real_one_costs():
    real = passwords.hash_password("a-long-password-1")
    dummy = passwords.dummy_hash()
    # "$2b$12$...": same algorithm and cost factor, so checking either takes the same time.
    assert dummy.split("$")[1:3] == real.split("$")[1:3]
    assert bcrypt.checkpw(b"a-long-password-1", dummy.encode()) is False
    assert passwords.dummy_hash() is dummy  # made once per process
