"""Voice Screening Console core: everything except the UI and the HTTP views."""
