"""Real WAV audio for the sandbox: espeak-ng speech when installed, else synthesised tones."""

from __future__ import annotations

import functools
import io
import math
import shutil
import struct
import subprocess  # runs espeak-ng with fixed arguments  # nosec B404
import tempfile
import wave
from pathlib import Path

_RATE = 22050  # espeak-ng's native rate; tones use it too so clips can be joined
_ESPEAK = shutil.which("espeak-ng") or (
    "/usr/bin/espeak-ng" if Path("/usr/bin/espeak-ng").exists() else None
)


def _frames_of(wav_bytes: bytes) -> bytes:
    with wave.open(io.BytesIO(wav_bytes)) as w:
        return w.readframes(w.getnframes())


def _to_wav(frames: bytes) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(_RATE)
        w.writeframes(frames)
    return buf.getvalue()


def _silence(seconds: float) -> bytes:
    return b"\x00\x00" * int(_RATE * seconds)


def _tones(text: str, pitch: float) -> bytes:
    """A short melody standing in for speech: one soft beep per word."""
    frames = bytearray()
    for i, word in enumerate(text.split()[:60]):
        freq = pitch * (1 + 0.12 * ((len(word) + i) % 5))
        n = int(_RATE * 0.18)
        for k in range(n):
            envelope = math.sin(math.pi * k / n)
            sample = int(8000 * envelope * math.sin(2 * math.pi * freq * k / _RATE))
            frames += struct.pack("<h", sample)
        frames += _silence(0.06)
    return bytes(frames)


@functools.lru_cache(maxsize=256)
def speech_frames(text: str, voice: str = "en-us", pitch: int = 50) -> bytes:
    """Mono 16-bit 22.05 kHz PCM of `text` spoken (or beeped when espeak-ng is missing)."""
    if _ESPEAK:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "speech.wav"
            try:
                # Text goes through stdin so nothing a prompt contains becomes an argument.
                subprocess.run(  # no shell, fixed program  # nosec B603
                    [_ESPEAK, "-v", voice, "-p", str(pitch), "-s", "165", "-w", str(out),
                     "--stdin"],
                    input=text.encode("utf-8"), check=True, timeout=30,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
                with wave.open(str(out)) as w:
                    if w.getframerate() == _RATE and w.getsampwidth() == 2:
                        return w.readframes(w.getnframes())
            except (subprocess.SubprocessError, OSError, wave.Error):
                pass
    return _tones(text, 220.0 + pitch * 2)


def speech_wav(text: str, voice: str = "en-us", pitch: int = 50) -> bytes:
    """A complete WAV file of `text` spoken."""
    return _to_wav(speech_frames(text, voice, pitch))


def conversation_wav(lines: list[tuple[str, str]]) -> bytes:
    """A WAV of a dialogue: agent lines in one voice, candidate lines in another."""
    frames = bytearray(_silence(0.3))
    for role, text in lines:
        agent = role == "agent"
        frames += speech_frames(text, "en-us" if agent else "en-gb", 45 if agent else 70)
        frames += _silence(0.4)
    return _to_wav(bytes(frames))


def wav_duration(wav_bytes: bytes) -> float:
    """Length of a WAV file in seconds."""
    with wave.open(io.BytesIO(wav_bytes)) as w:
        return w.getnframes() / float(w.getframerate())
