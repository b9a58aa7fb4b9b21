"""Desktop voice: speaking never blocks the video loop; a more important cue interrupts a lesser one."""

from __future__ import annotations

import os
import stat
import time

import pytest

from formcheck.live.cues import Cue, CuePriority
from formcheck.live.voice import EspeakVoice, SilentVoice, find_espeak, make_voice


@pytest.fixture
def slow_speaker(tmp_path):
    """A stand-in speech program that takes 2 s to 'say' anything and logs what it was asked."""
    log = tmp_path / "said.txt"
    exe = tmp_path / "speak"
    exe.write_text(f'#!/bin/sh\nfor a; do last="$a"; done\necho "$last" >> {log}\nsleep 2\n')
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe), log


def test_speaking_does_not_block_and_priority_interrupts(slow_speaker):
    exe, log = slow_speaker
    voice = EspeakVoice(exe)
    tic = time.perf_counter()
    voice.say(Cue("Not so deep", CuePriority.HARMFUL, "fault"))
    voice.say(Cue("4", CuePriority.COUNT, "count"))  # less important while busy: skipped
    assert time.perf_counter() - tic < 0.5  # the loop never waited for speech
    first = voice._proc
    time.sleep(0.5)  # the first cue is being spoken
    voice.say(Cue("Please stop", CuePriority.SAFETY, "safety"))  # more important: interrupts
    assert first is not None and first.wait(2) != 0  # the interrupted utterance was terminated
    voice.close()
    said = log.read_text().split("\n")
    assert said[:2] == ["Not so deep", "Please stop"]


def test_no_voice_is_silent_and_keeps_the_text():
    voice = make_voice(enabled=False)
    assert isinstance(voice, SilentVoice)
    voice.say(Cue("3", CuePriority.COUNT, "count"))
    voice.say(Cue("shown only", CuePriority.COUNT, "x", speak=False))
    assert voice.said == ["3"]


@pytest.mark.skipif(find_espeak() is None, reason="espeak-ng is not installed")
def test_real_espeak_without_sound_card_does_not_break_the_session():
    voice = make_voice(True)
    assert isinstance(voice, EspeakVoice) and os.path.basename(voice.executable).startswith("espeak")
    voice.say(Cue("three", CuePriority.COUNT, "count"))
    voice.close()
