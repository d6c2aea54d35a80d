"""One rule decides what each role sees of a candidate."""

from __future__ import annotations

from core.auth import Role, User
from core.cli.registry import OPERATOR
from core.people.models import CandidateProfile
from core.people.visibility import phone_for, sees_personal_data, visible

_ANN = CandidateProfile(id="c1", name="Ann Lee", phone="+14155550123", email="ann@example.com",
                        timezone="", consent=True, do_not_call=False, job_ids=["j1"], notes="met at fair")


def _user(role: Role, disabled: bool = False) -> User:
    return User(username=role.value, name=role.value, role=role, disabled=disabled)


def test_admins_and_recruiters_see_everything() -> None:
    for role in (Role.ADMIN, Role.RECRUITER):
        assert visible(_ANN, _user(role)) == _ANN and sees_personal_data(_user(role))


def test_a_viewer_sees_a_masked_phone_no_email_no_notes() -> None:
    seen = visible(_ANN, _user(Role.VIEWER))
    assert (seen.name, seen.phone, seen.email, seen.notes, seen.redacted) == (
        "Ann Lee", "+1…0123", "", "", True)
    assert phone_for(_user(Role.VIEWER), _ANN.phone) == "+1…0123"


def test_nobody_else_sees_anything_personal() -> None:
    for who in (None, _user(Role.ADMIN, disabled=True)):
        assert visible(_ANN, who).redacted and phone_for(who, _ANN.phone) == "+1…0123"


def test_the_ops_cli_acts_with_admin_visibility() -> None:
    assert OPERATOR.role is Role.ADMIN and visible(_ANN, OPERATOR) == _ANN
