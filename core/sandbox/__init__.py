"""Local stand-in for Ultravox and Twilio: same paths and shapes, simulated calls, signed webhooks."""

from core.sandbox.server import SandboxHandle, config_from_settings, start_sandbox
from core.sandbox.state import SandboxConfig

__all__ = ["SandboxConfig", "SandboxHandle", "config_from_settings", "start_sandbox"]
