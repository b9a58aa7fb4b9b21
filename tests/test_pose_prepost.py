"""Pose pre/post-processing without a model: anchors, box decoding, NMS, ROI geometry, warps, smoothing."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.errors import ModelError, OptionsError
from formcheck.pose.anchors import NUM_ANCHORS, ssd_anchors
from formcheck.pose.detector import (
    Detections,
    decode_detections,
    detections_to_image,
    preprocess_detector,
    weighted_nms,
)
from formcheck.pose.geometry import (
    Roi,
    crop_to_image,
    image_to_crop,
    letterbox_roi,
    roi_from_alignment,
    roi_iou,
    roi_to_affine,
)
from formcheck.pose.landmarks_model import (
    decode_landmarks,
    preprocess_landmarks,
    refine_from_heatmap,
    warp_segmentation,
)
from formcheck.pose.options import PoseOptions, resolve_models_dir
from formcheck.pose.smoothing import LandmarkSmoother, OneEuroFilter


# ---------------------------------------------------------------- anchors
def test_anchor_count_and_layout() -> None:
    a = ssd_anchors()
    assert a.shape == (NUM_ANCHORS, 2) == (2254, 2)
    assert ((a > 0) & (a < 1)).all()
    # stride 8: 28x28 cells x 2 anchors, row-major, two anchors per cell at the same centre
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(a[1], a[0])
    np.testing.assert_allclose(a[2], [1.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(a[2 * 28], [0.5 / 28, 1.5 / 28])
    # stride 16 starts after 28*28*2 = 1568 anchors
    np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14])
    # the three stride-32 layers share one 7x7 map: 6 anchors per cell, 294 in all
    np.testing.assert_allclose(a[1568 + 392: 1568 + 392 + 6], np.tile([0.5 / 7, 0.5 / 7], (6, 1)))
    np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7])


# ---------------------------------------------------------------- box decoding + NMS
def _raw_with(boxes: dict[int, tuple[np.ndarray, float]]) -> tuple[np.ndarray, np.ndarray]:
    raw = np.zeros((NUM_ANCHORS, 12), np.float32)
    logits = np.full((NUM_ANCHORS,), -10.0, np.float32)
    for i, (vals, logit) in boxes.items():
        raw[i] = vals
        logits[i] = logit
    return raw[None], logits[None, :, None]


def test_decode_offsets_are_relative_to_anchor_in_input_pixels() -> None:
    anchors = ssd_anchors()
    i = 1568 + 2 * (14 * 5 + 3)  # a stride-16 anchor, row 5, column 3
    vals = np.array([22.4, -11.2, 44.8, 67.2, 0, 0, 11.2, 0, 0, 0, 0, 0], np.float32)
    raw, logits = _raw_with({i: (vals, 2.0), 7: (vals, -1.0)})
    det = decode_detections(raw, logits, anchors, min_score=0.5)
    assert len(det) == 1  # sigmoid(-1) = 0.27 is below the threshold
    cx, cy = anchors[i] + [0.1, -0.05]
    np.testing.assert_allclose(det.boxes[0], [cx - 0.1, cy - 0.15, cx + 0.1, cy + 0.15], atol=1e-6)
    np.testing.assert_allclose(det.keypoints[0, 0], anchors[i], atol=1e-6)
    np.testing.assert_allclose(det.keypoints[0, 1], anchors[i] + [0.05, 0.0], atol=1e-6)
    assert det.scores[0] == pytest.approx(1 / (1 + np.exp(-2.0)))


def test_decode_sorts_by_score_and_clips_huge_logits() -> None:
    vals = np.zeros(12, np.float32)
    raw, logits = _raw_with({10: (vals, 1.0), 20: (vals, 1e6), 30: (vals, 3.0)})
    det = decode_detections(raw, logits)
    assert np.all(np.diff(det.scores) <= 0) and det.scores[0] == pytest.approx(1.0)
    assert len(det) == 3 and np.isfinite(det.boxes).all()


def test_weighted_nms_merges_overlaps_and_keeps_separate_people() -> None:
    boxes = np.array([[0.10, 0.10, 0.30, 0.50],   # person A, best
                      [0.12, 0.10, 0.32, 0.50],   # person A again (IoU ~0.82)
                      [0.60, 0.10, 0.80, 0.50]],  # person B
                     np.float32)
    kps = np.repeat(boxes[:, None, :2], 4, axis=1)
    scores = np.array([0.9, 0.6, 0.7], np.float32)
    out = weighted_nms(Detections(boxes, kps, scores), 0.3)
    assert len(out) == 2
    np.testing.assert_allclose(out.scores, [0.9, 0.7])
    np.testing.assert_allclose(out.boxes[0], (0.9 * boxes[0] + 0.6 * boxes[1]) / 1.5, atol=1e-6)
    np.testing.assert_allclose(out.keypoints[0, 0], (0.9 * kps[0, 0] + 0.6 * kps[1, 0]) / 1.5, atol=1e-6)
    np.testing.assert_allclose(out.boxes[1], boxes[2])


def test_weighted_nms_threshold_is_strict_iou() -> None:
    # IoU exactly 1/3 > 0.3 merges; IoU 0.25 does not
    a = np.array([0.0, 0.0, 0.4, 0.4], np.float32)
    b = np.array([0.2, 0.0, 0.6, 0.4], np.float32)   # IoU = 0.08/0.24 = 1/3
    c = np.array([0.24, 0.0, 0.64, 0.4], np.float32)  # IoU = 0.064/0.256 = 0.25
    for other, n in ((b, 1), (c, 2)):
        boxes = np.stack([a, other])
        out = weighted_nms(Detections(boxes, np.zeros((2, 4, 2), np.float32), np.array([0.9, 0.8], np.float32)))
        assert len(out) == n
    assert len(weighted_nms(Detections.empty())) == 0


# ---------------------------------------------------------------- ROI geometry
def test_roi_from_alignment_standing_and_lying() -> None:
    standing = roi_from_alignment(np.array([300.0, 400.0]), np.array([300.0, 200.0]), scale=1.25)
    assert standing.rotation == pytest.approx(0.0)
    assert standing.size == pytest.approx(2 * 200 * 1.25)
    assert (standing.cx, standing.cy) == (300.0, 400.0)
    # lying on the back, head to the right: crop "up" must point right in the image
    lying = roi_from_alignment(np.array([300.0, 400.0]), np.array([500.0, 400.0]))
    assert lying.rotation == pytest.approx(np.pi / 2)
    up_in_image = crop_to_image(np.array([0.5, 0.0]), lying) - (lying.cx, lying.cy)
    np.testing.assert_allclose(up_in_image / np.linalg.norm(up_in_image), [1.0, 0.0], atol=1e-9)
    # head to the left
    assert roi_from_alignment(np.array([0.0, 0.0]), np.array([-1.0, 0.0])).rotation == pytest.approx(-np.pi / 2)


@pytest.mark.parametrize("seed", range(5))
def test_crop_image_round_trip_and_affine_agree(seed: int) -> None:
    rng = np.random.default_rng(seed)
    roi = Roi(*rng.uniform(50, 600, 2), rng.uniform(40, 500), rng.uniform(-np.pi, np.pi))
    pts = rng.uniform(-0.2, 1.2, (20, 2))
    img_pts = crop_to_image(pts, roi)
    np.testing.assert_allclose(image_to_crop(img_pts, roi), pts, atol=1e-9)
    m = roi_to_affine(roi, 256)
    via_affine = img_pts @ m[:, :2].T + m[:, 2]
    np.testing.assert_allclose(via_affine, pts * 256, atol=1e-6)
    corners = roi.corners()
    np.testing.assert_allclose(image_to_crop(corners, roi), [[0, 0], [1, 0], [1, 1], [0, 1]], atol=1e-9)


def _dot_image(w: int, h: int, x: int, y: int) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[y - 3:y + 4, x - 3:x + 4] = 255
    return img


def _peak(chan: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(chan > chan.max() * 0.5)
    wts = chan[ys, xs]
    return np.array([np.average(xs, weights=wts), np.average(ys, weights=wts)])


def test_letterbox_inverse_maps_detector_pixels_back() -> None:
    w, h, x, y = 640, 360, 500, 90
    tensor, lb = preprocess_detector(_dot_image(w, h, x, y))
    assert tensor.shape == (1, 224, 224, 3) and tensor.dtype == np.float32
    assert tensor.min() == pytest.approx(-1.0) and tensor.max() == pytest.approx(1.0)
    assert lb == letterbox_roi(w, h)
    # letterbox padding is black (-1): rows above the picture
    assert np.all(tensor[0, :30] == -1.0)
    p = _peak(tensor[0, :, :, 0] + 1.0)  # centre of the dot, in tensor pixels
    back = crop_to_image((p + 0.5) / 224, lb)
    np.testing.assert_allclose(back, [x + 0.5, y + 0.5], atol=640 / 224)
    det = Detections(np.array([[0.0, 0.0, 1.0, 1.0]], np.float32),
                     ((p + 0.5) / 224)[None, None].repeat(4, 1).astype(np.float32), np.array([0.9], np.float32))
    out = detections_to_image(det, lb)
    np.testing.assert_allclose(out.boxes[0], [0, h / 2 - w / 2, w, h / 2 + w / 2], atol=1e-3)
    np.testing.assert_allclose(out.keypoints[0, 0], back, atol=1e-3)


@pytest.mark.parametrize("rotation", [0.0, np.pi / 2, -2.0, np.pi])
def test_rotated_crop_round_trip_through_pixels(rotation: float) -> None:
    w, h, x, y = 480, 400, 300, 150
    img = _dot_image(w, h, x, y)
    roi = Roi(260.0, 220.0, 300.0, rotation)
    crop = preprocess_landmarks(img, roi)
    assert crop.shape == (1, 256, 256, 3) and 0.0 <= crop.min() and crop.max() <= 1.0
    p = _peak(crop[0, :, :, 0])
    back = crop_to_image((p + 0.5) / 256, roi)
    np.testing.assert_allclose(back, [x + 0.5, y + 0.5], atol=1.5)


def test_roi_iou() -> None:
    a = Roi(100, 100, 100)
    assert roi_iou(a, a) == pytest.approx(1.0)
    assert roi_iou(a, Roi(400, 100, 100)) == 0.0
    assert roi_iou(a, Roi(150, 100, 100)) == pytest.approx(1 / 3)


# ---------------------------------------------------------------- landmark decoding
def test_refine_from_heatmap_moves_to_confident_peak_only() -> None:
    hm = np.full((64, 64, 2), -20.0, np.float32)
    hm[30, 20, 0] = 5.0   # confident peak near landmark 0
    hm[10, 10, 1] = -1.0  # unconfident (sigmoid 0.27) near landmark 1
    xy = np.array([[21.5 / 64, 31.5 / 64], [10.5 / 64, 10.5 / 64]])
    out = refine_from_heatmap(xy, hm)
    np.testing.assert_allclose(out[0], [20 / 64, 30 / 64], atol=1e-4)
    np.testing.assert_allclose(out[1], xy[1])
    # outside the heatmap: untouched
    np.testing.assert_allclose(refine_from_heatmap(np.array([[1.2, 0.5]]), hm[..., :1]), [[1.2, 0.5]])


def test_decode_landmarks_projects_and_rotates_world() -> None:
    roi = Roi(400.0, 300.0, 256.0 * 2, np.pi / 2)
    raw = np.zeros((39, 5), np.float32)
    raw[:, 0], raw[:, 1] = 128.0, 64.0       # centre column, a quarter down the crop
    raw[:, 2] = 25.6                          # z: a tenth of the crop
    raw[:, 3], raw[:, 4] = 10.0, -10.0        # visible logit, absent logit
    world = np.zeros((39, 3), np.float32)
    world[:, 1] = -0.5                        # half a metre "up" in the crop
    lm = decode_landmarks(raw, np.array([[0.9]]), world, roi)
    # a quarter down the crop = half a side above the centre in crop terms -> to the right after rotation
    np.testing.assert_allclose(lm.xyz[0, :2], [400.0 + 128.0, 300.0], atol=1e-3)
    assert lm.xyz[0, 2] == pytest.approx(51.2)
    np.testing.assert_allclose(lm.world[0], [0.5, 0.0, 0.0], atol=1e-6)
    assert lm.visibility[0] > 0.99 and lm.presence[0] < 0.01 and lm.score == pytest.approx(0.9)
    assert lm.xyz.shape == (33, 3) and lm.aux.shape == (2, 2)


def test_segmentation_warps_back_inside_roi() -> None:
    roi = Roi(100.0, 80.0, 60.0, 0.3)
    mask = warp_segmentation(np.full((1, 256, 256, 1), 20.0, np.float32), roi, (200, 160))
    assert mask.shape == (160, 200)
    assert mask[80, 100] == pytest.approx(1.0, abs=1e-3) and mask[5, 5] == 0.0


# ---------------------------------------------------------------- smoothing
def test_one_euro_reduces_jitter_of_still_point_and_follows_fast_motion() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(120) / 30.0
    still = 100 + rng.normal(0, 0.5, t.size)  # half-pixel jitter of a 200-pixel person
    f = OneEuroFilter(0.05, 80.0)
    out = np.array([f.update(np.array([v]), ti, 1 / 200)[0] for v, ti in zip(still, t)])
    assert np.std(out[30:]) < 0.6 * np.std(still[30:])
    # fast motion (3 body sizes per second): lag stays small thanks to the velocity-adaptive cutoff
    moving = 100 + 600 * t
    f.reset()
    out = np.array([f.update(np.array([v]), ti, 1 / 200)[0] for v, ti in zip(moving, t)])
    slow = OneEuroFilter(0.05, 0.0)
    out_slow = np.array([slow.update(np.array([v]), ti, 1 / 200)[0] for v, ti in zip(moving, t)])
    assert abs(out[-1] - moving[-1]) < 25 < abs(out_slow[-1] - moving[-1])


def test_smoother_restarts_on_non_increasing_time_and_shapes() -> None:
    s = LandmarkSmoother()
    xyz = np.ones((33, 3), np.float32)
    aux = np.array([[0.0, 0.0], [0.0, -100.0]], np.float32)
    out = s.update(0.0, xyz, xyz, np.ones(33, np.float32), aux)
    assert [o.shape for o in out] == [(33, 3), (33, 3), (33,), (2, 2)]
    same = s.update(0.0, xyz * 5, xyz, np.ones(33, np.float32), aux)  # equal timestamp: passed through
    np.testing.assert_allclose(same[0], 5.0)


# ---------------------------------------------------------------- options
@pytest.mark.parametrize("kwargs,field", [
    ({"min_detection_confidence": 1.5}, "min_detection_confidence"),
    ({"min_tracking_confidence": -0.1}, "min_tracking_confidence"),
    ({"threads": 0}, "threads"),
    ({"smooth": "yes"}, "smooth"),
    ({"relock_s": -1}, "relock_s"),
])
def test_options_are_validated(kwargs: dict, field: str) -> None:
    with pytest.raises(OptionsError) as exc:
        PoseOptions(**kwargs)
    assert exc.value.field == field and field in str(exc.value)


def test_missing_models_dir_is_a_model_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="not found"):
        resolve_models_dir(tmp_path)


# ---------------------------------------------------------------- decode-ahead thread
def test_prefetch_keeps_order_reraises_and_stops() -> None:
    import itertools
    import threading

    from formcheck.errors import VideoError
    from formcheck.pose.engine import prefetch

    assert list(prefetch(range(100), depth=3)) == list(range(100))

    def broken():
        yield 1
        raise VideoError("decoder exploded")

    it = prefetch(broken())
    assert next(it) == 1
    with pytest.raises(VideoError, match="exploded"):
        next(it)
    endless = prefetch(itertools.count())
    assert [next(endless) for _ in range(5)] == [0, 1, 2, 3, 4]
    endless.close()  # the consumer stops early: the producer thread must end too
    assert not any(t.name == "formcheck-decode" and t.is_alive() for t in threading.enumerate())
