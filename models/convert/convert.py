"""Convert MediaPipe's BlazePose TFLite models (mediapipe==0.10.21, Apache-2.0) to ONNX.

Run once by a maintainer in its own pinned environment (see ``requirements.txt``), never at install:

    python3.11 -m venv .venv-convert
    .venv-convert/bin/pip install -r models/convert/requirements.txt
    .venv-convert/bin/python models/convert/convert.py            # writes models/*.onnx

What it does:

* ``pose_landmark_full.tflite`` converts directly with tf2onnx (opset 17).
* ``pose_detection.tflite`` holds 38 ``DENSIFY`` ops over sparse (fp16) weights that tf2onnx cannot read.
  The script evaluates those ops once with the TFLite interpreter, writes their dense outputs back as
  constant buffers, drops the ops and clears the sparse inputs, then converts the patched model.
* Inputs/outputs are renamed to readable names (see ``RENAMES``).
* The landmark model is split in two: ``pose_landmark_full.onnx`` (landmarks, pose flag, world landmarks,
  heatmap, and the two feature maps the segmentation head reads) and
  ``pose_landmark_full_segmentation.onnx`` (the segmentation head alone: 33 nodes, ~2k weights). The head
  works at 256x256 and costs as much as the rest of the network; onnxruntime computes every node whatever
  outputs are asked for, so splitting halves the per-frame cost when no mask is wanted.
* Each ONNX model is run with onnxruntime on the same inputs as the TFLite original (a natural image
  when ``--image`` is given, plus seeded random images); the script fails loudly (exit 1) if any output
  differs by more than the tolerance, and prints the sha256 of each file for ``models/README.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger("convert")

REPO = Path(__file__).resolve().parents[2]
DENSIFY = 124

RENAMES = {
    "pose_detection": {"input_1": "image", "Identity": "boxes", "Identity_1": "scores"},
    "pose_landmark_full": {
        "input_1": "image",
        "Identity": "landmarks",
        "Identity_1": "pose_flag",
        "Identity_2": "segmentation",
        "Identity_3": "heatmap",
        "Identity_4": "world_landmarks",
    },
}
# Maximum absolute difference allowed between TFLite and ONNX outputs, per output.
# Detector outputs are raw box regressions (pixels of 224) and score logits; landmark outputs are pixels
# of 256 (landmarks), metres (world), a logit (flag), heatmap logits, and the segmentation mask compared
# as a probability (its raw logits reach -1700, where a 0.8 difference means nothing).
TOLERANCE = {
    "boxes": 2e-2, "scores": 2e-2,
    "landmarks": 0.1, "pose_flag": 2e-2, "segmentation": 1e-2, "heatmap": 5e-2, "world_landmarks": 2e-3,
}


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(v, -80, 80)))


COMPARE_AS = {"segmentation": _sigmoid}


def mediapipe_models() -> tuple[Path, Path]:
    import mediapipe

    root = Path(mediapipe.__file__).parent / "modules"
    if mediapipe.__version__ != "0.10.21":
        log.warning("expected mediapipe 0.10.21, found %s", mediapipe.__version__)
    return root / "pose_detection" / "pose_detection.tflite", root / "pose_landmark" / "pose_landmark_full.tflite"


def densify_detector(src: Path, dst: Path) -> int:
    """Replace every DENSIFY op by its (constant) output; returns how many were removed."""
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils as fu

    interp = tf.lite.Interpreter(model_path=str(src), experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    interp.set_tensor(inp["index"], np.zeros(inp["shape"], np.float32))
    interp.invoke()

    model = fu.read_model(str(src))
    sg = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    keep, removed = [], 0
    for op in sg.operators:
        if codes[op.opcodeIndex] != DENSIFY:
            keep.append(op)
            continue
        out_idx, in_idx = int(op.outputs[0]), int(op.inputs[0])
        dense = np.ascontiguousarray(interp.get_tensor(out_idx))
        out_t, in_t = sg.tensors[out_idx], sg.tensors[in_idx]
        if tuple(dense.shape) != tuple(out_t.shape):
            raise SystemExit(f"DENSIFY output {out_t.name!r}: shape {dense.shape} != {tuple(out_t.shape)}")
        buf = schema.BufferT()
        buf.data = np.frombuffer(dense.tobytes(), np.uint8)
        model.buffers.append(buf)
        out_t.buffer = len(model.buffers) - 1
        # the sparse input is no longer used: empty it so no converter tries to read it as dense
        model.buffers[in_t.buffer].data = None
        in_t.sparsity = None
        removed += 1
    sg.operators = keep
    fu.write_model(model, str(dst))
    return removed


def to_onnx(tflite: Path, out: Path, renames: dict[str, str]) -> None:
    import onnx
    import tf2onnx

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        tf2onnx.convert.from_tflite(str(tflite), opset=17, output_path=str(raw))
        model = onnx.load(str(raw))
    g = model.graph
    for node in g.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
    for vi in list(g.input) + list(g.output):
        vi.name = renames.get(vi.name, vi.name)
    model.producer_name = "formcheck models/convert/convert.py (tf2onnx 1.17)"
    model.doc_string = f"Converted from {tflite.name} (mediapipe==0.10.21, Apache-2.0)"
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


CORE_OUTPUTS = ["landmarks", "pose_flag", "world_landmarks", "heatmap"]


def split_segmentation(whole: Path, core_out: Path, seg_out: Path) -> list[str]:
    """Split the landmark model into the core network and the segmentation head (see module doc)."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.shape_inference.infer_shapes(onnx.load(str(whole)))
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    consts = {i.name for i in g.initializer}

    def ancestors(outputs: list[str]) -> set[int]:
        seen: set[str] = set()
        nodes: set[int] = set()
        stack = list(outputs)
        while stack:
            t = stack.pop()
            if t in seen:
                continue
            seen.add(t)
            n = producer.get(t)
            if n is not None:
                nodes.add(id(n))
                stack.extend(n.input)
        return nodes

    core = ancestors(CORE_OUTPUTS)
    head = [n for n in g.node if id(n) in ancestors(["segmentation"]) - core]
    boundary = sorted({i for n in head for i in n.input
                       if i and i not in consts and (i not in producer or id(producer[i]) in core)})
    if not boundary or "image" in boundary:
        raise SystemExit(f"unexpected segmentation head inputs: {boundary}")
    names = {b: f"seg_features_{k}" for k, b in enumerate(boundary)}
    log.info("segmentation head: %d of %d nodes, inputs %s", len(head), len(g.node), list(names.values()))
    for sub, path in ((Extractor(model).extract_model(["image"], CORE_OUTPUTS + boundary), core_out),
                      (Extractor(model).extract_model(boundary, ["segmentation"]), seg_out)):
        for node in sub.graph.node:
            node.input[:] = [names.get(n, n) for n in node.input]
            node.output[:] = [names.get(n, n) for n in node.output]
        for vi in list(sub.graph.input) + list(sub.graph.output) + list(sub.graph.value_info):
            vi.name = names.get(vi.name, vi.name)
        sub.producer_name = model.producer_name
        sub.doc_string = model.doc_string + (" (segmentation head)" if path == seg_out else " (without segmentation head)")
        onnx.checker.check_model(sub)
        onnx.save(sub, str(path))
    return list(names.values())


