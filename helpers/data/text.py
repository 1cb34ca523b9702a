"""Lines of hand-printed text, for the pages of the OCR chapter (:mod:`helpers.ocr`).

The characters are drawn with the generator's styles, affine maps and elastic distortions
(:mod:`helpers.data.generator`), one line at a time, never touching their neighbours.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _glyphs as G
from .generator import _bilinear_warp, _elastic_fields, _rotation_slant_aspect, _unit_vectors

__all__ = ["render_text_image"]


def render_text_image(text: str, style: str, height: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """One line of hand-printed text: (height, W) float32 in [0, 1], background 1, ink dark.

    text:   upper-cased; spaces give word gaps; characters must exist in the style (A-Z, 0-9 always do)
    style:  a name from :func:`~helpers.data.styles` (e.g. ``'pen-futural'``, ``'hand-kalam'``)
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
