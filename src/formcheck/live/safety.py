"""Safety: pain ratings before/after, and the advice to stop and contact the clinician.

The clinical rule is simple: "If any exercise worsens the pain or causes new pain, stop." formcheck
advises stopping (it never decides for the patient) and records the advice when

* the pain reported during or after the session is worse than before it, or
* a harmful posture (a fault of severity ``harmful``) happens again after the patient was warned
  (``harmful_repeat`` occurrences of the same fault, counted as separate episodes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from formcheck.errors import FieldError, OptionsError
from formcheck.exercises.tracker import HARMFUL_REPEAT

STOP_ADVICE = ("Please stop this exercise. {why} If the pain does not settle, contact your clinician "
               "before exercising again.")


def check_pain(value: Any, field_name: str = "pain") -> int:
    """A 0–10 pain rating as an int, or a :class:`FieldError` naming the field."""
    if isinstance(value, bool):
        raise FieldError(field_name, "an integer from 0 (no pain) to 10 (worst imaginable)", value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise FieldError(field_name, "an integer from 0 (no pain) to 10 (worst imaginable)", value) from None
    if not (0 <= v <= 10) or v != int(v):
        raise FieldError(field_name, "an integer from 0 (no pain) to 10 (worst imaginable)", value)
    return int(v)


@dataclass(frozen=True)
class SafetyAdvice:
    reason: str  # "pain_worse" | "harmful_repeated"
    message: str
    t: float
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"reason": self.reason, "message": self.message, "t": self.t, **self.detail}


@dataclass(frozen=True)
class SafetyOptions:
    harmful_repeat: int = HARMFUL_REPEAT  # advise stopping when the same harmful fault happens this many times

    def __post_init__(self) -> None:
        if not (isinstance(self.harmful_repeat, int) and self.harmful_repeat >= 1):
            raise OptionsError("harmful_repeat", "an integer >= 1", self.harmful_repeat)


class SafetyMonitor:
    """Watches pain ratings and harmful faults; ``update`` returns new advice (at most once per reason)."""

    def __init__(self, options: SafetyOptions | None = None) -> None:
        self.options = options or SafetyOptions()
        self.reset()

    def reset(self) -> None:
        self.pain_before: int | None = None
        self.pain_during: list[tuple[float, int]] = []
        self.pain_after: int | None = None
        self.advice: list[SafetyAdvice] = []
        self._harmful_counts: dict[str, int] = {}

    # -- pain ---------------------------------------------------------------------------------------
    def set_pain_before(self, value: Any) -> None:
        self.pain_before = check_pain(value, "pain_before")

    def report_pain(self, value: Any, t: float) -> SafetyAdvice | None:
        """Pain reported during the session; advice if it is worse than before."""
        v = check_pain(value, "pain")
        self.pain_during.append((t, v))
        return self._pain_check(v, t, "during the exercise")

    def set_pain_after(self, value: Any, t: float) -> SafetyAdvice | None:
        self.pain_after = check_pain(value, "pain_after")
        return self._pain_check(self.pain_after, t, "after the exercise")

    def _pain_check(self, v: int, t: float, when: str) -> SafetyAdvice | None:
        if self.pain_before is None or v <= self.pain_before:
            return None
        why = f"Your pain {when} ({v}/10) is worse than before you started ({self.pain_before}/10)."
        return self._advise("pain_worse", why, t, {"pain_before": self.pain_before, "pain_now": v}, once=False)

    # -- harmful postures ---------------------------------------------------------------------------
    def on_harmful(self, fault_id: str, message: str, t: float) -> SafetyAdvice | None:
        """A harmful fault episode started; advice when it repeats ``harmful_repeat`` times."""
        n = self._harmful_counts.get(fault_id, 0) + 1
        self._harmful_counts[fault_id] = n
        if n < self.options.harmful_repeat:
            return None
        why = f"A posture that can hurt your back happened {n} times ({message or fault_id})."
        return self._advise("harmful_repeated", why, t, {"fault": fault_id, "count": n}, once=True)

    def _advise(self, reason: str, why: str, t: float, detail: dict, once: bool) -> SafetyAdvice | None:
        if once and any(a.reason == reason and a.detail.get("fault") == detail.get("fault") for a in self.advice):
            return None
        adv = SafetyAdvice(reason, STOP_ADVICE.format(why=why), t, detail)
        self.advice.append(adv)
        return adv

    @property
    def advised_stop(self) -> bool:
        return bool(self.advice)

    def to_dict(self) -> dict:
        return {
            "pain_before": self.pain_before,
            "pain_during": [{"t": t, "pain": v} for t, v in self.pain_during],
            "pain_after": self.pain_after,
            "advice": [a.to_dict() for a in self.advice],
        }
