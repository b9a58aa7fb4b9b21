"""Batch entry point: the same state machine run over a recorded sequence."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from formcheck.errors import FieldError
from formcheck.exercises.results import ExerciseResult
from formcheck.exercises.spec import ExerciseSpec, Overrides
from formcheck.exercises.tracker import ExerciseTracker, TrackerOptions
from formcheck.keypoints import PoseSequence
from formcheck.measures import DEFAULT_VISIBILITY, compute_measures


def sequence_measures(spec: ExerciseSpec, seq: PoseSequence, side: str | None = None,
                      visibility: float = DEFAULT_VISIBILITY) -> dict[str, np.ndarray]:
    """The measures a spec reads, computed over a whole sequence in the spec's landmark space."""
    return compute_measures(seq, spec.concrete_measures(side), space=spec.camera.space, visibility=visibility)


def run_exercise(spec: ExerciseSpec | str, seq_or_measures: PoseSequence | Mapping[str, np.ndarray],
                 overrides: Overrides | dict | None = None, side: str | None = None,
                 t: np.ndarray | None = None, options: TrackerOptions | None = None) -> ExerciseResult:
    """Run an exercise over a recorded sequence and return its result (with every event).

    ``seq_or_measures`` is a :class:`PoseSequence`, or a mapping of measure name -> (T,) array
    (then ``t``, the (T,) frame times in seconds, is required).
    """
    tracker = ExerciseTracker(spec, overrides, side, options)
    if isinstance(seq_or_measures, PoseSequence):
        measures = sequence_measures(tracker.spec, seq_or_measures, side)
        times = seq_or_measures.t
    else:
        if t is None:
            raise FieldError("t", "frame times (T,) when measures are given", None)
        measures = {k: np.asarray(v, dtype=np.float64) for k, v in seq_or_measures.items()}
        times = np.asarray(t, dtype=np.float64)
        for k, v in measures.items():
            if v.shape != times.shape:
                raise FieldError(f"measures[{k}]", f"shape {times.shape}", v.shape)
    names = [n for n in tracker.measure_names if n in measures]
    cols = [measures[n].tolist() for n in names]
    for i, ti in enumerate(times.tolist()):
        tracker.update({n: col[i] for n, col in zip(names, cols)}, ti)
    return tracker.result()
