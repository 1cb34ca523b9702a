"""The NIST36-compatible character generator: random drawing parameters, then two rendering stages.

Each image is one glyph of a style (pen strokes, handwriting fonts, plain fonts; see
:mod:`helpers._glyphs`) drawn at 64x64 with a random affine map and pen (stage 1,
:func:`_render_sources`), then given its stroke width, an elastic distortion, 2x2 pooling to 32x32,
blur, contrast and noise (stage 2, :func:`_finish`, vectorized over a chunk). All random numbers of
a split are drawn first (:func:`_draw_params`), so the result does not depend on how it is chunked.

This file holds the drawing code and nothing else: the cache key of the generated sets
(:func:`helpers.data.cache.cache_path`) hashes this whole file and :mod:`helpers._glyphs`, so any
edit here draws the sets again. Code the drawing uses belongs here (or in ``_glyphs``), not in
another module, or the key would not see it change (``tests/test_data.py`` checks this).
"""
from __future__ import annotations

import math
import sys

import numpy as np

from .. import config
from .. import _glyphs as G
from .charset import CLASSES, SPLITS, CharacterSet, _check_split

__all__ = ["GENERATOR_VERSION", "PARAMS", "V2_PARAMS", "LOWERCASE_SHARE", "V3_HANDS", "CHUNK", "styles", "style_groups", "generate_characters"]

GENERATOR_VERSION = 3  # part of every cache key, with PARAMS and a hash of the drawing code

# Random ranges of the generator (part of the cache key). Lengths are in pixels of the 32x32 image.
# Version 3 is fitted to statistics measured on real NIST letters (the data chapter's table, "target"
# column): ink boxes of 21-30 px (larger side, 10th-90th percentile) that touch the frame in about one image
# in eight, strokes of 2.8-4.4 px, slants from -9 to +30 degrees, crisp edges (under half of the ink pixels
# grey), and lowercase forms for the letters NIST writers often write small (LOWERCASE_SHARE).
# Version 2 (V2_PARAMS) drew larger (27-31 px, half touching the frame), thicker, greyer characters.
PARAMS: dict[str, object] = {
    "size": (19.5, 29.5),        # larger side of the character's ink box, before the pen and the bending
    "rotate_deg": 3.0,           # rotation: normal, this standard deviation, clipped at 3 sd
    "slant": (0.09, 0.16),       # shear x -= slant * y (right-leaning > 0): normal mean, sd; clipped at 3 sd
    "aspect": 0.12,              # log of width/height stretch, normal sd
    "aspect_mean": 0.20,         # ... and its mean (> 0: wider; real letters are about as wide as tall)
    "shift": 0.6,                # centre offset, normal sd (kept inside the frame)
    "pen": (1.8, 2.7),           # pen diameter for stroke styles
    "pen_jitter": 0.025,         # stroke-point wobble, in cap heights
    "stroke_shift": 0.015,       # whole-stroke offset, in cap heights
    "font_width": (1.8, 2.7),    # stroke width aimed at for font styles ...
    "font_width_mix": 0.25,      # ... mixed with the font's own width at this ratio (low: an even pen)
    "elastic": (0.0, 2.5),       # amplitude of the smooth elastic distortion (real hands bend letters)
    "mid": 0.07,                 # middle of the character moved up/down by this share of its height (normal sd)
    "taper": 0.08,               # top wider than bottom (or the reverse): normal sd of the relative change
    "blur": (0.0, 0.1),          # gaussian blur sigma (the 2x2 pooling alone leaves a one-pixel soft edge)
    "ink": (0.0, 0.15),          # ink darkness (0 black): pens and pressures differ
    "ink_gain": (2.0, 3.2),      # stroke-centre saturation (> 1: crisper edges, fewer grey pixels)
    "background_drop": 0.0,      # paper below 1 by |normal| with this sd (0: pure white, as in NIST36)
    "noise": (0.0, 0.0),         # pixel noise sd (none: NIST36's paper is clean)
    "lowercase": 1.0,            # times LOWERCASE_SHARE (0: capitals only, as version 2)
    "hands_v3": 1.0,             # weight of the handwriting fonts version 3 added (V3_HANDS; 0: version 2's hands)
}

# The settings version 2 used where version 3 differs, for the generator study (one group at a time).
V2_PARAMS: dict[str, object] = {
    "size": (27.0, 31.0), "shift": 0.7, "aspect_mean": 0.0,
    "pen": (2.4, 3.8), "font_width": (2.4, 3.8), "blur": (0.0, 0.45), "ink": (0.0, 0.25), "ink_gain": (1.0, 1.5),
    "slant": (0.04, 0.10),
    "lowercase": 0.0, "hands_v3": 0.0,
}

# Lowercase forms per letter class: the share of the 260 real NIST letters of the book's development sample
# (10 per class) written in the lowercase form, counted by eye: f 4, m 6, n 1, q 2, u 6, y 2 of 10; no other
# class had a lowercase form in the sample (c, o, s, v, w, x, z look alike in both cases once framed).
LOWERCASE_SHARE: dict[str, float] = {"F": 0.4, "M": 0.6, "N": 0.1, "Q": 0.2, "U": 0.6, "Y": 0.2}

