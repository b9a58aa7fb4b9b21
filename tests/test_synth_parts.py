"""Pure parts of formcheck.synth (no anny needed): inverse kinematics, timing, camera placement, options."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.errors import OptionsError


def test_two_link_ik_keeps_segment_lengths_and_bends_the_asked_way():
    from formcheck.synth.exercises import two_link

    H = np.zeros((50, 2))
    A = np.stack([np.linspace(0.2, 0.85, 50), np.full(50, -0.1)], -1)
    K = two_link(H, A, 0.45, 0.42, np.array([0.0, 1.0]))
    assert np.allclose(np.linalg.norm(K - H, axis=1), 0.45, atol=1e-6)
    assert np.allclose(np.linalg.norm(A - K, axis=1), 0.42, atol=1e-6)
    assert (K[:, 1] > np.minimum(H[:, 1], A[:, 1])).all()  # knee up


def test_timeline_holds_last_the_stated_time_and_reps_do_not_overlap():
    from formcheck.synth.motion import timeline

    for fps in (10.0, 15.0, 8.0):
        tl = timeline(np.random.default_rng(0), fps, reps=3, up=1.0, down=1.2, holds=[1.5, 5.0, 2.0])
        assert [r.hold_s >= h - 1e-9 for r, h in zip(tl.reps, [1.5, 5.0, 2.0])] == [True] * 3
        ends = [r.end_s for r in tl.reps]
        starts = [r.start_s for r in tl.reps]
        assert all(e <= s for e, s in zip(ends, starts[1:]))
        assert tl.p.min() >= 0 and tl.p.max() <= 1.0 + 1e-9
        for r in tl.reps:  # at the peak through the whole hold
            i0, i1 = round(r.hold_start_s * fps), round(r.hold_end_s * fps)
            assert np.allclose(tl.p[i0:i1 + 1], r.amplitude)


def test_ballistic_reps_are_faster_and_overshoot():
    from formcheck.synth.motion import timeline

    smooth = timeline(np.random.default_rng(1), 15.0, reps=2, up=1.2, down=1.2)
    jerky = timeline(np.random.default_rng(1), 15.0, reps=2, up=1.2, down=1.2, ballistic=[0, 1])
    assert max(np.abs(np.diff(jerky.p))) > 2 * max(np.abs(np.diff(smooth.p)))
    assert jerky.p.max() > 1.02  # bounces past the end position
    assert all(j.end_s - j.start_s < s.end_s - s.start_s for j, s in zip(jerky.reps, smooth.reps))


@pytest.mark.parametrize("view", ["side", "oblique", "front"])
def test_camera_frames_the_whole_body_from_the_asked_side(view):
    from formcheck.synth.camera import place_camera

    rng = np.random.default_rng(2)
    body = rng.uniform([-0.25, 0.0, -0.15], [0.25, 1.75, 0.15], (500, 3))  # a standing person's box
    cam = place_camera(body, forward=np.array([0.0, 0.0, 1.0]), side_dir=np.array([1.0, 0.0, 0.0]), view=view,
                       placement="table", size=(480, 360), hfov_deg=65)
    uv, z = cam.project(body)
    assert (z > 0).all()
    assert uv[:, 0].min() >= 0 and uv[:, 0].max() < 480 and uv[:, 1].min() >= 0 and uv[:, 1].max() < 360
    assert abs(cam.center[1] - 0.95) < 1e-9  # laptop on a table
    c = cam.center
    if view == "side":
        assert c[0] > 1.0 and abs(c[2]) < 0.3
    elif view == "front":
        assert c[2] > 1.0 and abs(c[0]) < 0.3
    else:
        assert c[0] > 0.5 and c[2] > 0.5
    # the person fills a good part of the frame height
    assert (uv[:, 1].max() - uv[:, 1].min()) > 0.6 * 360


def test_clip_options_are_validated_with_field_names():
    from formcheck.synth import ClipSpec

    with pytest.raises(OptionsError, match="exercise"):
        ClipSpec("moonwalk")
    with pytest.raises(OptionsError, match="variant"):
        ClipSpec("plank", "too_deep")
    with pytest.raises(OptionsError, match="view"):
        ClipSpec("plank", view="top")
    with pytest.raises(OptionsError, match="size"):
        ClipSpec("plank", size=(481, 360))
    with pytest.raises(OptionsError, match="age"):
        from formcheck.synth.body import Phenotype

        Phenotype(age=0.2)


def test_importing_synth_does_not_load_torch():
    import subprocess
    import sys

    code = "import sys, formcheck.synth, formcheck.cli.synth; print('torch' in sys.modules, 'anny' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
