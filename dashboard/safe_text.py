"""Untrusted text made inert wherever Streamlit would read it as Markdown.

Candidate names, notes and emails come from CSV files and forms; job titles, usernames and
reasons are typed by people; transcripts and summaries are what a caller said. Streamlit reads
Markdown not only in `st.markdown` but in titles, captions, alerts, toasts, metric labels and
values, tab and expander labels and widget labels — where a link is clickable and an image is
fetched by the viewer's browser (a tracking pixel). Every such string goes through `md`.

`md` escapes every ASCII punctuation character, which CommonMark and GFM read as a literal:
no link, image, autolink (`https://…`, `www.…`, a bare `evil.com`, an email), emphasis,
heading, code span, HTML tag, entity, LaTeX (`$`) or Streamlit directive (`:red[…]`,
`:material/…:`) can form, and line breaks cannot start a block. Safe without it, as data:
`st.text`, `st.code`, dataframe cells and selectbox options.

Escaping is not enough for GFM's literal web autolinks (`http://…`, `www.…`): Streamlit's
Markdown finds those in the text after the escapes are read, so an invisible word joiner
(U+2060) goes between the scheme and its colon and between "www" and its dot — the text reads
the same and no link forms (a browser test in tests/security/ renders it). Email addresses
still become mailto links there; they are left whole so that they copy cleanly.

Pure and import-free on purpose: tested without Streamlit (tests/unit/dashboard/).
"""

from __future__ import annotations

import html
import re
from typing import Any

_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")
_JOINER = "\u2060"
# A scheme right before its colon, and "www" before its dot.
_AUTOLINK_SEAMS = re.compile(r"(?i)(?<=[a-z])(?=:)|(?<=\bwww)(?=\.)")


def md(text: Any) -> str:
    """Untrusted text made literal for a Markdown context (every punctuation mark escaped, one line)."""
    plain = _LINE_BREAKS.sub(" ", str(text if text is not None else "")).strip()
    return _PUNCT.sub(r"\\\1", _AUTOLINK_SEAMS.sub(_JOINER, plain))


def chart_label(text: Any) -> str:
    """Untrusted text made literal for a Plotly label (Plotly reads a few HTML tags and entities)."""
    return html.escape(str(text if text is not None else ""), quote=False)
