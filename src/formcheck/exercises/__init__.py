"""Exercise engine: declarative specs, the streaming state machine and its results.

>>> from formcheck.exercises import load_spec, ExerciseTracker, run_exercise   # doctest: +SKIP
"""

from formcheck.exercises.conditions import Condition
from formcheck.exercises.results import (
    Event,
    EventKind,
    ExerciseResult,
    FaultResult,
    HoldResult,
    RepResult,
    SetResult,
    session_score,
)
from formcheck.exercises.runner import run_exercise, sequence_measures
from formcheck.exercises.spec import (
    ExerciseSpec,
    Overrides,
    apply_overrides,
    json_schema,
    list_specs,
    load_spec,
    parse_spec,
    specs_dir,
)
from formcheck.exercises.tracker import ExerciseTracker, TrackerOptions

__all__ = [
    "Condition", "Event", "EventKind", "ExerciseResult", "ExerciseSpec", "ExerciseTracker", "FaultResult",
    "HoldResult", "Overrides", "RepResult", "SetResult", "TrackerOptions", "apply_overrides", "json_schema",
    "list_specs", "load_spec", "parse_spec", "run_exercise", "sequence_measures", "session_score", "specs_dir",
]
