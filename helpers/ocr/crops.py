"""Step 5: crops that look like the training data.

The training characters are 32x32, paper about 1 and ink dark, the larger side of the ink box 27-31
pixels and centred, strokes about four pixels wide. For every character box, :func:`prepare_crops`
turns the page's gray levels into an ink amount (:func:`ink_amount`), centres it on a square
(:func:`crop_to_square`), brings its stroke width into the training range
(:func:`fit_stroke_width`) and averages 2x2 blocks down to 32x32 (:func:`frame_crop`).
"""
from __future__ import annotations

import math

import numpy as np

from .images import resize
from .layout import LayoutParams, PageLayout

# the gray levels of a crop: ink amount times INK_GAIN (a stroke's antialiased core reaches full ink),
# then paper 1 and full ink 1 - INK_DEPTH, dark on white like the training characters
INK_GAIN = 1.25
INK_DEPTH = 0.95


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary drawing: 2 * area / boundary pixels (a stroke of width w and
    length L has area w L and about 2 L boundary pixels)."""
    from scipy import ndimage

    area = int(mask.sum())
    if area == 0:
        return 0.0
    boundary = int((mask & ~ndimage.binary_erosion(mask)).sum())
    return 2.0 * area / max(boundary, 1)


def ink_amount(patch: np.ndarray, core: np.ndarray) -> np.ndarray:
    """How much ink each pixel around one character holds: 0 on paper, 1 in the core of its strokes.

    patch: (h, w) float32 illumination-corrected gray levels (paper about 1) around the character
    core:  (h, w) bool the character's own ink pixels; other ink in the patch becomes paper (0)
    Returns (h, w) float32 in [0, 1].
    """
    from scipy import ndimage

    mine = ndimage.binary_dilation(core)
    ink_level = float(np.percentile(patch[core], 10)) if core.any() else 0.0
    paper_level = float(np.median(patch[~mine])) if (~mine).sum() > 8 else 1.0
    paper_level = max(paper_level, ink_level + 0.2)
    amount = np.where(mine, np.clip((paper_level - patch) / (paper_level - ink_level), 0.0, 1.0), 0.0)
    return amount.astype(np.float32)


def crop_to_square(amount: np.ndarray, box: tuple[int, int, int, int], fill: float = 25) -> np.ndarray:
    """Centre a character on a square canvas, its larger side ``fill`` of 32, and resize to 64x64.

    amount: (h, w) float32 ink amount around the character (:func:`ink_amount`)
    box:    (y1, x1, y2, x2) the character's ink box inside ``amount`` (y2, x2 exclusive)
    Returns (64, 64) float32 ink amount; the aspect ratio is kept (an I stays thin, an M wide).
    """
    y1, x1, y2, x2 = box
    m = 2  # margin for antialiased edges
    canvas_side = int(math.ceil(max(y2 - y1, x2 - x1, 1) / fill * 32))
    canvas = np.zeros((canvas_side + 2 * m, canvas_side + 2 * m), np.float32)
    cy = (canvas.shape[0] - (y2 - y1)) // 2 - y1  # where amount[0, 0] lands on the canvas
    cx = (canvas.shape[1] - (x2 - x1)) // 2 - x1
    ys = slice(max(cy, 0), min(cy + amount.shape[0], canvas.shape[0]))
    xs = slice(max(cx, 0), min(cx + amount.shape[1], canvas.shape[1]))
    canvas[ys, xs] = amount[ys.start - cy:ys.stop - cy, xs.start - cx:xs.stop - cx]
    return resize(canvas[m:m + canvas_side, m:m + canvas_side], (64, 64), "bilinear" if canvas_side < 128 else "box")


def fit_stroke_width(a64: np.ndarray, stroke_range: tuple[float, float] = (2.8, 4.4)) -> np.ndarray:
    """Thicken (grey dilation) or thin (grey erosion) the strokes of a (64, 64) ink amount whose
    :func:`stroke_width` lies outside ``2 * stroke_range`` (the range is in pixels at 32x32)."""
    from scipy import ndimage

    thin, thick = 2 * stroke_range[0], 2 * stroke_range[1]
    width = stroke_width(a64 > 0.5)
    if 0 < width < thin - 0.5:
        size = int(round(thin - width)) + 1
        a64 = ndimage.grey_dilation(a64, size=(size, size))
    elif width > thick + 0.5:
        size = int(min(round(width - thick), width / 2)) + 1
        if size > 1:
            a64 = ndimage.grey_erosion(a64, size=(size, size))
    return a64


def frame_crop(amount: np.ndarray, box: tuple[int, int, int, int], params: LayoutParams | None = None) -> np.ndarray:
    """One character's ink amount framed like a training image: squared, stroke width fitted, 32x32.

    amount: (h, w) float32 ink amount around the character, paper 0 and stroke core 1 (:func:`ink_amount`)
    box:    (y1, x1, y2, x2) the character's ink box inside ``amount`` (y2, x2 exclusive)
    Returns (32, 32) float32 in [0, 1], paper 1, ink dark (the NIST36 convention). The drawing pad of
    chapter 3 (:mod:`helpers.pad`) frames the reader's drawing with this function too.
    """
    p = params or LayoutParams()
    a64 = crop_to_square(amount, box, p.fill)
    if p.normalize_stroke:
        a64 = fit_stroke_width(a64, p.stroke_range)
    a64 = np.clip(a64 * INK_GAIN, 0.0, 1.0)
    return 1.0 - INK_DEPTH * a64.reshape(32, 2, 32, 2).mean(axis=(1, 3))


def prepare_crops(layout: PageLayout, params: LayoutParams | None = None) -> np.ndarray:
    """One 32x32 image per character, made to look like the training data.

    layout: the page's :class:`PageLayout` (``norm``, ``labels``, ``boxes`` (K, 4), ``members``).
    For each box: the illumination-corrected gray levels of the character's own components (other
    ink inside the box is painted over with paper) become an ink amount (paper 0, ink core 1);
    the ink box is centred on a square canvas so that its larger side is ``fill`` pixels of 32,
    resized to 64x64, its stroke width brought into ``2 * stroke_range`` pixels when it is outside
    (grey dilation of the ink thickens, erosion thins), then 2x2-averaged to 32x32, as the training
    images were drawn (:func:`frame_crop`).

    Returns (K, 32, 32) float32 in [0, 1], background about 1, ink dark (the NIST36 convention).
    """
    p = params or LayoutParams()
    out = np.ones((len(layout.boxes), 32, 32), np.float32)
    for k, box in enumerate(layout.boxes):
        out[k] = crop_character(layout, box, layout.members[k], p)
    return out


def crop_character(layout: PageLayout, box, members, params: LayoutParams) -> np.ndarray:
    """The (32, 32) crop of one character: ``box`` (y1, x1, y2, x2) and its component labels ``members``
    of ``layout`` (see :func:`prepare_crops`)."""
    h_img, w_img = layout.norm.shape
    y1, x1, y2, x2 = (int(v) for v in box)
    Y1, X1, Y2, X2 = max(0, y1 - 2), max(0, x1 - 2), min(h_img, y2 + 2), min(w_img, x2 + 2)  # 2 px margin
    core = np.isin(layout.labels[Y1:Y2, X1:X2], members)
    amount = ink_amount(layout.norm[Y1:Y2, X1:X2], core)
    return frame_crop(amount, (y1 - Y1, x1 - X1, y2 - Y1, x2 - X1), params)
