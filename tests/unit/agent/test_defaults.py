"""The shipped default prompt, read from its resource file, and the readable change lines."""

from __future__ import annotations

import hashlib
from importlib import resources

from core.agent import defaults as agent_defaults
from core.agent import effective as agent_effective

# The prompt as it was when it moved from a Python literal to `default_prompt.md`.
_PROMPT_SHA256 = "6e6654e9aef4a4a4578e34bee344a4eb8b36eb2aa1a48665ad15b9e870ec9ad0"


def test_default_prompt_is_the_resource_file_byte_for_byte() -> None:
    prompt = agent_defaults.DEFAULT_SYSTEM_PROMPT
    assert hashlib.sha256(prompt.encode("utf-8")).hexdigest() == _PROMPT_SHA256
    assert len(prompt) == 4297 and prompt.endswith("keep it moving.\n")
    raw = resources.files("core.agent").joinpath("default_prompt.md").read_bytes()
    assert raw.decode("utf-8") == prompt  # no newline translation on the way in
    # The config model strips surrounding whitespace, as it does for every text setting.
    assert agent_defaults.default_global_config().system_prompt == prompt.strip()


def test_change_lines_label_and_describe_each_change_in_order() -> None:
    lines = agent_effective.change_lines({
        "temperature": {"old": 0.3, "new": 0.7},
        "recording_enabled": {"old": True, "new": False},
        "voice": {"old": None, "new": "Jessica"},
        "not_a_setting": {"old": 1},
    })
    assert [(ln.setting, ln.before, ln.after) for ln in lines] == [
        ("Temperature", "0.3", "0.7"),
        ("Recording", "on", "off"),
        ("Voice", "—", "Jessica"),
        ("not_a_setting", "1", "—"),
    ]
