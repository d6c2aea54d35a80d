"""Candidates' data on request: erasure (core.privacy.erasure, provider_deletions) and the access export."""