def check_split(tflite: Path, core_path: Path, seg_path: Path, renames: dict[str, str],
                inputs: list[np.ndarray]) -> None:
    """The two halves together must reproduce every TFLite output within tolerance."""
    import onnxruntime as ort
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(tflite))
    interp.allocate_tensors()
    core = ort.InferenceSession(str(core_path), providers=["CPUExecutionProvider"])
    seg = ort.InferenceSession(str(seg_path), providers=["CPUExecutionProvider"])
    feats = [i.name for i in seg.get_inputs()]
    for x in inputs:
        interp.set_tensor(interp.get_input_details()[0]["index"], x)
        interp.invoke()
        ref = {renames[d["name"]]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}
        got = dict(zip([o.name for o in core.get_outputs()], core.run(None, {"image": x})))
        got["segmentation"] = seg.run(["segmentation"], {f: got[f] for f in feats})[0]
        for name, r in ref.items():
            f = COMPARE_AS.get(name, lambda v: v)
            err = float(np.max(np.abs(f(got[name]) - f(r))))
            if err > TOLERANCE[name]:
                raise SystemExit(f"split landmark model: {name} differs from TFLite by {err:.2e} "
                                 f"(tolerance {TOLERANCE[name]:.0e})")
    log.info("split landmark model matches TFLite on all outputs")


