"""Declarative exercise specs: the pydantic schema, the safe YAML loader and per-patient overrides.

A spec (``exercises/specs/<id>.yaml``) says what the exercise is, how the camera must see it, what
a repetition is (two phases with hysteresis and a minimum dwell), the target, the posture-gated
hold, the prescription, the faults (harmful postures) and the coaching cues. See
``exercises/README.md`` for the format; the JSON Schema generated from these models is published as
``formcheck/exercises/spec.schema.json`` (``python -m formcheck.exercises.spec`` regenerates it).
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from formcheck.errors import InputError, SpecError
from formcheck.exercises.conditions import Condition, resolve
from formcheck.measures import is_known_measure

SCHEMA_PATH = Path(__file__).with_name("spec.schema.json")
SPEC_VERSION = "formcheck.spec/1"

Level = Literal["beginning", "intermediate", "advanced", "core"]
View = Literal["side", "front", "oblique"]
Sides = Literal["both", "left", "right", "alternating", "each_side"]
Severity = Literal["info", "warning", "harmful"]
Direction = Literal["increase", "decrease"]
SEVERITY_RANK = {"info": 0, "warning": 1, "harmful": 2}

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Camera(_Model):
    """Where the camera must be and how formcheck checks it."""

    views: list[View] = Field(min_length=1, description="Views the exercise can be checked from.")
    setup: str = Field(min_length=1, description="Camera placement instructions for the patient.")
    check: Condition | None = Field(None, description="Extra setup check (e.g. the patient is lying down).")
    space: Literal["image", "world", "auto"] = Field(
        "auto", description="Landmark space for the measures (auto: image in side view, world otherwise).")


class Phase(_Model):
    """A phase of the movement. The first phase is the rest position; the second (the movement) is
    entered when ``enter`` has held for ``min_dwell_s`` and left when ``exit`` has held as long.
    The gap between the two thresholds is the hysteresis that keeps jitter from counting twice."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    enter: Condition | None = None
    exit: Condition | None = None
    min_dwell_s: float = Field(0.15, ge=0, le=5, description="Time a condition must hold to switch phase.")


class Target(_Model):
    """The target of the rep on the rep measure: value ± tolerance."""

    value: float
    tolerance: float = Field(ge=0)
    open_ended: bool = Field(False, description="Going past the value is fine (stretches): the target band "
                                                "is open on the far side.")


class Rep(_Model):
    """What one repetition is."""

    measure: str = Field(description="The measure the rep is counted on (peak, range of motion).")
    direction: Direction = Field(description="Whether the measure rises (increase) or falls during the rep.")
    target: Target | None = Field(None, description="Peak the rep must reach to be complete.")
    min_duration_s: float = Field(0.0, ge=0, description="Shorter movements are incomplete reps.")


class Pacing(_Model):
    """App-paced holds, for an effort a camera cannot see (an abdominal contraction): the app says when
    to start and when to relax; the camera checks the position and that it is held still."""

    relax_s: float = Field(gt=0, le=60, description="Relax this long, still in position, between paced holds.")
    start_cue: str = Field(min_length=1, description="Said when a paced hold starts (e.g. 'Tighten... hold').")
    relax_cue: str = Field(min_length=1, description="Said when a paced hold is done or broken ('Relax').")


