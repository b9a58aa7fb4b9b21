"""Spoken cues on the desktop: espeak-ng in a subprocess when it is installed, switchable off.

The browser speaks through the Web Speech API instead (see :mod:`formcheck.live.webrtc_page`).
Speaking never blocks the video loop: an utterance is started in the background and, if the previous
one is still being spoken, the new one replaces it unless it is less important.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from typing import Protocol

from formcheck.live.cues import Cue

log = logging.getLogger(__name__)


class Voice(Protocol):
    def say(self, cue: Cue) -> None: ...

    def close(self) -> None: ...


class SilentVoice:
    """No sound (``--no-voice``, or no speech engine installed). Keeps what would have been said."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def say(self, cue: Cue) -> None:
        if cue.speak:
            self.said.append(cue.text)

    def close(self) -> None:
        pass


class EspeakVoice:
    """espeak-ng (or espeak) in a subprocess; a more important cue interrupts a less important one."""

    def __init__(self, executable: str, rate_wpm: int = 160) -> None:
        self.executable = executable
        self.rate_wpm = rate_wpm
        self._proc: subprocess.Popen[bytes] | None = None
        self._priority = 0

    def say(self, cue: Cue) -> None:
        if not cue.speak:
            return
        busy = self._proc is not None and self._proc.poll() is None
        if busy:
            if cue.priority < self._priority:
                return  # a more important cue is still being said
            assert self._proc is not None
            self._proc.terminate()
        try:
            self._proc = subprocess.Popen([self.executable, "-s", str(self.rate_wpm), "--", cue.text],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._priority = int(cue.priority)
        except OSError as exc:
            log.warning("speech failed (%s); continuing without voice", exc)
            self._proc = None

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._proc.terminate()


def find_espeak() -> str | None:
    return shutil.which("espeak-ng") or shutil.which("espeak")


def make_voice(enabled: bool = True) -> Voice:
    """espeak-ng when enabled and installed, else silent (logged once)."""
    if not enabled:
        return SilentVoice()
    exe = find_espeak()
    if exe is None:
        log.warning("no speech engine found (install espeak-ng for spoken cues); cues are shown only")
        return SilentVoice()
    return EspeakVoice(exe)
