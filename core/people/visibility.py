"""What each role sees of a candidate: one rule for every page, export and the ops CLI.

Admins and recruiters see everything; a viewer sees the name, a masked phone number and no
email or notes. The ops CLI acts as an operator with admin visibility (`core.cli.registry`).
"""

from __future__ import annotations

from dataclasses import replace

from core import crypto
from core.auth import Role, User
from core.people.models import CandidateProfile

# Roles that see a candidate's full phone number, email and notes.
FULL_VIEW_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.RECRUITER})


def sees_personal_data(user: User | None) -> bool:
    """True when the user may see candidates' full phone numbers, emails and notes."""
    return user is not None and not user.disabled and user.role in FULL_VIEW_ROLES


def phone_for(user: User | None, phone: str | None) -> str:
    """A phone number as the user may see it (masked for a viewer)."""
    return (phone or "") if sees_personal_data(user) else crypto.mask_phone(phone)


def visible(profile: CandidateProfile, user: User | None) -> CandidateProfile:
    """The candidate as the user may see it: unchanged, or masked phone, no email, no notes."""
    if sees_personal_data(user):
        return profile
    return replace(profile, phone=crypto.mask_phone(profile.phone), email="", notes="", redacted=True)


def visible_all(profiles: list[CandidateProfile], user: User | None) -> list[CandidateProfile]:
    """`visible` for a list."""
    return [visible(p, user) for p in profiles]
