"""Coaching cues: a rate-limited, priority-ordered queue so the patient hears what matters, once.

Every frame the session may *raise* cues (a rep was counted, a fault is present, the body left the
frame...). The scheduler decides what is actually said or shown:

* one cue at a time, at most one every ``min_gap_s`` (no spam), safety cues excepted;
* the most important pending cue first (:class:`CuePriority`);
* the same cue (same ``key``) not again within its ``cooldown_s`` (a fault held for ten seconds is
  said once, not thirty times);
* a cue that waited longer than its ``max_age_s`` is dropped (a rep count said late is confusing);
* a newer cue with the same key replaces the pending one ("5" supersedes "4").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from formcheck.errors import OptionsError


class CuePriority(IntEnum):
    ENCOURAGE = 10
    COUNT = 20
    COACH = 25  # the spec's coaching cues ("keep breathing")
    HOLD = 30
    SETUP = 40
    FAULT = 50
    HARMFUL = 60
    SAFETY = 100


@dataclass(frozen=True)
class Cue:
    text: str
    priority: CuePriority
    key: str  # identity for de-duplication, e.g. "fault:too_deep", "count", "setup:feet"
    t: float = 0.0  # when it was raised (seconds, session clock)
    cooldown_s: float = 6.0  # the same key is not spoken again within this time
    max_age_s: float = 2.5  # dropped if not spoken within this time
    speak: bool = True  # False: show only

    def to_dict(self) -> dict:
        return {"text": self.text, "priority": self.priority.name.lower(), "key": self.key, "t": self.t}


@dataclass(frozen=True)
class CueOptions:
    min_gap_s: float = 0.9  # between two spoken cues (a hold countdown needs one a second)
    display_s: float = 3.0  # how long the current cue stays on screen

    def __post_init__(self) -> None:
        for name in ("min_gap_s", "display_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v >= 0):
                raise OptionsError(name, "a number >= 0 (seconds)", v)


@dataclass
class CueScheduler:
    """Turns the cues raised each frame into at most one cue to deliver now."""

    options: CueOptions = field(default_factory=CueOptions)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._pending: dict[str, Cue] = {}
        self._last_said: dict[str, float] = {}
        self._last_any = float("-inf")
        self.current: Cue | None = None  # shown on screen
        self.delivered: list[Cue] = []
        self.suppressed = 0

    def update(self, cues: Iterable[Cue], t: float) -> list[Cue]:
        """Queue ``cues`` raised at time ``t``; returns the cue to deliver now (zero or one)."""
        for cue in cues:
            last = self._last_said.get(cue.key)
            if last is not None and t - last < cue.cooldown_s:
                self.suppressed += 1
                continue
            old = self._pending.get(cue.key)
            if old is not None:
                self.suppressed += 1
            self._pending[cue.key] = cue
        # drop stale cues
        for key, cue in list(self._pending.items()):
            if t - cue.t > cue.max_age_s:
                del self._pending[key]
                self.suppressed += 1
        if self.current is not None and t - self.current.t > self.options.display_s:
            self.current = None
        if not self._pending:
            return []
        best = max(self._pending.values(), key=lambda c: (c.priority, c.t))
        if best.priority < CuePriority.SAFETY and t - self._last_any < self.options.min_gap_s:
            return []
        del self._pending[best.key]
        self._last_said[best.key] = t
        self._last_any = t
        said = Cue(best.text, best.priority, best.key, t, best.cooldown_s, best.max_age_s, best.speak)
        self.current = said
        self.delivered.append(said)
        return [said]

    @property
    def pending(self) -> list[Cue]:
        return sorted(self._pending.values(), key=lambda c: (-c.priority, c.t))
