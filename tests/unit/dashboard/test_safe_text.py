"""The one safe-text helper: hostile candidate text stays literal in every Markdown context."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from dashboard.safe_text import chart_label, md

# What a CSV row or a form can carry: each would render as live markup without escaping.
HOSTILE = {
    "link": "Eve [click me](https://evil.example/phish)",
    "image": "Eve ![pixel](http://127.0.0.1:9/pixel.png)",
    "html": 'Eve <img src="http://127.0.0.1:9/p.png"> <b>bold</b> <script>x()</script>',
    "bare domain": "Eve from evil.com and www.evil.com",
    "url": "Eve https://evil.example/x",
    "email": "eve@evil.com",
    "backticks": "Eve `code` ```block```",
    "heading": "# Eve\n## Heading\n---",
    "emphasis": "**Eve** _x_ ~~y~~",
    "directive": "Eve :red[alert] :material/warning: $x^2$",
    "entity": "Eve &lt;b&gt; &#x3C;",
    "autolink": "<https://evil.example>",
    "reference": "[x]: https://evil.example\n[x]",
}
# Rendered HTML that must never appear: a link, an image, code, a heading, raw HTML.
_LIVE = re.compile(r"<(a|img|code|h[1-6]|b|script|pre|hr|del|em|strong)[\s>]")
_COMMONMARK = MarkdownIt("commonmark", {"html": True}).enable("strikethrough")


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_text_renders_as_plain_text(name: str) -> None:
    escaped = md(HOSTILE[name])
    html = _COMMONMARK.render(escaped)
    assert not _LIVE.search(html), html
    # Autolink literals (GFM, linkify), Streamlit directives and LaTeX all need an unescaped
    # punctuation mark: none is left once the escaped pairs are taken out.
    assert not re.search(r"[!-/:-@\[-`{-~]", re.sub(r"\\.", "", escaped)), escaped
    assert "\n" not in escaped


def test_plain_names_stay_readable() -> None:
    assert md("Alex Morgan") == "Alex Morgan"
    assert _COMMONMARK.render(md("Seán O'Brien-Smith (née Ó Briain)")).strip() == (
        "<p>Seán O'Brien-Smith (née Ó Briain)</p>")
    assert md(None) == "" and md(42) == "42"


def test_chart_labels_carry_no_html() -> None:
    assert chart_label('<a href="http://evil">x</a> & co') == (
        '&lt;a href="http://evil"&gt;x&lt;/a&gt; &amp; co')


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil.example/x")', "see HTTPS://evil.example",
                                  "WWW.evil.example", "ftp://x.example"])
def test_web_addresses_cannot_become_literal_autolinks(text: str) -> None:
    # GFM's literal autolinks are found in the text after escapes are read (Streamlit's renderer
    # does so: tests/security/test_hostile_csv.py), so the escaped text alone must not hold one.
    unescaped = re.sub(r"\\(.)", r"\1", md(text))
    assert not re.search(r"(?i)(https?|ftp)://|\bwww\.", unescaped)
    assert unescaped.replace("\u2060", "") == text  # reads the same
