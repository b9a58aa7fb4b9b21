"""The ``result.json`` document: a documented, versioned schema (pydantic models).

``result.json`` is what ``formcheck analyze`` writes for one recorded session, and what ``--json FILE``
writes too. The JSON Schema generated from these models is committed next to this module as
``result.schema.json`` (``python -m formcheck.report.schema`` regenerates it; a test checks it is up to
date).

Versioning: ``schema_version`` is ``MAJOR.MINOR``. A new optional field bumps MINOR; renaming or removing
a field, or changing its meaning or unit, bumps MAJOR. Readers should accept any MINOR of their MAJOR.

Units: times in seconds from the start of the video (source timestamps, so variable frame rate is
respected); angles in degrees in the clinical convention (flexion 0 = straight); other measures in the
unit named by ``key_measure.unit``. Values that could not be measured are ``null`` (never NaN, never 0).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = "1.0"
SCHEMA_ID = "https://formcheck.local/schemas/result-1.json"
SCHEMA_PATH = Path(__file__).with_name("result.schema.json")

Severity = Literal["info", "warning", "harmful"]


def _finite_or_none(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VideoInfo(_Model):
    """The analysed video."""

    path: str = Field(description="Path of the video as given to formcheck.")
    fps: float | None = Field(description="Nominal frame rate (frames per second); timing uses timestamps.")
    duration_s: float = Field(ge=0, description="Time of the last decoded frame plus one frame interval.")
    frames: int = Field(ge=0, description="Number of frames decoded and analysed.")
    width: int = Field(ge=0, description="Width of the analysed frames in pixels (after rotation metadata and "
                                         "any downscaling for analysis; the annotated video has this size).")
    height: int = Field(ge=0, description="Height of the analysed frames in pixels (see width).")
    rotation: int = Field(0, description="Rotation metadata of the file in degrees (already applied).")

    _fix = field_validator("fps", mode="before")(_finite_or_none)


class Prescription(_Model):
    """What the therapist prescribed (from the exercise spec, after overrides)."""

    reps: int | None = Field(None, ge=0, description="Prescribed repetitions (per side where sided).")
    hold_s: float | None = Field(None, ge=0, description="Prescribed hold time per repetition, seconds.")
    sets: int | None = Field(None, ge=0, description="Prescribed sets.")
    sides: str | None = Field(None, description="'each' when each side is done, 'left'/'right', or null.")


class KeyMeasure(_Model):
    """The measure the exercise is counted on, with its target band."""

    name: str = Field(description="Measure name, e.g. knee_flexion_left (see formcheck.measures).")
    unit: str = Field("deg", description="Unit of the measure ('deg' for angles).")
    target_min: float | None = Field(None, description="Lower end of the target band (null: none).")
    target_max: float | None = Field(None, description="Upper end of the target band (null: none).")

    _fix = field_validator("target_min", "target_max", mode="before")(_finite_or_none)


class Fault(_Model):
    """A form fault: a posture or movement the patient should correct."""

    id: str = Field(description="Fault id from the exercise spec, e.g. trunk_flexion, hips_sagging, ballistic.")
    severity: Severity = Field(description="info | warning | harmful (harmful: may hurt a painful back).")
    start_s: float = Field(description="Time the fault started, seconds.")
    end_s: float = Field(description="Time the fault ended, seconds (>= start_s).")
    message: str = Field(description="What to tell the patient, in plain words.")


class Rep(_Model):
    """One repetition."""

    index: int = Field(ge=1, description="1-based repetition number, in order of start time.")
    side: str | None = Field(None, description="'left' / 'right' for sided exercises, else null.")
    start_s: float = Field(description="Start of the repetition, seconds.")
    end_s: float = Field(description="End of the repetition, seconds.")
    peak: float | None = Field(description="Extreme value of the key measure during the rep (key_measure.unit).")
    range_of_motion: float | None = Field(description="Peak minus starting value of the key measure.")
    hold_s: float | None = Field(None, description="Time held in the target band during this rep, seconds.")
    complete: bool = Field(description="True when the rep reached the target (and held it, where a hold is "
                                       "prescribed). Too-shallow reps and holds cut short are incomplete, "
                                       "not faults.")
    form_score: float | None = Field(None, ge=0, le=100, description="0-100, 100 = no fault during the rep.")
    faults: list[str] = Field(default_factory=list, description="Ids of the faults that occurred in the rep.")

    _fix = field_validator("peak", "range_of_motion", "hold_s", "form_score", mode="before")(_finite_or_none)


class Hold(_Model):
    """One isometric hold or stretch."""

    start_s: float = Field(description="Start of the hold, seconds.")
    end_s: float = Field(description="End of the hold, seconds.")
    duration_s: float = Field(ge=0, description="Time held, seconds.")
    completed: bool = Field(description="True when the prescribed hold time was reached.")


class ResultDocument(_Model):
    """formcheck's analysis of one recorded exercise session (``result.json``)."""

    model_config = ConfigDict(extra="forbid", title="formcheck result",
                              json_schema_extra={"$id": SCHEMA_ID})

    schema_version: Literal["1.0"] = Field(SCHEMA_VERSION, description="Version of this schema, MAJOR.MINOR.")
    formcheck_version: str = Field(description="Version of formcheck that wrote the document.")
    generated_at: str = Field(description="When the analysis finished (ISO 8601, UTC).")
    exercise: str = Field(description="Exercise id (see `formcheck exercises`).")
    exercise_name: str | None = Field(None, description="Human-readable exercise name.")
    side: str | None = Field(None, description="Side analysed ('left'/'right'), null when not sided or auto.")
    prescription: Prescription = Field(default_factory=Prescription)
    key_measure: KeyMeasure | None = Field(None, description="The measure reps/holds are counted on.")
    video: VideoInfo
    rep_count: int = Field(ge=0, description="Number of completed repetitions.")
    reps: list[Rep] = Field(default_factory=list, description="Every repetition, complete or not.")
    holds: list[Hold] = Field(default_factory=list, description="Every hold / stretch.")
    faults: list[Fault] = Field(default_factory=list, description="Every fault, in time order.")
    form_score: float | None = Field(ge=0, le=100, description="0-100 for the whole session (null: nothing "
                                                                 "to score).")
    frames_with_person: int = Field(ge=0, description="Frames in which a person was found.")
    partial: bool = Field(False, description="True when the video could not be read to the end (truncated or "
                                             "corrupt): results cover the readable part only.")
    warnings: list[str] = Field(default_factory=list, description="Things the therapist should know about "
                                                                   "the analysis itself (e.g. person lost).")

    _fix = field_validator("form_score", mode="before")(_finite_or_none)

    def to_json(self, indent: int = 2) -> str:
        return self.model_dump_json(indent=indent)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``result.json``."""
    schema = ResultDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    text = (ResultDocument.__doc__ or "").strip() + " " + " ".join((__doc__ or "").split("\n\n")[2:])
    schema["description"] = " ".join(text.replace("``", "").split())
    return schema


def load_result(path: str | Path) -> ResultDocument:
    """Read and validate a ``result.json``."""
    from formcheck.errors import InputError

    path = Path(path)
    try:
        return ResultDocument.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        first = str(exc).splitlines()
        raise InputError(f"{path}: not a formcheck result.json ({first[0] if first else exc})") from exc


def _main() -> None:  # pragma: no cover - regenerates the committed schema file
    SCHEMA_PATH.write_text(json.dumps(json_schema(), indent=2) + "\n")


if __name__ == "__main__":  # pragma: no cover
    _main()