class HoldSpec(_Model):
    """Posture gating of the hold (its duration is ``prescription.hold_s``)."""

    in_target: bool = Field(True, description="The rep measure must be inside the target band.")
    posture: Condition | None = Field(None, description="Other posture requirements while holding.")
    break_: Condition | None = Field(None, alias="break", description="A real loss: ends the hold at once.")
    max_pause_s: float = Field(1.0, ge=0, description="A wobble out of posture longer than this breaks the hold.")
    ignore_lapse_s: float = Field(
        0.0, ge=0, le=1, description="A lapse out of posture shorter than this is landmark noise, not a wobble: "
                                     "the timer runs through it.")
    grace_s: float = Field(
        0.0, ge=0, le=1, description="The hold counts as achieved this long before the prescribed time (the "
                                     "timer's own uncertainty: a frame or two at each end).")
    max_rate: float | None = Field(
        None, gt=0, description="Held still: the timer runs only while the rep measure changes slower than "
                                "this (units per second), so the way into and out of the position is not timed.")
    settle_fraction: float | None = Field(
        None, gt=0, le=1,
        description="Arrived, not just slow: with max_rate, the timer runs only while the rep measure changes "
                    "slower than this fraction of the movement's own peak speed (the speed envelope of the rep "
                    "measure, frozen when the hold starts), never faster than max_rate and never slower than "
                    "min_rate. An eased movement creeps below a fixed max_rate well before it arrives and well "
                    "after it starts to leave; a fraction of its own speed marks the arrival and the departure.")
    min_rate: float = Field(
        2.0, gt=0, description="Floor of the settle_fraction limit (units per second): the rate noise of a "
                               "still measure.")
    despike: bool = Field(
        False, description="The still test (max_rate) reads the rep measure through a 3-frame median: a "
                           "one-frame landmark glitch neither pauses the timer nor delays its start (one frame "
                           "of delay at both ends of the hold).")
    pacing: Pacing | None = Field(
        None, description="The app paces the holds: each paced hold in a correct, still position is one rep "
                          "(it ends when the hold is done or broken), then the patient relaxes in position for "
                          "relax_s before the next one. For efforts a camera cannot see: the count follows the "
                          "app's pacing, the camera verifies only the position.")
    plateau_band: float | None = Field(
        None, gt=0, description="Left the position, not just moving: the hold ends at the last frame the rep "
                                "measure was within this band (its units) of the held value (a 0.5-s running "
                                "mean), so the slow start of the way back is not timed.")
    reject_jumps: float | None = Field(
        None, gt=0,
        description="Landmark glitches are unknown, not values: while a hold runs, a frame whose rep measure jumps "
                    "further than this (its units) from the previous frame and from the median of the last 5 "
                    "accepted values starts a glitch, which lasts while the value stays that far from the median. "
                    "Glitch frames are lost tracking for the hold's band and still tests (bridged, never a pause, "
                    "left out of the still rate). A glitch lasting ignore_lapse_s is a real movement: the hold is "
                    "out of posture from its first frame. A continuous movement never starts one.")

    @model_validator(mode="after")
    def _reject_needs_lapse(self) -> HoldSpec:
        if self.reject_jumps is not None and self.ignore_lapse_s <= 0:
            raise ValueError("hold.reject_jumps needs hold.ignore_lapse_s > 0 (the longest run of glitches "
                             f"bridged), got ignore_lapse_s={self.ignore_lapse_s}")
        return self


class Prescription(_Model):
    reps: int = Field(ge=1, description="Repetitions per set (per side when per_side).")
    sets: int = Field(1, ge=1)
    hold_s: float | None = Field(None, gt=0, description="Hold each repetition this long (posture-gated).")
    per_side: bool = Field(False, description="reps are per side.")
    set_break_s: float = Field(45.0, gt=0, description="A pause longer than this starts a new set.")


