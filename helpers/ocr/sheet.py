"""Step 0: the sheet of paper in the photo, and turning a page upright.

A reader's photo often shows the desk around the page, and the page turned by tens of degrees. The
paper is the largest bright region; it is taken for a sheet lying on a darker surface only when
that surface is much darker *and* the border between them is sharp (a shadow across a page is
soft, so a page filling the frame is left alone). Everything outside the sheet is masked, so the
desk's grain never becomes characters. Large rotations are measured from the text lines
(:func:`.lines.estimate_skew` over +-45 degrees) and undone before the lines are grouped.
"""
from __future__ import annotations

import numpy as np


def find_sheet(gray: np.ndarray, darker: float = 0.6, sharpness: float = 0.12) -> np.ndarray | None:
    """The sheet of paper as an (h, w) bool mask, or None when the paper fills the photo.

    gray: (h, w) float32 in [0, 1]. On a copy reduced to about 256 pixels a side: Otsu's threshold,
    the largest bright region (holes filled). It is a sheet when it covers 3-97% of the photo, the rest
    is darker than ``darker`` times the paper, and the border inside the frame is sharp: the median
    gradient there is at least ``sharpness`` of the contrast per pixel (soft shadows stay below 0.06).
    """
    from scipy import ndimage
    from skimage import filters

    h, w = gray.shape
    f = max(1, int(np.ceil(max(h, w) / 256)))
    hs, ws = h // f, w // f
    small = gray[:hs * f, :ws * f].reshape(hs, f, ws, f).mean(axis=(1, 3))
    small = ndimage.gaussian_filter(small, 1.0)
    if small.max() - small.min() < 0.1:
        return None
    bright = ndimage.binary_opening(small > filters.threshold_otsu(small), iterations=2)
    labels, n = ndimage.label(bright)
    if n == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    sheet = ndimage.binary_fill_holes(labels == 1 + int(sizes.argmax()))
    frac = sheet.mean()
    if not 0.03 < frac < 0.97:
        return None
    inside, outside = float(np.median(small[sheet])), float(np.median(small[~sheet]))
    if outside > darker * inside:
        return None
    border = sheet & ~ndimage.binary_erosion(sheet)
    border[:2], border[-2:], border[:, :2], border[:, -2:] = False, False, False, False
    if border.sum() < 10:
        return None
    grad = np.hypot(ndimage.sobel(small, 0), ndimage.sobel(small, 1)) / 8  # per pixel
    grad = ndimage.maximum_filter(grad, 3)  # the steepest point near each border pixel
    if np.median(grad[border]) < sharpness * (inside - outside):
        return None
    # back to the working size, a little inside the border (its pixels mix paper and desk)
    from .images import resize

    mask = resize(sheet.astype(np.float32), (hs * f, ws * f)) > 0.5
    mask = np.pad(mask, ((0, h - hs * f), (0, w - ws * f)), mode="edge")
    return ndimage.binary_erosion(mask, iterations=max(2, int(0.004 * max(h, w))))


def turn(image: np.ndarray, degrees: float, fill: float) -> np.ndarray:
    """(h', w') float32 ``image`` turned counter-clockwise by ``degrees`` (bilinear, canvas expanded to
    hold it all, new corners ``fill``)."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F")
    return np.asarray(im.rotate(degrees, resample=Image.BILINEAR, expand=True, fillcolor=float(fill)), np.float32)


def unturn_boxes(boxes: np.ndarray, degrees: float, turned_shape: tuple, shape: tuple) -> np.ndarray:
    """(K, 4) boxes [y1, x1, y2, x2] found in an image turned by :func:`turn` (``turned_shape``) as
    the upright boxes around them in the original image (``shape``), float."""
    if len(boxes) == 0 or not degrees:
        return boxes.astype(np.float64)
    t = np.deg2rad(degrees)
    c, s = np.cos(t), np.sin(t)
    (Ht, Wt), (H, W) = turned_shape[:2], shape[:2]
    ys = boxes[:, [0, 0, 2, 2]].astype(np.float64) - Ht / 2
    xs = boxes[:, [1, 3, 1, 3]].astype(np.float64) - Wt / 2
    # the turned image shows the original turned counter-clockwise: undo with a clockwise turn
    xo = c * xs - s * ys + W / 2
    yo = s * xs + c * ys + H / 2
    return np.stack([yo.min(1), xo.min(1), yo.max(1), xo.max(1)], 1)