def test_inputs(size: int, image: Path | None, lo: float) -> list[np.ndarray]:
    import cv2

    rng = np.random.default_rng(0)
    xs = []
    if image is not None:
        img = cv2.imread(str(image))
        if img is None:
            raise SystemExit(f"cannot read --image {image}")
        img = cv2.cvtColor(cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        x = img.astype(np.float32) / 255.0
        xs.append(x if lo == 0 else x * 2 - 1)
    for _ in range(2):
        smooth = rng.random((size // 16, size // 16, 3)).astype(np.float32)
        x = cv2.resize(smooth, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1)
        xs.append(x if lo == 0 else x * 2 - 1)
    return [x[None] for x in xs]


def check_match(tflite: Path, onnx_path: Path, renames: dict[str, str], inputs: list[np.ndarray]) -> dict:
    import onnxruntime as ort
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(tflite))
    interp.allocate_tensors()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst: dict[str, float] = {}
    for x in inputs:
        interp.set_tensor(interp.get_input_details()[0]["index"], x)
        interp.invoke()
        ref = {renames[d["name"]]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}
        got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"image": x})))
        for name, r in ref.items():
            if got[name].shape != r.shape:
                raise SystemExit(f"{onnx_path.name}: output {name} shape {got[name].shape} != TFLite {r.shape}")
            f = COMPARE_AS.get(name, lambda v: v)
            worst[name] = max(worst.get(name, 0.0), float(np.max(np.abs(f(got[name]) - f(r)))))
    bad = {k: v for k, v in worst.items() if v > TOLERANCE[k]}
    for k, v in worst.items():
        log.info("%s: %s max |ONNX - TFLite| = %.2e (tolerance %.0e)", onnx_path.name, k, v, TOLERANCE[k])
    if bad:
        raise SystemExit(f"{onnx_path.name}: ONNX does not match TFLite: {bad} (tolerances {TOLERANCE})")
    return worst


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "models", help="output directory (default: models/)")
    ap.add_argument("--image", type=Path, default=None, help="a natural image (person) for the match check")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    det_src, lmk_src = mediapipe_models()
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        dense = Path(tmp) / "pose_detection_dense.tflite"
        n = densify_detector(det_src, dense)
        log.info("pose_detection: replaced %d DENSIFY ops by constants", n)
        det_out = args.out / "pose_detection.onnx"
        to_onnx(dense, det_out, RENAMES["pose_detection"])
        # check against the ORIGINAL (sparse) TFLite model, not the patched one
        check_match(det_src, det_out, RENAMES["pose_detection"], test_inputs(224, args.image, -1.0))

    lmk_out = args.out / "pose_landmark_full.onnx"
    seg_out = args.out / "pose_landmark_full_segmentation.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        whole = Path(tmp) / "pose_landmark_whole.onnx"
        to_onnx(lmk_src, whole, RENAMES["pose_landmark_full"])
        check_match(lmk_src, whole, RENAMES["pose_landmark_full"], test_inputs(256, args.image, 0.0))
        split_segmentation(whole, lmk_out, seg_out)
    check_split(lmk_src, lmk_out, seg_out, RENAMES["pose_landmark_full"], test_inputs(256, args.image, 0.0))

    for p in (det_src, lmk_src, det_out, lmk_out, seg_out):
        log.info("sha256 %s  %s", sha256(p), p.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
