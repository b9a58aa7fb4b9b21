"""Batch entry point: the same state machine run over a recorded sequence."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from formcheck.errors import FieldError
from formcheck.exercises.results import ExerciseResult
from formcheck.exercises.spec import ExerciseSpec, Overrides, apply_overrides, load_spec
from formcheck.exercises.tracker import ExerciseTracker, TrackerOptions
from formcheck.keypoints import PoseSequence
from formcheck.measures import DEFAULT_VISIBILITY, compute_measures, estimate_view


def spec_for_view(spec: ExerciseSpec | str, overrides: Overrides | dict | None = None,
                  view: str | None = None) -> ExerciseSpec:
    """The spec a tracker runs when the camera sees the patient from ``view``: the patient's overrides
    applied to the base spec, then its ``by_view`` block for that view merged in
    (:meth:`ExerciseSpec.for_view`; the block's fields win over overridden base fields, the prescription
    is never in a block so the patient's reps/sets/hold time stay)."""
    base = load_spec(spec) if isinstance(spec, str) else spec
    return apply_overrides(base, overrides).for_view(view)


def sequence_measures(spec: ExerciseSpec, seq: PoseSequence, side: str | None = None,
                      visibility: float = DEFAULT_VISIBILITY) -> dict[str, np.ndarray]:
    """The measures a spec reads, computed over a whole sequence in the spec's landmark space."""
    return compute_measures(seq, spec.concrete_measures(side), space=spec.camera.space, visibility=visibility)


def view_measures(spec: ExerciseSpec, side: str | None = None) -> list[str]:
    """Concrete measures a streaming run must compute before it knows the view: the base spec's and
    those of every per-view specialisation (``by_view``)."""
    names = spec.concrete_measures(side)
    for view in spec.by_view or {}:
        names += [n for n in spec.for_view(view).concrete_measures(side) if n not in names]
    return names


def run_exercise(spec: ExerciseSpec | str, seq_or_measures: PoseSequence | Mapping[str, np.ndarray],
                 overrides: Overrides | dict | None = None, side: str | None = None,
                 t: np.ndarray | None = None, options: TrackerOptions | None = None,
                 view: str | None = None) -> ExerciseResult:
    """Run an exercise over a recorded sequence and return its result (with every event).

    ``seq_or_measures`` is a :class:`PoseSequence`, or a mapping of measure name -> (T,) array
    (then ``t``, the (T,) frame times in seconds, is required). A spec with per-view blocks
    (``by_view``) runs specialised for ``view``; by default the view of a PoseSequence is estimated
    from it (:func:`formcheck.measures.estimate_view`) and measure arrays keep the base spec.
    """
    base = load_spec(spec) if isinstance(spec, str) else spec
    if base.by_view:
        if view is None and isinstance(seq_or_measures, PoseSequence):
            view = estimate_view(seq_or_measures)
        tracker = ExerciseTracker(spec_for_view(base, overrides, view), None, side, options)
    else:
        tracker = ExerciseTracker(base, overrides, side, options)
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