# Handwriting fonts version 3 added (more hands: shape variety is what the version-2 study missed).
V3_HANDS = ("hand-zeyada", "hand-delius")


def _settings(overrides: dict | None) -> dict[str, object]:
    """PARAMS with ``overrides`` applied (same keys and shapes); an unknown key is an error."""
    merged = dict(PARAMS)
    for key, value in (overrides or {}).items():
        if key not in PARAMS:
            raise ValueError(f"unknown generator setting {key!r}; the settings are the keys of "
                             f"helpers.data.PARAMS: {', '.join(PARAMS)}")
        if np.shape(value) != np.shape(PARAMS[key]):
            raise ValueError(f"generator setting {key!r} must look like {PARAMS[key]!r} (a number or a (low, high) "
                             f"pair as in helpers.data.PARAMS); got {value!r}")
        merged[key] = tuple(value) if isinstance(value, (list, tuple)) else value
    return merged


def styles(split: str) -> list[str]:
    """The style names used for ``split``: train and valid share the training styles,
    test uses only the held-out styles (``'all'`` lists every installed style)."""
    _check_split(split, ("all",))
    want = {"train": "train", "valid": "train", "test": "test"}.get(split)
    return [s.name for s in G.available_styles() if want is None or s.split == want]


def style_groups() -> dict[str, str]:
    """style name -> group (``'pen'`` strokes, ``'hand'`` handwriting fonts, ``'print'`` plain fonts)."""
    return {s.name: s.group for s in G.available_styles()}


def _n_per_class(split: str, n_per_class: int | None) -> int:
    _check_split(split)
    n = config.budget(f"chars_{split}_per_class") if n_per_class is None else n_per_class
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n!r}")
    return int(n)


def _split_rng(split: str, seed: int) -> np.random.Generator:
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng([config.seeded(int(seed)), SPLITS.index(split), 36_2017])


def _choose_styles(names: list[str], n: int, rng: np.random.Generator, hands_v3: float = 1.0) -> np.ndarray:
    """Style index per sample: a group by GROUP_WEIGHTS, then a style of that group by its share
    (the styles of V3_HANDS weighted by ``hands_v3``)."""
    groups = style_groups()
    present = sorted({groups[s] for s in names}, key=list(G.GROUP_WEIGHTS).index)
    w = np.array([G.GROUP_WEIGHTS[g] for g in present])
    share = {s.name: s.share * (hands_v3 if s.name in V3_HANDS else 1.0) for s in G.available_styles()}
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


def _unit_vectors(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    a = rng.uniform(0, 2 * np.pi, shape)
    return np.stack([np.sin(a), np.cos(a)], axis=-1)


def _draw_params(names: list[str], labels: np.ndarray, rng: np.random.Generator,
                 P: dict[str, object]) -> dict[str, np.ndarray]:
    """All random numbers of a split, drawn at once (so chunking never changes the result);
    P: the generator settings (:data:`PARAMS` or :func:`_settings`)."""
    n = len(labels)
    u = lambda lo_hi: rng.uniform(lo_hi[0], lo_hi[1], n)  # noqa: E731
    clipped = lambda sd: np.clip(rng.normal(0, sd, n), -3 * sd, 3 * sd)  # noqa: E731
    K = 3
    return {
        "style": _choose_styles(names, n, rng, float(P["hands_v3"])),
        "variant": rng.uniform(0, 1, n),
        "size": u(P["size"]),
        "theta": np.deg2rad(clipped(P["rotate_deg"])),
        "slant": P["slant"][0] + clipped(P["slant"][1]),
        "aspect": P["aspect_mean"] + clipped(P["aspect"]),
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
        "lower": rng.uniform(0, 1, n) < P["lowercase"] * np.array([LOWERCASE_SHARE.get(CLASSES[c], 0.0) for c in labels]),
        "settings": P,
    }


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
        char = CLASSES[labels[i]].lower() if p["lower"][i] else CLASSES[labels[i]]
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
            jitter = jr.normal(0, p["settings"]["pen_jitter"], g.points.shape)
            start = 0
            for stroke in g.strokes:
                jitter[start:start + len(stroke)] += jr.normal(0, p["settings"]["stroke_shift"], 2)
                start += len(stroke)
        else:
            nominal = g.stroke * s
            mix = p["settings"]["font_width_mix"]
            target = mix * nominal + (1 - mix) * 2 * p["font_width"][i]
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
                        progress: bool | None = None, settings: dict | None = None) -> CharacterSet:
    """Draw a split without touching the cache (:func:`load_characters` caches this).

    settings: replaces some of the random ranges of :data:`PARAMS` for this call only, e.g.
    ``{"elastic": (0.0, 1.5)}`` or :data:`V2_PARAMS` (the random numbers drawn stay the same; the
    ``source`` then says ``custom settings``).
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
    p = _draw_params(names, labels, rng, _settings(settings))
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
    custom = ", custom settings" if settings else ""
    return CharacterSet(images, labels.astype(np.int64), f"generated NIST36-compatible ({split}, seed {seed}{custom})",
                        split, style_names)