class FaultSpec(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    when: Condition
    clear: Condition | None = Field(None, description="Condition that clears the fault (default: not when).")
    min_duration_s: float = Field(0.2, ge=0, description="The condition must hold this long to raise.")
    clear_after_s: float = Field(0.2, ge=0, description="The clear condition must hold this long.")
    severity: Severity
    message: str = Field(min_length=1)
    phases: list[str] | None = Field(None, description="Checked only in these phases (default: all).")
    views: list[View] | None = Field(None, description="Checked only from these camera views (default: all).")


class CueSpec(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    message: str = Field(min_length=1)
    when: Condition | None = Field(None, description="Say it when this holds (default: always, in phases).")
    phases: list[str] | None = None
    during_hold: bool = Field(False, description="Only while a hold is running.")
    min_duration_s: float = Field(0.5, ge=0)
    every_s: float = Field(8.0, gt=0, description="Not repeated more often than this.")


class ViewSpec(_Model):
    """A spec specialised for one camera view (``by_view.<view>``): each field given replaces the whole
    field of the base spec when the exercise is seen from that view (:meth:`ExerciseSpec.for_view`); the
    merged spec is validated like any spec. For a movement another measure reads better from that view
    (a wall squat from the front: the hip drop, not the knee angle)."""

    measures: list[str] | None = Field(None, min_length=1, description="Every measure the merged spec uses.")
    phases: list[Phase] | None = Field(None, min_length=2, max_length=2)
    rep: Rep | None = None
    hold: HoldSpec | None = None
    faults: list[FaultSpec] | None = Field(None, description="The faults checked from this view (replaces all).")
    cues: list[CueSpec] | None = None
    limits: str | None = Field(None, description="What the camera cannot verify from this view.")


class ExerciseSpec(_Model):
    """One exercise of the program."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, title="formcheck exercise spec")

    schema_: Literal["formcheck.spec/1"] = Field(SPEC_VERSION, alias="schema")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    level: Level
    instructions: list[str] = Field(min_length=1, description="What the patient does, step by step.")
    camera: Camera
    sides: Sides
    measures: list[str] = Field(min_length=1, description="Every measure the spec uses (templates allowed).")
    phases: list[Phase] = Field(min_length=2, max_length=2, description="[rest phase, movement phase].")
    rep: Rep
    hold: HoldSpec | None = Field(None, description="Posture gating of the hold, when prescription.hold_s is set.")
    prescription: Prescription
    faults: list[FaultSpec] = Field(default_factory=list)
    cues: list[CueSpec] = Field(default_factory=list)
    limits: str | None = Field(None, description="What the camera cannot verify for this exercise.")
    safety: str = Field("If any exercise worsens the pain or causes new pain, stop.",
                        description="Safety note shown with the exercise.")
    by_view: dict[View, ViewSpec] | None = Field(
        None, description="Per-view specialisations: fields replacing the base spec's when the camera sees the "
                          "patient from that view (see ExerciseSpec.for_view). Each view must be in camera.views.")

    @field_validator("measures")
    @classmethod
    def _known_measures(cls, v: list[str]) -> list[str]:
        for name in v:
            concrete = resolve(name, "left")
            if not is_known_measure(concrete):
                raise ValueError(f"a known measure (see formcheck.measures.MEASURES), got {name!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ExerciseSpec:
        rest, move = self.phases
        if rest.enter is not None or rest.exit is not None:
            raise ValueError("phases[0] (rest) has no enter/exit; the movement phase defines both")
        if move.enter is None or move.exit is None:
            raise ValueError("phases[1] (movement) needs both enter and exit conditions")
        names = {p.name for p in self.phases}
        used = {self.rep.measure}
        conds: list[Condition] = [move.enter, move.exit]
        if self.camera.check:
            conds.append(self.camera.check)
        if self.hold:
            conds += [c for c in (self.hold.posture, self.hold.break_) if c]
            if self.hold.pacing is not None and self.prescription.hold_s is None:
                raise ValueError("hold.pacing needs prescription.hold_s (the paced hold's length)")
        for f in self.faults:
            conds += [c for c in (f.when, f.clear) if c]
            for p in f.phases or []:
                if p not in names:
                    raise ValueError(f"faults[{f.id}].phases: one of {sorted(names)}, got {p!r}")
        for c in self.cues:
            if c.when:
                conds.append(c.when)
            for p in c.phases or []:
                if p not in names:
                    raise ValueError(f"cues[{c.id}].phases: one of {sorted(names)}, got {p!r}")
        for c in conds:
            used |= c.measures()
        missing = sorted(m for m in used if m not in self.measures)
        if missing:
            raise ValueError(f"measures: must list every measure used, missing {missing}")
        if self.sides == "both" and any("{other}" in m for m in used):
            raise ValueError("sides 'both' cannot use {other} (there is no exercised side)")
        if self.prescription.hold_s is not None and self.hold is None:
            raise ValueError("hold: needed when prescription.hold_s is set")
        ids = [f.id for f in self.faults]
        if len(ids) != len(set(ids)):
            raise ValueError(f"faults: ids must be unique, got {ids}")
        for view in self.by_view or {}:
            if view not in self.camera.views:
                raise ValueError(f"by_view.{view}: a view listed in camera.views {list(self.camera.views)}, "
                                 f"got {view!r}")
            try:
                self.for_view(view)  # the merged spec must be valid too
            except SpecError as exc:
                raise ValueError(f"{exc.field}: {exc.expected}, got {exc.actual!r}") from None
        return self

    def for_view(self, view: str | None) -> ExerciseSpec:
        """This spec as it applies when the camera sees the patient from ``view``: the ``by_view`` block of
        that view merged in (each field it gives replaces the base spec's; merged with the same machinery
        as :func:`apply_overrides`, and validated), without ``by_view``. The spec itself when it has no
        block for ``view`` (an unknown or None view included)."""
        block = (self.by_view or {}).get(view)  # type: ignore[call-overload]
        if block is None:
            return self
        patch = block.model_dump(by_alias=True, exclude_none=True)
        base = self.model_copy(update={"by_view": None})
        try:
            return apply_overrides(base, Overrides(patch=patch), where=f"by_view.{view}")
        except SpecError as exc:
            raise SpecError(f"{self.id} by_view.{view}", f"by_view.{view}.{exc.field}", exc.expected,
                            exc.actual) from None

    # -- helpers -------------------------------------------------------------------------
    @property
    def rest_phase(self) -> str:
        return self.phases[0].name

    @property
    def move_phase(self) -> str:
        return self.phases[1].name

    def target_band(self) -> tuple[float | None, float | None]:
        """(min, max) of the target band on the rep measure (None = open)."""
        t = self.rep.target
        if t is None:
            return None, None
        lo, hi = t.value - t.tolerance, t.value + t.tolerance
        if t.open_ended:
            return (lo, None) if self.rep.direction == "increase" else (None, hi)
        return lo, hi

    def concrete_measures(self, side: str | None = None) -> list[str]:
        """Concrete measure names the tracker reads (both sides for alternating / each_side)."""
        if self.sides in ("alternating", "each_side") and side is None:
            sides: list[str | None] = ["left", "right", None]
        elif self.sides in ("left", "right") and side is None:
            sides = [self.sides]
        else:
            sides = [side]
        out: list[str] = []
        for m in self.measures:
            for s in sides:
                r = resolve(m, s)
                if r not in out and not ("{other}" in m and s is None):
                    out.append(r)
        if "shoulder_width_ratio" not in out:
            out.append("shoulder_width_ratio")
        return out

    def key_measure(self) -> dict[str, Any]:
        lo, hi = self.target_band()
        return {"name": self.rep.measure, "unit": _unit(self.rep.measure), "target_min": lo, "target_max": hi}


def _unit(measure: str) -> str:
    if "heel_height_cm" in measure:
        return "cm"
    if "heel_height" in measure or "hip_lift" in measure or "knee_over_toe" in measure:
        return "leg lengths"
    if "ratio" in measure:
        return "ratio"
    return "deg"


# ------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------

def _loc(loc: tuple[Any, ...], data: Any) -> tuple[str, Any]:
    """Dotted field path (list items named by their id when they have one) and the value there."""
    parts: list[str] = []
    cur = data
    for p in loc:
        if isinstance(p, int) and isinstance(cur, list):
            item = cur[p] if p < len(cur) else None
            label = item.get("id") or item.get("name") if isinstance(item, dict) else None
            parts[-1:] = [f"{parts[-1]}[{label or p}]"] if parts else [f"[{p}]"]
            cur = item
        else:
            key = str(p)
            if key in ("all_", "any_", "not_", "break_", "schema_"):
                key = key.rstrip("_")
            if isinstance(cur, dict) and p not in cur and key in cur:
                p = key
            parts.append(key)
            cur = cur.get(p) if isinstance(cur, dict) else None
    return ".".join(parts) or "(root)", cur


def validation_to_spec_error(file: str, exc: ValidationError, data: Any) -> SpecError:
    err = exc.errors(include_url=False)[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    field, actual = _loc(loc, data)
    msg = err["msg"]
    msg = msg.removeprefix("Value error, ")
    if err["type"] == "missing":
        expected, actual = "a value (required field)", None
    elif err["type"] == "extra_forbidden":
        expected = "no such field (unknown key; check the spelling)"
    elif err["type"] == "value_error":
        # our own validators say "<expected> (got X)"
        expected = msg
    else:
        expected = msg[0].lower() + msg[1:] if msg else err["type"]
    if "input" in err and err["type"] != "missing":
        actual = err["input"] if not isinstance(err["input"], dict) or err["type"] != "value_error" else actual
    if err["type"] == "value_error" and isinstance(actual, dict):
        # a whole-object check ("measures: must list every measure used, missing [...]"): name the
        # field it is about instead of dumping the object
        m = re.match(r"^([a-z_][\w.\[\]]*): (.*)$", msg)
        if m:
            head = field if field != "(root)" else ""
            field = f"{head}.{m.group(1)}" if head else m.group(1)
            expected = m.group(2)
            got = re.search(r"(?:, got|missing) (.*)$", expected)
            actual = got.group(1) if got else None
        else:
            actual = None
    return SpecError(file, field, expected, actual)


def parse_spec(data: Any, file: str = "<spec>") -> ExerciseSpec:
    """Validate an already-parsed mapping as a spec; errors name the file, field, expected, actual."""
    if not isinstance(data, dict):
        raise SpecError(file, "(root)", "a mapping of spec fields", type(data).__name__)
    try:
        return ExerciseSpec.model_validate(data)
    except ValidationError as exc:
        raise validation_to_spec_error(file, exc, data) from None


def specs_dir() -> Path:
    """Directory of the spec files: $FORMCHECK_SPECS_DIR, else the repository's exercises/specs."""
    env = os.environ.get("FORMCHECK_SPECS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "exercises" / "specs"


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the spec ({exc.strerror or exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(str(path), "(yaml)", f"valid YAML{where}", getattr(exc, "problem", str(exc))) from None


@lru_cache(maxsize=64)
def _load_path(path: str, mtime: float) -> ExerciseSpec:
    p = Path(path)
    spec = parse_spec(_read_yaml(p), str(p))
    if p.stem != spec.id:
        raise SpecError(str(p), "id", f"the file name {p.stem!r}", spec.id)
    return spec


def load_spec(id_or_path: str | Path) -> ExerciseSpec:
    """Load a spec by exercise id (``"wall_squat"``) or by path to a YAML file."""
    s = str(id_or_path)
    if s.endswith((".yaml", ".yml")) or os.sep in s or "/" in s:
        path = Path(s)
    else:
        if not _ID.match(s):
            raise InputError(f"unknown exercise {s!r}; expected one of {[x.id for x in list_specs()]}")
        path = specs_dir() / f"{s}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in specs_dir().glob("*.yaml"))
            raise InputError(f"unknown exercise {s!r}; expected one of {known}")
    if not path.is_file():
        raise InputError(f"{path}: no such spec file")
    return _load_path(str(path.resolve()), path.stat().st_mtime)


def list_specs() -> list[ExerciseSpec]:
    """Every spec of the library, sorted by program level then id."""
    order = {"beginning": 0, "intermediate": 1, "advanced": 2, "core": 3}
    specs = [load_spec(p) for p in sorted(specs_dir().glob("*.yaml"))]
    return sorted(specs, key=lambda s: (order[s.level], s.id))


# ------------------------------------------------------------------------------------------
# Overrides
# ------------------------------------------------------------------------------------------

class Overrides(_Model):
    """Per-patient changes applied on top of a spec without editing it (a therapist lowering the
    wall-squat target to 30°, say). ``patch`` sets any other field by dotted path; list items are
    addressed by id (``faults.too_deep.when.gt``) or index."""

    target: float | None = Field(None, description="Rep target value (e.g. knee flexion in degrees).")
    tolerance: float | None = Field(None, ge=0)
    hold_s: float | None = Field(None, ge=0, description="Hold time in seconds; 0 = no hold for this patient "
                                                     "(reps count without one).")
    reps: int | None = Field(None, ge=1)
    sets: int | None = Field(None, ge=1)
    disabled_faults: list[str] = Field(default_factory=list, description="Fault ids not to check.")
    patch: dict[str, Any] = Field(default_factory=dict, description="Dotted path -> new value.")

    @classmethod
    def coerce(cls, value: Overrides | dict | None) -> Overrides:
        if value is None:
            return cls()
        if isinstance(value, Overrides):
            return value
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            raise validation_to_spec_error("overrides", exc, value) from None


def _set_path(doc: dict, path: str, value: Any, spec_id: str) -> None:
    parts = path.split(".")
    cur: Any = doc
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(cur, list):
            idx = next((j for j, it in enumerate(cur) if isinstance(it, dict) and it.get("id") == part), None)
            if idx is None and part.isdigit() and int(part) < len(cur):
                idx = int(part)
            if idx is None:
                raise SpecError(f"overrides for {spec_id}", f"patch.{path}",
                                "an existing list item id or index", part)
            if last:
                cur[idx] = value
            else:
                cur = cur[idx]
        elif isinstance(cur, dict):
            if last:
                cur[part] = value
            else:
                if part not in cur or cur[part] is None:
                    raise SpecError(f"overrides for {spec_id}", f"patch.{path}", "an existing field", part)
                cur = cur[part]
        else:
            raise SpecError(f"overrides for {spec_id}", f"patch.{path}", "a path into the spec", path)


def apply_overrides(spec: ExerciseSpec, overrides: Overrides | dict | None, where: str | None = None
                    ) -> ExerciseSpec:
    """A new spec with ``overrides`` applied and re-validated (the original is unchanged). ``where`` names
    the source of the changes in errors (default: the patient's overrides)."""
    ov = Overrides.coerce(overrides)
    if ov == Overrides():
        return spec
    doc = copy.deepcopy(spec.model_dump(by_alias=True, exclude_none=True))
    where = where or f"overrides for {spec.id}"
    if ov.target is not None or ov.tolerance is not None:
        if "target" not in doc["rep"]:
            raise SpecError(where, "target", f"a spec with a rep target ({spec.id} has none)", ov.target)
        if ov.target is not None:
            doc["rep"]["target"]["value"] = ov.target
        if ov.tolerance is not None:
            doc["rep"]["target"]["tolerance"] = ov.tolerance
    if ov.hold_s is not None:
        if spec.hold is None:
            raise SpecError(where, "hold_s", f"an exercise with a hold ({spec.id} has none)", ov.hold_s)
        if ov.hold_s > 0:
            doc["prescription"]["hold_s"] = ov.hold_s
        else:
            doc["prescription"].pop("hold_s", None)
    if ov.reps is not None:
        doc["prescription"]["reps"] = ov.reps
    if ov.sets is not None:
        doc["prescription"]["sets"] = ov.sets
    known = {f.id for f in spec.faults}
    for fid in ov.disabled_faults:
        if fid not in known:
            raise SpecError(where, "disabled_faults", f"one of {sorted(known)}", fid)
    doc["faults"] = [f for f in doc.get("faults", []) if f["id"] not in ov.disabled_faults]
    for path, value in ov.patch.items():
        _set_path(doc, path, value, spec.id)
    try:
        return ExerciseSpec.model_validate(doc)
    except ValidationError as exc:
        raise validation_to_spec_error(where, exc, doc) from None


# ------------------------------------------------------------------------------------------
# JSON Schema
# ------------------------------------------------------------------------------------------

def json_schema() -> dict[str, Any]:
    schema = ExerciseSpec.model_json_schema(by_alias=True)
    schema["$id"] = "https://formcheck.local/schemas/exercise-spec-1.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    path.write_text(schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":  # python -m formcheck.exercises.spec  -> regenerate spec.schema.json
    write_schema()
