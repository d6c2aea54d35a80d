"""Ask before the browser tab is closed or reloaded while a settings draft is unsaved.

Moving between pages keeps a draft in the session (see config_fields), but closing the tab or
reloading it loses the session. The browser's own "Leave site?" question is the only warning a
page can give then; Streamlit has no hook for it, so a zero-height component sets a flag on
the app's window and has that window install one listener of its own.
"""

from __future__ import annotations

import streamlit.components.v1 as components

from dashboard.components.config_fields import unsaved_drafts

_SCRIPT = """<script>
const app = window.parent;
app.__vscUnsavedDraft = %s;
// Evaluated by the app's window so that the listener belongs to it: a listener added from this
// frame stops working once Streamlit replaces the frame.
app.eval(`if (!window.__vscDraftGuard) {
  window.__vscDraftGuard = function (event) {
    if (window.__vscUnsavedDraft) { event.preventDefault(); event.returnValue = ""; }
  };
  window.addEventListener("beforeunload", window.__vscDraftGuard);
}`);
</script>"""


def guard() -> None:
    """Arm the question while any draft is unsaved, disarm it when none is (after a page ran)."""
    components.html(_SCRIPT % ("true" if unsaved_drafts() else "false"), height=0)
