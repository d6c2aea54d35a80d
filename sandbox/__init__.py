"""Local stand-in for Ultravox and Twilio: same paths and shapes, simulated calls, signed webhooks."""

from sandbox.server import SandboxHandle, config_from_env, start_sandbox
from sandbox.state import SandboxConfig

__all__ = ["SandboxConfig", "SandboxHandle", "config_from_env", "start_sandbox"]
