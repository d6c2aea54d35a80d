"""The Twilio side of a call: joinTimeout and the exact TwiML (pure logic, no I/O)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from core.providers.telephony import build_twiml, join_timeout_for


def test_join_timeout_covers_ring_time_and_queueing() -> None:
    assert join_timeout_for(45) == "90s"
    seconds = int(join_timeout_for(20).rstrip("s"))
    assert seconds >= 20 + 5 + 15  # ring + Twilio's extra ~5 s + queue/AMD slack


def test_twiml_is_exactly_connect_stream_and_escapes_the_url() -> None:
    url = "wss://voice.example/calls/abc/telephony?a=1&b=2"
    twiml = build_twiml(url)
    assert twiml == (
        '<Response><Connect><Stream url="wss://voice.example/calls/abc/telephony?a=1&amp;b=2"/>'
        "</Connect></Response>"
    )
    root = ET.fromstring(twiml)
    assert [child.tag for child in root] == ["Connect"]  # nothing after </Connect>
    assert root.find("./Connect/Stream").get("url") == url
