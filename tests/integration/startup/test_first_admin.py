"""`make run`'s first admin: a generated password is shown once on a terminal, never written to
a redirected output or a log."""

from __future__ import annotations

import io
import logging

import pytest

from core import auth
from core.config import get_settings
from tools import stack


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def redirected(monkeypatch, tmp_path) -> io.StringIO:
    """stdout is a file (e.g. `make run > run.log`) and there is no controlling terminal."""
    out = io.StringIO()
    monkeypatch.setattr(stack.sys, "stdout", out)
    monkeypatch.setattr(stack, "TTY", str(tmp_path / "no-terminal" / "tty"))  # opening fails
    return out


def test_no_terminal_means_no_generated_password_and_a_way_forward(db, redirected, caplog):
    caplog.set_level(logging.DEBUG)
    username, shown, problem = stack.first_admin(db, get_settings())
    assert username is None and shown is None
    assert "ADMIN_PASSWORD" in problem and "create-user" in problem
    assert not auth.has_users(db)
    assert redirected.getvalue() == ""


def test_with_stdout_redirected_the_password_goes_to_the_terminal_only(db, redirected, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    tty = _Terminal()
    tty.close = lambda: None  # keep it readable after first_admin closes it
    monkeypatch.setattr(stack, "open_terminal", lambda: tty)
    username, shown, problem = stack.first_admin(db, get_settings())
    assert (username, shown, problem) == ("admin", None, None)  # nothing left to print to stdout
    password = tty.getvalue().split("admin / ")[1].split()[0]
    assert auth.authenticate(db, "admin", password)
    assert password not in redirected.getvalue() and password not in caplog.text


def test_on_a_terminal_the_password_is_returned_to_be_printed_once(db, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(stack.sys, "stdout", _Terminal())
    username, shown, problem = stack.first_admin(db, get_settings())
    assert username == "admin" and shown and problem is None
    assert shown not in caplog.text
    assert stack.first_admin(db, get_settings()) == ("admin", None, None)  # once


def test_a_given_admin_password_needs_no_terminal(db, redirected, monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "a-long-given-password")
    get_settings.cache_clear()
    assert stack.first_admin(db, get_settings()) == ("admin", None, None)
    assert auth.authenticate(db, "admin", "a-long-given-password")
