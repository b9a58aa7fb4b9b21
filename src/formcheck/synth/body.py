"""The rendered person: an ``anny`` body (rigged MakeHuman mesh) with a phenotype, posed by joint angles.

Frames
------
anny works in its own frame (z up, the body faces -y, its left is +x). formcheck's synthetic world
frame is **y up**, metres, floor at y = 0: a body at rest faces +z and its left is +x. The motion
scripts give, per frame, a rigid *placement* of the pelvis in the world (rotation + translation)
and *joint angles* in degrees (clinical convention, see :mod:`formcheck.synth.rig`).

Nothing here runs at import: the anny model is built (and cached per process) on first use.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field

import numpy as np

from formcheck.errors import ModelError, OptionsError

log = logging.getLogger(__name__)

#: anny frame -> synthetic world frame (x stays the body's left, anny z up -> world y, anny -y -> world z)
ANNY_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

_model_lock = threading.Lock()


@dataclass(frozen=True)
class Phenotype:
    """anny phenotype parameters, each in [0, 1] (0.5 = average).

    ``age``: 0.67 is a young adult, 1.0 old; adults only here (0.55-1.0).
    ``gender``: 0 male, 1 female.
    """

    gender: float = 0.5
    age: float = 0.75
    muscle: float = 0.5
    weight: float = 0.5
    height: float = 0.5
    proportions: float = 0.5

    def __post_init__(self) -> None:
        for name in ("gender", "muscle", "weight", "height", "proportions"):
            v = getattr(self, name)
            if not (0.0 <= v <= 1.0):
                raise OptionsError(f"phenotype.{name}", "a value in [0, 1]", v)
        if not (0.55 <= self.age <= 1.0):
            raise OptionsError("phenotype.age", "an adult age parameter in [0.55, 1.0]", self.age)

    def as_dict(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in ("gender", "age", "muscle", "weight", "height", "proportions")}

    @classmethod
    def sample(cls, rng: np.random.Generator) -> "Phenotype":
        """A plausible adult patient: any gender, 25-75 years, lean to heavy, short to tall."""
        return cls(
            gender=float(rng.uniform(0.0, 1.0)),
            age=float(rng.uniform(0.64, 0.92)),
            muscle=float(rng.uniform(0.25, 0.75)),
            weight=float(rng.uniform(0.3, 0.8)),
            height=float(rng.uniform(0.25, 0.8)),
            proportions=float(rng.uniform(0.3, 0.7)),
        )


def _import_anny():
    try:
        import torch  # noqa: F401

        try:  # anny skins with NVIDIA warp, which greets on stdout unless told to be quiet
            import warp

            warp.config.quiet = True
        except ImportError:
            pass
        import anny  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelError(
            "synthetic humans need the optional extra [synth] (anny and torch==2.13.0): "
            "pip install -e '.[synth]'"
        ) from exc
    import anny
    import torch

    return anny, torch


@functools.lru_cache(maxsize=1)
def anny_model():
    """The anny full-body model, built once per process (CPU, float32, no gradients)."""
    anny, torch = _import_anny()
    with _model_lock:
        logging.getLogger("warp").setLevel(logging.WARNING)
        model = anny.Anny()
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
    return model


@functools.lru_cache(maxsize=1)
def coco_regressor():
    anny, torch = _import_anny()
    return anny.KeypointsRegressor.coco(anny_model())


@dataclass
class Body:
    """One person: phenotype, rest skeleton, mesh topology and per-vertex body regions.

    Everything is in anny's frame (pelvis at the origin); :meth:`pose` returns world coordinates.
    """

    phenotype: Phenotype
    rest_vertices: np.ndarray  # (V, 3) anny frame
    rest_bone_poses: np.ndarray  # (B, 4, 4)
    bone_labels: list[str]
    bone_parents: np.ndarray  # (B,)
    faces: np.ndarray  # (F, 3) int
    vertex_bone: np.ndarray  # (V,) index of the bone with the largest skinning weight
    _blendshape: object = field(repr=False, default=None)

    @classmethod
    def create(cls, phenotype: Phenotype | None = None) -> "Body":
        anny, torch = _import_anny()
        phenotype = phenotype or Phenotype()
        model = anny_model()
        with torch.no_grad():
            out = model(phenotype_kwargs=phenotype.as_dict())
            faces = model.get_triangular_faces().cpu().numpy().astype(np.int32)
            w = model.vertex_bone_weights.cpu().numpy()
            idx = model.vertex_bone_indices.cpu().numpy()
        vertex_bone = idx[np.arange(len(idx)), np.argmax(w, axis=1)]
        return cls(
            phenotype=phenotype,
            rest_vertices=out["rest_vertices"][0].cpu().numpy().astype(np.float64),
            rest_bone_poses=out["rest_bone_poses"][0].cpu().numpy().astype(np.float64),
            bone_labels=list(model.bone_labels),
            bone_parents=np.asarray(model.bone_parents.cpu().numpy() if hasattr(model.bone_parents, "cpu")
                                    else model.bone_parents, dtype=np.int64),
            faces=faces,
            vertex_bone=vertex_bone.astype(np.int64),
        )

    def bone(self, label: str) -> int:
        try:
            return self.bone_labels.index(label)
        except ValueError:
            raise KeyError(f"anny has no bone {label!r}") from None

    def rest_head(self, label: str) -> np.ndarray:
        return self.rest_bone_poses[self.bone(label), :3, 3]

    def segment_lengths(self) -> dict[str, float]:
        """Rest lengths (m) of the segments the motion scripts need for their inverse kinematics."""
        h = self.rest_head
        return {
            "thigh": float(np.linalg.norm(h("upperleg01.L") - h("lowerleg01.L"))),
            "shank": float(np.linalg.norm(h("lowerleg01.L") - h("foot.L"))),
            "trunk": float(np.linalg.norm(h("upperleg01.L")[[1, 2]] - h("upperarm01.L")[[1, 2]])),
            "upper_arm": float(np.linalg.norm(h("upperarm01.L") - h("lowerarm01.L"))),
            "forearm": float(np.linalg.norm(h("lowerarm01.L") - h("wrist.L"))),
            "ankle_height": float(h("foot.L")[2] - self.rest_vertices[:, 2].min()),
            "hip_width": float(abs(h("upperleg01.L")[0] - h("upperleg01.R")[0])),
            "pelvis_height": float(-self.rest_vertices[:, 2].min()),
        }

    def skin(self, bone_rotations: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Pose the mesh with per-bone world rotations (anny frame).

        ``bone_rotations`` (T, B, 3, 3): the rotation that each bone undergoes from rest (its
        "global delta"); each bone's head follows its parent (anny's ``world-orient``).
        Returns vertices (T, V, 3) and bone heads (T, B, 3), anny frame, pelvis fixed at the origin.
        """
        anny, torch = _import_anny()
        model = anny_model()
        T = bone_rotations.shape[0]
        R_rest = self.rest_bone_poses[:, :3, :3]
        verts, heads = [], []
        with torch.no_grad():
            for s in range(0, T, batch):
                G = bone_rotations[s:s + batch]
                n = G.shape[0]
                D = np.tile(np.eye(4), (n, len(self.bone_labels), 1, 1))
                D[:, :, :3, :3] = G @ R_rest[None]
                D[:, 0, :3, 3] = self.rest_bone_poses[0, :3, 3]
                out = model(
                    pose_parameters=torch.as_tensor(D, dtype=model.dtype),
                    phenotype_kwargs=self.phenotype.as_dict(),
                    pose_parameterization="world-orient",
                )
                verts.append(out["vertices"].cpu().numpy().astype(np.float64))
                heads.append(out["bone_poses"][:, :, :3, 3].cpu().numpy().astype(np.float64))
        return np.concatenate(verts), np.concatenate(heads)
