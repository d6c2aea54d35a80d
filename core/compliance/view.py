"""A call's compliance record in words, as the call page and the compliance CSV show it: the same
labels and the same values in both, times in the reader's zone with the candidate's clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core import labels
from core.documents.call import Call, ComplianceRecord, DisclosureCheck, RecordingConsent
from core.people.places import place_label
from core.timezones import place_name, readable, valid_zone

NOT_RECORDED = "not recorded"
# The facts in order: the call page's rows and the CSV's columns after who and when.
FIELDS: tuple[str, ...] = (
    "Candidate's local time", "Time zone", "Zone from", "Window", "Released by", "Consent",
    "Consent captured", "Place", "All-party consent", "Recording", "Recording consent", "Disclosure said",
    "Disclosure at", "Opt-out at", "Human requested at", "Callback requested", "Voicemail", "Attempt",
    "Retry policy",
)


@dataclass(frozen=True)
class ComplianceSource:
    """What a call stored for its compliance record (read off the call document)."""

    record: ComplianceRecord | None
    disclosure: DisclosureCheck | None
    started_at: datetime | None
    transcript_status: str | None = None
    opt_out: bool = False
    human_requested: bool = False
    callback: bool = False
    voicemail_left: bool = False
    test_call: bool = False
    recording_consent: RecordingConsent | None = None

    @classmethod
    def of(cls, call: Call) -> ComplianceSource:
        """The compliance parts of a stored call."""
        return cls(record=call.compliance, disclosure=call.disclosure, started_at=call.started_at,
                   transcript_status=call.transcript_status, opt_out=call.opt_out,
                   human_requested=bool(call.human_requested), callback=bool(call.callback),
                   voicemail_left=bool(call.voicemail_left), test_call=call.test_call,
                   recording_consent=call.recording_consent)


@dataclass(frozen=True)
class ComplianceView:
    """The record in words: `facts` (label, value) in FIELDS order and the warning, if any."""

    recorded: bool
    facts: list[tuple[str, str]] = field(default_factory=list)
    flag: str | None = None

    def value(self, label: str) -> str:
        """One fact's words ("" when the label is not one of them)."""
        return next((v for k, v in self.facts if k == label), "")


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d} into the call"


def _local_time(record: ComplianceRecord) -> str:
    if not record.local_time:
        return "unknown (no time zone)"
    try:
        at = datetime.fromisoformat(record.local_time)
    except ValueError:
        return NOT_RECORDED
    zone = record.zones[0] if record.zones else ""
    where = f" ({place_name(zone)})" if valid_zone(zone) else ""
    return f"{at:%H:%M} on {at:%a} {at.day} {at:%b %Y}{where}"


def _zone_from(record: ComplianceRecord) -> str:
    words = labels.label(labels.Kind.ZONE_SOURCE, record.zone_source or "unknown")
    if len(record.zones) > 1:
        words += " (several zones: every one had to be inside the calling hours)"
    return words


def _released(record: ComplianceRecord) -> str:
    if record.released_by:
        return f"{record.released_by} released the held call"
    if record.scheduled_by:
        return f"{record.scheduled_by} scheduled it for the calling window"
    return "not held"


def _consent_captured(record: ComplianceRecord, zone: str) -> str:
    if not record.consent_source:
        return NOT_RECORDED
    source = record.consent_source
    withdrawn = source.startswith("withdrawn (")
    how = labels.label(labels.Kind.CONSENT_SOURCE, source[len("withdrawn ("):-1] if withdrawn else source)
    words = ("withdrawn, " if withdrawn else "") + how
    if record.consent_at:
        words += f", {readable(record.consent_at, zone)}"
    return words + (f", by {record.consent_by}" if record.consent_by else "")


def _place(record: ComplianceRecord) -> str:
    if not record.place:
        return "unknown"
    return place_label(record.place) + (" (from the number)" if record.place_source == "number" else "")


def _all_party(record: ComplianceRecord) -> str:
    if record.all_party_consent is None:
        return "unknown place: treated as required"
    return "required" if record.all_party_consent else "not required"


def _retry_policy(record: ComplianceRecord) -> str:
    if not record.max_attempts:
        return NOT_RECORDED
    words = f"up to {record.max_attempts} attempt{'s' if record.max_attempts != 1 else ''}"
    if record.spacing_minutes:
        words += f", {record.spacing_minutes} minutes apart"
    if record.retry_after_voicemail is not None:
        words += ", retried after voicemail" if record.retry_after_voicemail else ", not after voicemail"
    return words


def _recording_consent(src: ComplianceSource) -> str:
    consent = src.recording_consent
    if consent is None:
        return NOT_RECORDED
    return labels.label(labels.Kind.RECORDING_CONSENT, consent.outcome)


def _disclosure(src: ComplianceSource) -> tuple[str, str, str | None]:
    """(Disclosure said, Disclosure at, the warning)."""
    check = src.disclosure
    if check is None:
        if src.transcript_status in ("unavailable", "purged"):
            return "no transcript was checked", "", None
        return "not checked yet (after the transcript arrives)", "", None
    if check.found is None:
        silent = "the agent did not speak on this call"
        return (silent if check.phrases else "no key phrases were set"), "", None
    if check.found:
        return "yes: " + ", ".join(f"“{p}”" for p in check.phrases), _clock(check.at_seconds), None
    missing = ", ".join(check.missing)
    return (f"no: missing {', '.join(f'“{p}”' for p in check.missing)}", "",
            f"The agent's first two turns did not contain: {missing}")


def _moment(src: ComplianceSource, key: str, happened: bool) -> str:
    at = (src.disclosure.moments if src.disclosure else {}).get(key)
    if at is not None:
        return _clock(at)
    return "yes (second not known)" if happened else "no"


def compliance_view(src: ComplianceSource, zone: str) -> ComplianceView:
    """The record in words for a reader in `zone`; a call dialled before records existed says
    "not recorded" in every field."""
    record = src.record
    if record is None:
        return ComplianceView(recorded=False, facts=[(f, NOT_RECORDED) for f in FIELDS])
    said, said_at, flag = _disclosure(src)
    voicemail = _moment(src, "voicemail", src.voicemail_left)
    values = {
        "Candidate's local time": _local_time(record),
        "Time zone": record.zone or "unknown",
        "Zone from": _zone_from(record),
        "Window": record.window or NOT_RECORDED,
        "Released by": _released(record),
        "Consent": ("a team member's own number (test call)" if src.test_call
                    else "given" if record.consent else "not given"),
        "Consent captured": _consent_captured(record, zone),
        "Place": _place(record),
        "All-party consent": _all_party(record),
        "Recording": NOT_RECORDED if record.recording is None else "on" if record.recording else "off",
        "Recording consent": _recording_consent(src),
        "Disclosure said": said,
        "Disclosure at": said_at,
        "Opt-out at": _moment(src, "opt_out", src.opt_out),
        "Human requested at": _moment(src, "human", src.human_requested),
        "Callback requested": _moment(src, "callback", src.callback),
        "Voicemail": ("none" if voicemail == "no" else "left" if voicemail.startswith("yes")
                      else f"left, {voicemail}"),
        "Attempt": (f"{record.attempt} of {record.max_attempts}" if record.attempt and record.max_attempts
                    else str(record.attempt or NOT_RECORDED)),
        "Retry policy": _retry_policy(record),
    }
    return ComplianceView(recorded=True, facts=[(f, values[f]) for f in FIELDS], flag=flag)
