"""Structured screening: the agent's tools (recordAnswer, opt-out, a person, a callback)."""
