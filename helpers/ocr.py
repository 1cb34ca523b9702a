"""Text extraction from photographed hand-printed pages (chapter 4).

The classic pipeline of the homework, built with scikit-image and sized for phone photos::

    photo (H, W, 3) uint8
      -> grayscale, box-downscaled to a working size (at most ``max_side`` pixels a side)
      -> illumination correction (divide by a background estimated by max-pooling + grey closing)
      -> denoising (a small gaussian) -> one global threshold (Otsu's, kept out of the paper's noise,
         plus an offset)
      -> binary closing, connected components (``measure.label`` / ``regionprops``)
      -> merge pieces of one character (stacked pieces, e.g. a broken stroke), drop specks
      -> lines (skew estimated from the box centres, then 1-D clustering), left-to-right order,
         word gaps -> spaces
      -> crops prepared like the training images (square, 32x32, ink dark, stroke width brought into
         the training range)
      -> one batch through a character classifier, words read as all letters or all digits -> lines

::

    from helpers import ocr
    boxes, bw = ocr.findLetters(photo)           # (K, 4) [y1, x1, y2, x2]; bw: ink 0, paper 1
    reader = ocr.load_reader("cnn")              # trains and caches the model on first use
    reader(photo)                                # ['TO DO LIST', '1 MAKE A TO DO LIST', ...]
    page = ocr.make_test_page(seed=3)            # a generated photo with known text
    ocr.char_accuracy(reader(page.image), page.lines)

Command line: ``python -m helpers ocr [--model mlp|cnn] [--json] IMAGE...``.
"""
from __future__ import annotations

import contextlib
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .data import CLASSES

__all__ = [
    "LayoutParams", "PageLayout", "PageReading", "TestPage", "HOMEWORK_PAGES",
    "findLetters", "analyze_page", "prepare_crops", "read_page", "load_classifier", "load_reader",
    "make_test_page", "char_accuracy", "edit_distance", "line_count_correct", "evaluate_reader",
    "decode", "resolve_model", "stroke_width", "confusions", "random_lines", "char_correct",
    "degradation_curve", "DEGRADATIONS",
    "plot_layout", "plot_steps", "plot_threshold", "plot_crops", "plot_reading", "text_bounds",
    "OCRImageError", "read_image", "MODELS",
]

MODELS = ("mlp", "cnn")
Classifier = Callable[[np.ndarray], np.ndarray]


class OCRImageError(ValueError):
    """An input is missing, unreadable or not an image."""


# ---------------------------------------------------------------------------------------------------
# Parameters of the layout analysis
# ---------------------------------------------------------------------------------------------------


@dataclass
class LayoutParams:
    """Settings of the reading pipeline (lengths are relative, so they work at any resolution).

    max_side:         the photo is box-downscaled by an integer factor to at most this many pixels a side
    threshold_offset: added to the threshold of the illumination-corrected image (paper = 1), which is
                      Otsu's unless that lies in the paper's noise; positive keeps more (fainter) ink
    morph_size:       radius (working pixels) of the binary closing that mends broken strokes; 0 = none
    denoise:          sigma (working pixels) of the gaussian applied before thresholding
    merge:            merge components stacked above each other (pieces of one character)
    speck_area:       components smaller than this fraction of the typical character area are dropped
    space_gap:        a gap wider than this many character heights is a space between words ...
    space_margin:     ... if it also exceeds the page's median gap between neighbours by this many heights
    line_gap:         box centres further apart than this many character heights start a new line
    stroke_range:     stroke widths (pixels of the 32x32 crop, by :func:`stroke_width`) the crops are brought
                      into; the training characters' 10th-90th percentiles are about 2.2-4.7
    fill:             the larger side of a character's ink box in the 32x32 crop (the training data: 20-28)
    normalize_stroke: thicken or thin strokes outside ``stroke_range`` (off: keep the photo's)
    context:          read each word as all letters or all digits, whichever is more likely (:func:`decode`)
    """

    max_side: int = 1600
    threshold_offset: float = 0.0
    morph_size: int = 1
    denoise: float = 0.7
    merge: bool = True
    speck_area: float = 0.06
    space_gap: float = 0.45
    space_margin: float = 0.25
    line_gap: float = 0.6
    stroke_range: tuple = (2.2, 4.6)
    fill: int = 24
    normalize_stroke: bool = True
    context: bool = True


@dataclass
class PageLayout:
    """What :func:`analyze_page` finds, in working-resolution pixels unless said otherwise.

    scale:     the integer downscaling factor (input pixels per working pixel)
    gray:      (h, w) float32 grayscale of the downscaled photo, in [0, 1]
    background:(h, w) float32 the estimated paper brightness
    norm:      (h, w) float32 gray / background, clipped to [0, 1] (paper about 1)
    threshold: the threshold applied to the smoothed ratio gray / background
    ink:       (h, w) bool, after thresholding and closing (True = ink)
    labels:    (h, w) int32 connected components of ``ink`` (0 = paper)
    boxes:     (K, 4) int [y1, x1, y2, x2] (y2, x2 exclusive) of the kept characters, reading order
    members:   K lists of component labels forming each character
    line_of:   (K,) int line index of each character (lines top to bottom)
    space_before: (K,) bool, a word gap precedes the character in its line
    stroke:    (K,) float stroke width estimate of each character (working pixels)
    height:    the typical character height (working pixels)
    skew_deg:  the estimated angle of the text lines (degrees, counter-clockwise positive)
    dropped:   (M, 4) boxes of components dropped as specks or as too big
    input_shape: (H, W) of the input image
    otsu, paper, spread: Otsu's threshold, the paper level and its robust standard deviation (of the
               smoothed, illumination-corrected image); ``threshold = min(otsu, 0.8, paper - 4.5 spread)
               + threshold_offset``
    """

    scale: int
    gray: np.ndarray
    background: np.ndarray
    norm: np.ndarray
    threshold: float
    ink: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    members: list
    line_of: np.ndarray
    space_before: np.ndarray
    stroke: np.ndarray
    height: float
    skew_deg: float
    dropped: np.ndarray
    input_shape: tuple = ()
    otsu: float = float("nan")
    paper: float = float("nan")
    spread: float = float("nan")

    @property
    def n_lines(self) -> int:
        return int(self.line_of.max() + 1) if len(self.line_of) else 0

    def boxes_full(self) -> np.ndarray:
        """(K, 4) boxes in the input image's pixels."""
        b = self.boxes.astype(np.int64) * self.scale
        H, W = self.input_shape[:2]
        return np.minimum(b, np.array([H, W, H, W]))


@dataclass
class PageReading:
    """The result of reading a page: ``lines`` plus everything behind them.

    lines:  the recognized text, one string per line (spaces between words)
    layout: the :class:`PageLayout` (boxes in working pixels, ``layout.boxes_full()`` in input pixels)
    crops:  (K, 32, 32) float32 the classifier's inputs, in reading order
    probs:  (K, 36) float32 the classifier's outputs
    chars:  the K recognized characters in reading order (:func:`decode` of ``probs``)
    """

    lines: list
    layout: PageLayout
    crops: np.ndarray
    probs: np.ndarray
    chars: str


# ---------------------------------------------------------------------------------------------------
# Input images
# ---------------------------------------------------------------------------------------------------


def read_image(path: str | Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB, turned upright by its EXIF orientation (phone photos).

    Raises :class:`OCRImageError` with a readable message when the file is missing, is a folder,
    or is not an image PIL can decode.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise OCRImageError(f"{path}: no such file")
    if p.is_dir():
        raise OCRImageError(f"{path}: is a folder, not an image file")
    try:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit or float gray: scale to 8 bits
                x = np.asarray(im, dtype=np.float64)
                x = x / (65535.0 if x.max() > 255 else 255.0)
                arr = np.repeat((np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=2)
            elif "A" in im.getbands() or "transparency" in im.info:  # transparent parts become white paper
                rgba = im.convert("RGBA")
                paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                paper.alpha_composite(rgba)
                arr = np.asarray(paper.convert("RGB"))
            else:
                arr = np.asarray(im.convert("RGB"))
    except UnidentifiedImageError:
        raise OCRImageError(f"{path}: not an image file (PIL cannot identify it; use a JPEG or PNG photo)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise OCRImageError(f"{path}: unreadable image ({type(exc).__name__}: {exc})") from None
    if arr.ndim != 3 or arr.shape[0] < 8 or arr.shape[1] < 8:
        raise OCRImageError(f"{path}: image of shape {arr.shape} is too small to hold text")
    return arr


def _check_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"image must be (H, W) gray or (H, W, 3) RGB (uint8, or float in [0, 1]); got shape "
                         f"{image.shape}")
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise ValueError(f"image of shape {image.shape} is too small to hold text")
    if image.dtype != np.uint8:
        if not np.issubdtype(image.dtype, np.number) or np.issubdtype(image.dtype, np.complexfloating):
            raise ValueError(f"image must hold numbers, got dtype {image.dtype}")
        image = image.astype(np.float32, copy=False)
        if not np.isfinite(image).all():
            raise ValueError("image contains NaN or infinite values")
        if image.max() > 1.0 + 1e-3 or image.min() < -1e-3:
            raise ValueError(f"a float image must be in [0, 1] (got [{image.min():.3g}, {image.max():.3g}]); "
                             "pass uint8 for 0-255 data")
    return image


_GRAY_WEIGHTS = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)  # skimage.color.rgb2gray


def _gray_reduced(image: np.ndarray, factor: int) -> np.ndarray:
    """Grayscale (skimage's rgb2gray weights) averaged over factor x factor blocks: float32 [0, 1]."""
    if image.dtype == np.uint8:
        from PIL import Image

        im = Image.fromarray(image)
        if factor > 1:
            im = im.reduce(factor)  # box filter in C: fast even on 12-megapixel photos
        x = np.asarray(im, dtype=np.float32) * np.float32(1 / 255)
    else:
        x = image
        if factor > 1:
            h, w = x.shape[0] // factor * factor, x.shape[1] // factor * factor
            x = x[:h, :w].reshape(h // factor, factor, w // factor, factor, *x.shape[2:]).mean(axis=(1, 3))
    if x.ndim == 3:
        x = x @ _GRAY_WEIGHTS
    return np.ascontiguousarray(x, dtype=np.float32)


def _resize(x: np.ndarray, shape: tuple[int, int], resample: str = "bilinear") -> np.ndarray:
    """Resize a float32 image with PIL (antialiased when shrinking)."""
    from PIL import Image

    mode = {"bilinear": Image.BILINEAR, "box": Image.BOX, "bicubic": Image.BICUBIC}[resample]
    im = Image.fromarray(np.ascontiguousarray(x, dtype=np.float32), mode="F")
    return np.asarray(im.resize((int(shape[1]), int(shape[0])), mode), dtype=np.float32)


# ---------------------------------------------------------------------------------------------------
# Layout: findLetters and friends
# ---------------------------------------------------------------------------------------------------


def _background(gray: np.ndarray) -> np.ndarray:
    """Paper brightness at every pixel: max-pool (removes thin dark ink), grey closing (removes the
    rest of the ink but keeps the edges of large dark regions such as shadows), smooth, upsample."""
    from scipy import ndimage

    h, w = gray.shape
    p = max(2, int(round(max(h, w) / 200)))
    H, W = -(-h // p) * p, -(-w // p) * p
    padded = np.pad(gray, ((0, H - h), (0, W - w)), mode="edge")
    small = padded.reshape(H // p, p, W // p, p).max(axis=(1, 3))
    small = ndimage.grey_closing(small, size=(5, 5), mode="nearest")
    small = ndimage.gaussian_filter(small, 1.0, mode="nearest")
    bg = _resize(small, (H, W))[:h, :w]
    return np.maximum(bg, 1e-3)


def _union_find(n: int, pairs: np.ndarray) -> np.ndarray:
    """Component id of each of n items joined by the (M, 2) pairs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(pairs) == 0:
        return np.arange(n)
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(g, directed=False)[1]


def _typical_height(heights: np.ndarray, areas: np.ndarray) -> float:
    """Median height of the components that are not specks (area >= 1/4 of the 90th percentile)."""
    if len(heights) == 0:
        return 0.0
    big = areas >= 0.25 * np.percentile(areas, 90)
    return float(np.median(heights[big]))


def _merge_pieces(boxes: np.ndarray, height: float) -> np.ndarray:
    """Group id per box: pieces whose columns overlap by half the narrower piece and whose vertical
    gap is small (a broken stroke, the dot of an i) belong to one character, if the merged box stays
    about one character tall."""
    y1, x1, y2, x2 = boxes.T.astype(np.float64)
    wdt = x2 - x1
    ov = np.minimum(x2[:, None], x2[None]) - np.maximum(x1[:, None], x1[None])
    vgap = np.maximum(y1[:, None], y1[None]) - np.minimum(y2[:, None], y2[None])
    merged_h = np.maximum(y2[:, None], y2[None]) - np.minimum(y1[:, None], y1[None])
    ok = (ov > 0.5 * np.minimum(wdt[:, None], wdt[None])) & (vgap < 0.45 * height) & (merged_h < 1.5 * height)
    np.fill_diagonal(ok, False)
    i, j = np.nonzero(np.triu(ok))
    return _union_find(len(boxes), np.stack([i, j], 1))


def _aggregate(group: np.ndarray, boxes: np.ndarray, area: np.ndarray, boundary: np.ndarray):
    """Box (union), area and boundary length of each group id 0..max(group)."""
    n_groups = int(group.max() + 1) if len(group) else 0
    g_box = np.zeros((n_groups, 4), np.int64)
    if len(group):
        g_box[:, :2] = np.iinfo(np.int64).max
        np.minimum.at(g_box[:, 0], group, boxes[:, 0])
        np.minimum.at(g_box[:, 1], group, boxes[:, 1])
        np.maximum.at(g_box[:, 2], group, boxes[:, 2])
        np.maximum.at(g_box[:, 3], group, boxes[:, 3])
    return g_box, np.bincount(group, area, minlength=n_groups), np.bincount(group, boundary, minlength=n_groups)


def _attach_fragments(group: np.ndarray, g_box: np.ndarray, g_area: np.ndarray, height: float) -> np.ndarray:
    """Join small fragments (less than half a character tall and wide, under a third of the typical
    area: a broken serif, the end of a stroke) to the nearest character whose box is at most
    0.15 character heights away; returns the new group id of every component (ids compacted)."""
    if len(g_box) < 2:
        return group
    typical = np.median(g_area[g_area >= 0.25 * np.percentile(g_area, 90)])
    side = np.maximum(g_box[:, 2] - g_box[:, 0], g_box[:, 3] - g_box[:, 1])
    small = (g_area < typical / 3) & (side < 0.5 * height)
    big = np.nonzero(~small)[0]
    if not small.any() or len(big) == 0:
        return group
    target = np.arange(len(g_box))
    for i in np.nonzero(small)[0]:
        b = g_box[big]
        dy = np.maximum(0, np.maximum(b[:, 0] - g_box[i, 2], g_box[i, 0] - b[:, 2]))
        dx = np.maximum(0, np.maximum(b[:, 1] - g_box[i, 3], g_box[i, 1] - b[:, 3]))
        d = np.hypot(dy, dx)
        j = int(d.argmin())
        if d[j] <= 0.15 * height:
            target[i] = big[j]
    return np.unique(target[group], return_inverse=True)[1]


def _estimate_skew(cy: np.ndarray, cx: np.ndarray, height: float) -> float:
    """Angle (radians) that makes the box centres fall on the fewest horizontal lines: the angle
    whose projection histogram of rotated centre heights is sharpest (sum of squared counts)."""
    if len(cy) < 4:
        return 0.0
    angles = np.deg2rad(np.linspace(-8, 8, 65))
    best, best_score = 0.0, -np.inf
    bin_w = max(height / 3, 1.0)
    for a in angles:
        yr = cy * math.cos(a) - cx * math.sin(a)
        counts = np.bincount(((yr - yr.min()) / bin_w).astype(np.int64))
        score = float((counts.astype(np.float64) ** 2).sum()) - 1e-6 * abs(a)  # ties -> smallest angle
        if score > best_score:
            best, best_score = a, score
    return best


def _group_lines(boxes: np.ndarray, height: float, params: LayoutParams):
    """Reading order: (order, line_of, space_before, skew). Lines are found in the frame rotated by
    the estimated skew: box centres sorted by height, a new line where consecutive centres are
    more than ``line_gap`` character heights apart; then each line is sorted left to right."""
    K = len(boxes)
    if K == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool), 0.0
    cy = (boxes[:, 0] + boxes[:, 2]) / 2.0
    cx = (boxes[:, 1] + boxes[:, 3]) / 2.0
    a = _estimate_skew(cy, cx, height)
    yr = cy * math.cos(a) - cx * math.sin(a)
    xr = cx * math.cos(a) + cy * math.sin(a)
    by_y = np.argsort(yr, kind="stable")
    new_line = np.r_[False, np.diff(yr[by_y]) > params.line_gap * height]
    line_sorted = np.cumsum(new_line)
    line_of = np.empty(K, np.int64)
    line_of[by_y] = line_sorted
    order = np.lexsort((xr, line_of))
    half_w = (boxes[:, 3] - boxes[:, 1]) / 2.0
    # gaps between neighbours, in character heights of their line
    gap = np.full(K, -np.inf)
    for ln in range(int(line_of.max()) + 1):
        idx = order[line_of[order] == ln]
        if len(idx) < 2:
            continue
        h_line = max(float(np.median(boxes[idx, 2] - boxes[idx, 0])), 0.6 * height)
        gap[idx[1:]] = ((xr[idx[1:]] - half_w[idx[1:]]) - (xr[idx[:-1]] + half_w[idx[:-1]])) / h_line
    # a space is a gap wider than space_gap heights and clearly wider than the typical letter gap
    finite = gap[np.isfinite(gap)]
    limit = max(params.space_gap, float(np.median(finite)) + params.space_margin) if len(finite) else params.space_gap
    return order, line_of, gap > limit, float(np.rad2deg(-a))


def analyze_page(image, params: LayoutParams | None = None, **overrides) -> PageLayout:
    """The layout of a page: characters (boxes), lines and word gaps, with every intermediate image.

    image: (H, W, 3) or (H, W) uint8, or float in [0, 1]; dark ink on lighter paper.
    params / overrides: :class:`LayoutParams` fields, e.g. ``analyze_page(img, threshold_offset=0.05)``.
    Returns a :class:`PageLayout` (working-resolution pixels; ``boxes_full()`` for input pixels).
    """
    from scipy import ndimage
    from skimage import filters, measure, morphology

    params = _params(params, overrides)
    image = _check_image(image)
    H, W = image.shape[:2]
    factor = max(1, math.ceil(max(H, W) / params.max_side))
    for _attempt in range(2):
        gray = _gray_reduced(image, factor)
        background = _background(gray)
        ratio = np.minimum(gray / background, 1.5)  # paper about 1 (not clipped at 1: keeps the noise symmetric)
        norm = np.minimum(ratio, 1.0)
        smooth = ndimage.gaussian_filter(ratio, params.denoise) if params.denoise > 0 else ratio
        sample = smooth[::2, ::2] if smooth.size > 400_000 else smooth
        # Otsu's threshold, but never inside the paper's own noise (Otsu fails when ink is rare and the
        # paper noisy): at most 4.5 robust standard deviations below the paper level
        otsu = float(filters.threshold_otsu(sample)) if sample.max() - sample.min() > 1e-3 else 0.5
        paper = float(np.median(sample))
        spread = 1.4826 * float(np.median(np.abs(sample - paper)))
        threshold = float(np.clip(min(otsu, 0.8, paper - 4.5 * spread) + params.threshold_offset, 0.0, 1.5))
        ink = smooth < threshold
        if params.morph_size > 0:
            ink = ndimage.binary_closing(ink, morphology.disk(params.morph_size), border_value=0)
        ink = morphology.remove_small_objects(ink, max_size=max(2, int(2e-5 * ink.size)))
        labels = measure.label(ink, connectivity=2).astype(np.int32)
        regions = measure.regionprops(labels)
        n = len(regions)
        comp_boxes = np.array([r.bbox for r in regions], dtype=np.int64).reshape(n, 4)
        comp_area = np.array([r.area for r in regions], dtype=np.float64)
        height = _typical_height(comp_boxes[:, 2] - comp_boxes[:, 0], comp_area)
        # small characters at a coarse scale: read again at a finer one
        if factor > 1 and 0 < height < 18:
            factor = max(1, int(factor * height / 24))
            continue
        break
    comp_labels = np.array([r.label for r in regions], dtype=np.int64)
    # stroke width of every component: 2 * area / boundary pixels
    edge = ink & ~ndimage.binary_erosion(ink)
    boundary = np.bincount(labels[edge], minlength=labels.max() + 1).astype(np.float64)[comp_labels] if n else comp_area
    # pieces of one character: stacked pieces, then small fragments beside a character
    group = _merge_pieces(comp_boxes, height) if (params.merge and n) else np.arange(n)
    g_box, g_area, g_bound = _aggregate(group, comp_boxes, comp_area, boundary)
    if params.merge and n:
        group = _attach_fragments(group, g_box, g_area, height)
        g_box, g_area, g_bound = _aggregate(group, comp_boxes, comp_area, boundary)
    # specks and blobs
    gh, gw = g_box[:, 2] - g_box[:, 0], g_box[:, 3] - g_box[:, 1]
    typical_area = np.median(g_area[g_area >= 0.25 * np.percentile(g_area, 90)]) if len(g_area) else 0.0
    speck = (g_area < params.speck_area * typical_area) | (np.maximum(gh, gw) < 0.25 * height)
    huge = (gh > 4 * height) | (gw > max(6 * height, 0.5 * labels.shape[1]))
    keep = ~(speck | huge)
    kept = np.nonzero(keep)[0]
    boxes = g_box[kept]
    members = [comp_labels[group == g].tolist() for g in kept]
    stroke = 2 * g_area[kept] / np.maximum(g_bound[kept], 1)
    order, line_of, space_before, skew = _group_lines(boxes, height, params)
    return PageLayout(scale=factor, gray=gray, background=background, norm=norm, threshold=threshold, ink=ink,
                      labels=labels, boxes=boxes[order], members=[members[i] for i in order],
                      line_of=line_of[order], space_before=space_before[order], stroke=stroke[order],
                      height=height, skew_deg=skew, dropped=g_box[~keep], input_shape=(H, W), otsu=otsu,
                      paper=paper, spread=spread)


def _params(params: LayoutParams | None, overrides: dict) -> LayoutParams:
    params = LayoutParams() if params is None else params
    if overrides:
        unknown = set(overrides) - set(LayoutParams.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown layout parameter(s) {sorted(unknown)}; known: "
                            f"{sorted(LayoutParams.__dataclass_fields__)}")
        params = LayoutParams(**{**params.__dict__, **overrides})
    return params


def findLetters(image, *, full_resolution: bool = True, **overrides) -> tuple[np.ndarray, np.ndarray]:
    """The homework's findLetters: character boxes and the binarized page.

    image: (H, W, 3) or (H, W) uint8, or float in [0, 1]; dark ink on paper (a photo is fine).
    overrides: :class:`LayoutParams` fields (``threshold_offset``, ``morph_size``, ``merge``, ...).

    Returns ``(bboxes, bw)``:
      bboxes: (K, 4) int64 ``[y1, x1, y2, x2]`` in input pixels (y2, x2 exclusive, as regionprops),
              one per character, in reading order (lines top to bottom, left to right)
      bw:     float32 in {0, 1}, ink black (0) and paper white (1); (H, W) like the input when
              ``full_resolution`` (default), else the working resolution (boxes then in those pixels)
    """
    layout = analyze_page(image, **overrides)
    bw = (~layout.ink).astype(np.float32)
    if not full_resolution:
        return layout.boxes.copy(), bw
    H, W = layout.input_shape
    f = layout.scale
    if f > 1:
        bw = np.repeat(np.repeat(bw, f, axis=0), f, axis=1)[:H, :W]
        if bw.shape != (H, W):  # the last partial block
            bw = np.pad(bw, ((0, H - bw.shape[0]), (0, W - bw.shape[1])), mode="edge")
    return layout.boxes_full(), bw


# ---------------------------------------------------------------------------------------------------
# Crops and classification
# ---------------------------------------------------------------------------------------------------


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary drawing: 2 * area / boundary pixels (a stroke of width w and
    length L has area w L and about 2 L boundary pixels)."""
    from scipy import ndimage

    area = int(mask.sum())
    if area == 0:
        return 0.0
    boundary = int((mask & ~ndimage.binary_erosion(mask)).sum())
    return 2.0 * area / max(boundary, 1)


def prepare_crops(layout: PageLayout, params: LayoutParams | None = None) -> np.ndarray:
    """One 32x32 image per character, made to look like the training data.

    For each box: the illumination-corrected gray levels of the character's own components (other
    ink inside the box is painted over with paper) become an ink amount (paper 0, ink core 1);
    the ink box is centred on a square canvas so that its larger side is ``fill`` pixels of 32,
    resized to 64x64, its stroke width brought into ``2 * stroke_range`` pixels when it is outside
    (grey dilation of the ink thickens, erosion thins), then 2x2-averaged to 32x32, as the training
    images were drawn.

    Returns (K, 32, 32) float32 in [0, 1], background about 1, ink dark (the NIST36 convention).
    """
    from scipy import ndimage

    p = params or LayoutParams()
    K = len(layout.boxes)
    out = np.ones((K, 32, 32), np.float32)
    norm, labels = layout.norm, layout.labels
    h_img, w_img = norm.shape
    thin, thick = 2 * p.stroke_range[0], 2 * p.stroke_range[1]  # at 64 x 64
    for k in range(K):
        y1, x1, y2, x2 = (int(v) for v in layout.boxes[k])
        m = 2  # margin for antialiased edges
        Y1, X1, Y2, X2 = max(0, y1 - m), max(0, x1 - m), min(h_img, y2 + m), min(w_img, x2 + m)
        patch = norm[Y1:Y2, X1:X2]
        core = np.isin(labels[Y1:Y2, X1:X2], layout.members[k])
        mine = ndimage.binary_dilation(core)
        ink_level = float(np.percentile(patch[core], 10)) if core.any() else 0.0
        paper_level = float(np.median(patch[~mine])) if (~mine).sum() > 8 else 1.0
        paper_level = max(paper_level, ink_level + 0.2)
        amount = np.where(mine, np.clip((paper_level - patch) / (paper_level - ink_level), 0.0, 1.0), 0.0)
        amount = amount.astype(np.float32)
        # square canvas with the ink box centred; its inner part maps to the 64 x 64 crop
        side = max(y2 - y1, x2 - x1, 1)
        canvas_side = int(math.ceil(side / p.fill * 32))
        canvas = np.zeros((canvas_side + 2 * m, canvas_side + 2 * m), np.float32)
        cy = (canvas.shape[0] - (y2 - y1)) // 2 - (y1 - Y1)
        cx = (canvas.shape[1] - (x2 - x1)) // 2 - (x1 - X1)
        ys = slice(max(cy, 0), min(cy + amount.shape[0], canvas.shape[0]))
        xs = slice(max(cx, 0), min(cx + amount.shape[1], canvas.shape[1]))
        canvas[ys, xs] = amount[ys.start - cy:ys.stop - cy, xs.start - cx:xs.stop - cx]
        a64 = _resize(canvas[m:m + canvas_side, m:m + canvas_side], (64, 64),
                      "bilinear" if canvas_side < 128 else "box")
        width = stroke_width(a64 > 0.5) if p.normalize_stroke else 0.0
        if 0 < width < thin - 0.5:
            size = int(round(thin - width)) + 1
            a64 = ndimage.grey_dilation(a64, size=(size, size))
        elif width > thick + 0.5:
            size = int(min(round(width - thick), width / 2)) + 1
            if size > 1:
                a64 = ndimage.grey_erosion(a64, size=(size, size))
        a64 = np.clip(a64 * 1.25, 0.0, 1.0)
        out[k] = 1.0 - 0.95 * a64.reshape(32, 2, 32, 2).mean(axis=(1, 3))
    return out


def decode(probs: np.ndarray, line_of: np.ndarray, space_before: np.ndarray, context: bool = True) -> str:
    """The characters of K crops in reading order from their (K, 36) probabilities.

    Without context each crop is its most probable class. With ``context`` each word (a run of
    crops in one line without a space) is read either as all letters or as all digits, whichever
    has the larger likelihood ``sum_i log P_i(group)``: this settles O/0, S/5, I/1, Z/2, B/8 from
    the neighbours (a word such as 'B52' that mixes both would be misread).
    """
    probs = np.asarray(probs, dtype=np.float64)
    if not context or len(probs) == 0:
        return "".join(CLASSES[i] for i in probs.argmax(1))
    start = np.r_[True, (np.diff(line_of) != 0) | space_before[1:]]
    word = np.cumsum(start) - 1
    log_letter = np.bincount(word, np.log(probs[:, :26].sum(1) + 1e-12))
    log_digit = np.bincount(word, np.log(probs[:, 26:].sum(1) + 1e-12))
    letters = (log_letter >= log_digit)[word]
    best = np.where(letters, probs[:, :26].argmax(1), 26 + probs[:, 26:].argmax(1))
    return "".join(CLASSES[i] for i in best)


def read_page(image, classifier: Classifier, *, details: bool = False,
              params: LayoutParams | None = None, **overrides):
    """Read a page: the text lines (``list[str]``), or a :class:`PageReading` with ``details=True``.

    classifier: ``f(images (N, 32, 32) float32, ink dark) -> (N, 36) probabilities`` in
                NIST36 order (A-Z, 0-9), e.g. from :func:`load_classifier`; called once, on all crops.
    """
    params = _params(params, overrides)
    layout = analyze_page(image, params)
    crops = prepare_crops(layout, params)
    if len(crops):
        probs = np.asarray(classifier(crops), dtype=np.float32)
        if probs.shape != (len(crops), len(CLASSES)):
            raise ValueError(f"classifier returned shape {probs.shape}; expected ({len(crops)}, {len(CLASSES)})")
        chars = decode(probs, layout.line_of, layout.space_before, context=params.context)
    else:
        probs, chars = np.zeros((0, len(CLASSES)), np.float32), ""
    lines: list[str] = []
    for k, ch in enumerate(chars):
        ln = int(layout.line_of[k])
        while len(lines) <= ln:
            lines.append("")
        if layout.space_before[k] and lines[ln]:
            lines[ln] += " "
        lines[ln] += ch
    if details:
        return PageReading(lines, layout, crops, probs, chars)
    return lines


def load_classifier(model: str = "best", progress: bool = True) -> Classifier:
    """A trained character classifier ``f(images (N, 32, 32) float32 ink dark) -> (N, 36) probs``.

    model: 'mlp' (chapter 3's numpy 1024-64-36, :func:`helpers.mlp.chapter3_mlp`), 'cnn' (chapter 6's
           small CNN, :func:`helpers.torch_models.load_classifier`) or 'best' (the CNN when PyTorch is
           installed, else the MLP). Trains and caches the model on first use (progress bars on stderr).
    The returned function has an attribute ``model_name``.
    """
    name = resolve_model(model)
    if name == "mlp":
        from . import mlp, nn

        params, _info = mlp.chapter3_mlp(progress=progress)

        def classify(images: np.ndarray) -> np.ndarray:
            images = np.asarray(images, dtype=np.float32)
            return nn.predict(images.reshape(len(images), -1), params)
    else:
        from . import torch_models

        classify = torch_models.load_classifier("cnn", progress=progress)
    classify.model_name = name  # type: ignore[attr-defined]
    return classify


def resolve_model(model: str) -> str:
    """'best' -> 'cnn' when PyTorch is importable, else 'mlp'; checks the name."""
    if model not in MODELS + ("best",):
        raise ValueError(f"unknown model {model!r}; choose one of 'best', 'mlp', 'cnn'")
    if model != "best":
        return model
    import importlib.util

    return "cnn" if importlib.util.find_spec("torch") is not None else "mlp"


def load_reader(model: str = "best", progress: bool = True, **overrides) -> Callable[[np.ndarray], list]:
    """``reader(image) -> list[str]``: :func:`read_page` with a loaded classifier (see
    :func:`load_classifier` for ``model``); ``overrides`` are :class:`LayoutParams` fields."""
    classifier = load_classifier(model, progress=progress)
    params = _params(None, overrides)

    def reader(image) -> list:
        return read_page(image, classifier, params=params)

    reader.model_name = classifier.model_name  # type: ignore[attr-defined]
    reader.classifier = classifier  # type: ignore[attr-defined]
    return reader


# ---------------------------------------------------------------------------------------------------
# Test pages with known text
# ---------------------------------------------------------------------------------------------------

HOMEWORK_PAGES: dict[str, list[str]] = {
    # the texts of the homework's four test photos (hand-printed capitals)
    "todo": ["TO DO LIST", "1 MAKE A TO DO LIST", "2 CHECK OFF THE FIRST", "THING ON TO DO LIST",
             "3 REALIZE YOU HAVE ALREADY", "COMPLETED 2 THINGS", "4 REWARD YOURSELF WITH", "A NAP"],
    "alphabet": ["ABCDEFG", "HIJKLMN", "OPQRSTU", "VWXYZ", "1234567890"],
    "haiku": ["HAIKUS ARE EASY", "BUT SOMETIMES THEY DONT MAKE SENSE", "REFRIGERATOR"],
    "deep": ["DEEP LEARNING", "DEEPER LEARNING", "DEEPEST LEARNING"],
}

_WORDS = (
    "THE OF AND TO IN IS IT THAT FOR ON WITH AS WAS AT BY BE THIS FROM OR HAVE AN ARE NOT BUT WE ALL CAN "
    "NEURAL NETWORK LAYER WEIGHT BIAS INPUT OUTPUT HIDDEN TRAIN TEST DATA BATCH EPOCH LOSS RATE LEARN "
    "DEEP MODEL IMAGE PIXEL LETTER DIGIT PAGE LINE WORD TEXT READ WRITE PEN INK PAPER PHOTO LIGHT SHADOW "
    "SOFTMAX SIGMOID GRADIENT MATRIX VECTOR SCORE CLASS LABEL FILTER KERNEL STRIDE POOL NOISE BLUR "
    "MONDAY FRIDAY JUNE MARCH CALL BUY MILK BREAD EGGS COFFEE TEA BOOK ROOM NOTE LIST DONE TODO MEET "
    "QUIZ JAZZ BOX FOX QUICK BROWN LAZY JUMPS OVER DOG ZERO SIX WAX VEX KEY JOB ZIP YES NO ONE TWO "
    "HOMEWORK LAB CODE PYTHON NUMPY TORCH PLOT GRAPH CHART TABLE ROW COLUMN SHAPE SIZE"
).split()


@dataclass
class TestPage:
    """A generated photo of a hand-printed page with its ground truth.

    image: (H, W, 3) uint8 RGB, as decoded from a JPEG
    lines: the text, one string per line (A-Z, 0-9 and single spaces)
    style: the handwriting style (a held-out style of :func:`helpers.data.styles`)
    ink, angle_deg, blur, noise, jpeg_quality, cap_height (capital height in pixels): the settings drawn
    """

    image: np.ndarray
    lines: list
    style: str
    ink: str
    angle_deg: float
    blur: float
    noise: float
    jpeg_quality: int
    cap_height: float
    shadow: bool

    @property
    def n_chars(self) -> int:
        """Characters to detect (spaces excluded)."""
        return sum(len(s.replace(" ", "")) for s in self.lines)


TestPage.__test__ = False  # type: ignore[attr-defined]  # not a pytest test class


def random_lines(rng: np.random.Generator, n_lines: int | None = None) -> list[str]:
    """Random page text: 3-8 lines of 1-4 words (about one word in six a number)."""
    n_lines = int(rng.integers(3, 9)) if n_lines is None else int(n_lines)
    lines = []
    for _ in range(n_lines):
        words = []
        for _ in range(int(rng.integers(1, 5))):
            if rng.random() < 0.17:
                words.append(str(int(rng.integers(0, 10 ** int(rng.integers(1, 5))))))
            else:
                words.append(_WORDS[int(rng.integers(len(_WORDS)))])
        lines.append(" ".join(words))
    return lines


def _compose_line(text: str, style: str, height: int, rng: np.random.Generator, spacing: float | None) -> np.ndarray:
    """One line's ink (1 = ink) from :func:`helpers.data.render_text_image`; with ``spacing`` the
    characters are rendered one by one and placed ``spacing`` cap heights apart (negative: they
    overlap and touch)."""
    from .data import render_text_image

    cap = 0.6 * height
    if spacing is None:
        # the leading space keeps every glyph inside the image whatever the glyph's left edge
        ink = 1.0 - render_text_image(" " + text, style, height, rng)
        cols = np.nonzero(ink.max(0) > 0.06)[0]
        return ink[:, max(cols[0] - int(0.3 * cap), 0):] if len(cols) else ink
    pieces, x = [], 0
    for ch in text:
        if ch == " ":
            x += int(round(0.9 * cap))
            continue
        ink = 1.0 - render_text_image(" " + ch, style, height, rng)
        cols = np.nonzero(ink.max(0) > 0.06)[0]
        if len(cols) == 0:
            continue
        ink = ink[:, cols[0]:cols[-1] + 1]
        pieces.append((x, ink))
        x += ink.shape[1] + int(round(spacing * cap))
    pad = int(0.3 * cap)
    line = np.zeros((height, max(x, 1) + 2 * pad + max((p.shape[1] for _, p in pieces), default=0)), np.float32)
    for x0, ink in pieces:
        sl = line[:, pad + x0:pad + x0 + ink.shape[1]]
        np.maximum(sl, ink, out=sl)
    cols = np.nonzero(line.max(0) > 0.06)[0]
    return line[:, : (cols[-1] + pad + 1) if len(cols) else line.shape[1]]


def make_test_page(seed: int = 0, size: tuple[int, int] = (3000, 4000), *, lines: Sequence[str] | None = None,
                   style: str | None = None, ink: str | None = None, angle_deg: float | None = None,
                   blur: float | None = None, noise: float | None = None, jpeg_quality: int | None = None,
                   shadow: bool | None = None, cap_height: float | None = None, spacing: float | None = None,
                   breaks: float = 0.0) -> TestPage:
    """A realistic phone photo of a hand-printed page with known text (for evaluation).

    seed:   everything random is drawn from it (the same seed and arguments give the same page)
    size:   (H, W) of the photo; (3000, 4000) is a 12-megapixel photo
    lines:  the text (default: 3-8 random lines of words and numbers); upper-cased
    style:  handwriting style, default a random held-out style (``helpers.data.styles('test')``)
    ink:    'black' or 'blue' (default: random)
    angle_deg: rotation of the page in the photo (default uniform in [-3, 3])
    blur:   gaussian blur sigma in photo pixels, relative to a 4000-pixel-wide photo (default 0.5-2)
    noise:  sensor noise standard deviation (default 0.01-0.03)
    jpeg_quality: JPEG quality (default 70-92); 0 skips the compression
    shadow: add a soft shadow across part of the page (default: on 60% of pages)
    cap_height: capital height as a fraction of the photo height (default 0.03-0.055, smaller if a
            long line needs it)
    spacing: place characters this many cap heights apart (default: the natural spacing 0.1-0.3);
            negative values make neighbours overlap (breaks "characters are separated")
    breaks: thickness (in cap heights) of a paper-coloured band erased through about half of each
            line (breaks "every character is one connected piece"); 0 = none

    The paper is off-white with a lighting gradient, vignetting, fibre texture and optional shadow;
    ink is black or blue; the photo is blurred, noisy and JPEG-compressed.
    """
    from PIL import Image
    from scipy import ndimage

    from .data import styles as data_styles

    H, W = int(size[0]), int(size[1])
    if H < 64 or W < 64:
        raise ValueError(f"size must be at least (64, 64), got {size}")
    rng = np.random.default_rng([int(seed), 4_2017])
    text = [" ".join(str(s).upper().split()) for s in lines] if lines is not None else random_lines(rng)
    bad = sorted({c for s in text for c in s if c != " " and c not in CLASSES})
    if bad:
        raise ValueError(f"lines may hold only A-Z, 0-9 and spaces; found {bad}")
    test_styles = data_styles("test")
    style = style if style is not None else test_styles[int(rng.integers(len(test_styles)))]
    ink = ink if ink is not None else ("blue" if rng.random() < 0.5 else "black")
    if ink not in ("black", "blue"):
        raise ValueError(f"ink must be 'black' or 'blue', got {ink!r}")
    angle_deg = float(rng.uniform(-3, 3)) if angle_deg is None else float(angle_deg)
    blur = float(rng.uniform(0.5, 2.0)) if blur is None else float(blur)
    noise = float(rng.uniform(0.01, 0.03)) if noise is None else float(noise)
    jpeg_quality = int(rng.integers(70, 93)) if jpeg_quality is None else int(jpeg_quality)
    shadow = bool(rng.random() < 0.6) if shadow is None else bool(shadow)
    cap_frac = float(rng.uniform(0.03, 0.055)) if cap_height is None else float(cap_height)

    # 1. the lines, rendered at about half the final resolution
    cap_final = cap_frac * H
    render_h = int(np.clip(round(cap_final / 0.6 / 2.0), 24, 200))
    inks = [_compose_line(s, style, render_h, rng, spacing) for s in text]
    if breaks > 0:
        cap = 0.6 * render_h
        seg = max(int(cap), 1)
        for im in inks:
            # a paper-coloured band through the middle of the letters, over about half of the line
            y0 = int(0.78 * render_h - rng.uniform(0.3, 0.6) * cap)
            band = slice(max(y0, 0), y0 + max(1, int(round(breaks * cap))))
            for x in range(0, im.shape[1], seg):
                if rng.random() < 0.5:
                    im[band, x:x + seg] = 0.0
    pitch = render_h * rng.uniform(1.05, 1.5)
    block_w = max(im.shape[1] for im in inks)
    block_h = pitch * (len(inks) - 1) + render_h
    # 2. scale: render pixels -> photo pixels, so the block fits with margins
    S = min(cap_final / (0.6 * render_h), 0.88 * W / block_w, 0.85 * H / block_h)
    page_h, page_w = int(math.ceil(H / S)), int(math.ceil(W / S))
    alpha = np.zeros((page_h, page_w), np.float32)
    x_room = max(page_w - block_w, 0)
    y_room = max(page_h - block_h, 0)
    x0 = int(rng.uniform(0.2, 0.8) * x_room) if x_room else 0
    y0 = int(rng.uniform(0.25, 0.75) * y_room) if y_room else 0
    for i, im in enumerate(inks):
        yy = int(y0 + i * pitch)
        xx = int(np.clip(x0 + rng.normal(0, 0.2) * render_h, 0, max(page_w - im.shape[1], 0)))
        h_, w_ = min(im.shape[0], page_h - yy), min(im.shape[1], page_w - xx)
        if h_ > 0 and w_ > 0:
            sl = alpha[yy:yy + h_, xx:xx + w_]
            np.maximum(sl, im[:h_, :w_], out=sl)
    # 3. camera: rotation and blur at render scale, then up to the photo size
    if angle_deg:
        alpha = np.asarray(Image.fromarray(alpha, mode="F").rotate(angle_deg, resample=Image.BILINEAR), np.float32)
    blur_r = blur * (W / 4000) / S
    if blur_r > 0.2:
        alpha = ndimage.gaussian_filter(alpha, blur_r)
    alpha = np.clip(_resize(alpha, (H, W), "bilinear"), 0, 1)
    # 4. paper, light and shadow (smooth fields at 1/16 scale)
    h16, w16 = max(H // 16, 4), max(W // 16, 4)
    yy, xx = np.mgrid[0:h16, 0:w16].astype(np.float32)
    yy, xx = yy / h16 - 0.5, xx / w16 - 0.5
    phi = rng.uniform(0, 2 * np.pi)
    light = 1.0 + rng.uniform(0.1, 0.3) * (np.cos(phi) * xx + np.sin(phi) * yy) \
        - rng.uniform(0.05, 0.2) * (xx ** 2 + yy ** 2) * 2
    if shadow:
        psi = rng.uniform(0, 2 * np.pi)
        d = np.cos(psi) * xx + np.sin(psi) * yy - rng.uniform(0.2, 0.45)
        light = light * (1 - rng.uniform(0.25, 0.45) / (1 + np.exp(-d / rng.uniform(0.02, 0.06))))
    texture = ndimage.gaussian_filter(rng.normal(0, 1, (h16, w16)).astype(np.float32), 1.5) * rng.uniform(0.01, 0.03)
    light = light * (1 + texture) * rng.uniform(0.8, 0.95)
    light = _resize(light.astype(np.float32), (H, W))
    paper = np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.88, 0.97)], np.float32)
    ink_rgb = (np.array([0.10, 0.10, 0.12]) + rng.uniform(-0.05, 0.05)) if ink == "black" else \
        np.array([rng.uniform(0.05, 0.15), rng.uniform(0.12, 0.25), rng.uniform(0.45, 0.65)])
    ink_rgb = np.asarray(ink_rgb, np.float32)
    # photo = light * (paper - alpha * (paper - ink)) + grain, in place on 12-megapixel arrays
    grain = rng.standard_normal((H, W), dtype=np.float32)
    grain *= np.float32(noise * 255)
    grain += np.float32(0.5)
    alpha *= light
    photo = np.empty((H, W, 3), np.uint8)
    ch = np.empty((H, W), np.float32)
    for c in range(3):
        np.multiply(light, np.float32(255 * paper[c]), out=ch)
        ch -= alpha * np.float32(255 * (paper[c] - ink_rgb[c]))
        ch += grain
        np.clip(ch, 0, 255, out=ch)
        photo[..., c] = ch
    # 5. JPEG
    if jpeg_quality > 0:
        import io

        buf = io.BytesIO()
        Image.fromarray(photo).save(buf, format="JPEG", quality=jpeg_quality)
        buf.seek(0)
        photo = np.asarray(Image.open(buf).convert("RGB"))
    return TestPage(photo, text, style, ink, angle_deg, blur, noise, jpeg_quality, cap_final * 1.0, shadow)


# ---------------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1), row by row with numpy."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    bb = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    ar = np.arange(len(b) + 1)
    prev = ar.copy()
    for i, ch in enumerate(a, 1):
        sub = prev[:-1] + (bb != ord(ch))
        cur = np.empty_like(prev)
        cur[0] = i
        cur[1:] = np.minimum(prev[1:] + 1, sub)
        # insertions: cur[j] = min(cur[j], cur[j - 1] + 1) as a running minimum
        cur = np.minimum.accumulate(cur - ar) + ar
        prev = cur
    return int(prev[-1])


def char_accuracy(pred_lines: Sequence[str], true_lines: Sequence[str]) -> float:
    """1 - (edit distance) / (length of the true text), at least 0.

    Both texts are the lines joined with newlines, so a missed or extra space, a split or merged
    line (a newline too many or too few) and a wrong, missing or extra character each cost 1.
    1.0 means a perfect reading.
    """
    truth = "\n".join(true_lines)
    pred = "\n".join(pred_lines)
    if not truth:
        return 1.0 if not pred else 0.0
    return max(0.0, 1.0 - edit_distance(pred, truth) / len(truth))


def line_count_correct(pred_lines: Sequence[str], true_lines: Sequence[str]) -> bool:
    """True when the reading has as many lines as the ground truth."""
    return len(pred_lines) == len(true_lines)


def evaluate_reader(reader: Callable[[np.ndarray], list], seeds: Sequence[int], size: tuple[int, int] = (3000, 4000),
                    pages: Sequence[TestPage] | None = None, **page_kw) -> list[dict]:
    """Read generated pages and score them: one dict per page with ``seed``, ``style``, ``ink``,
    ``n_lines`` (true), ``lines_read``, ``line_count_ok``, ``char_accuracy``, ``seconds``
    (reading time). Pass ``pages`` to reuse already generated pages (``seeds`` then label them)."""
    import time

    rows = []
    for i, seed in enumerate(seeds):
        page = pages[i] if pages is not None else make_test_page(seed, size, **page_kw)
        t = time.perf_counter()
        pred = reader(page.image)
        dt = time.perf_counter() - t
        rows.append({"seed": int(seed), "style": page.style, "ink": page.ink, "n_lines": len(page.lines),
                     "lines_read": len(pred), "line_count_ok": line_count_correct(pred, page.lines),
                     "char_accuracy": char_accuracy(pred, page.lines), "seconds": dt})
    return rows


# ---------------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------------


LINE_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def plot_layout(ax, image, layout: PageLayout, *, text: Sequence[str] | None = None, linewidth: float = 1.0,
                show_dropped: bool = True, colors: Sequence[str] | None = None):
    """Draw ``image`` with the character boxes of ``layout``, coloured by line (dropped specks
    dashed grey). ``image`` may be the input photo or any working-resolution image of the layout;
    ``text``: characters to print above the boxes; ``colors``: one colour per box (default: by line)."""
    from matplotlib.patches import Rectangle

    image = np.asarray(image)
    f = image.shape[0] / layout.gray.shape[0]
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255 if image.dtype == np.uint8 else 1,
              interpolation="antialiased")
    for k, (y1, x1, y2, x2) in enumerate(layout.boxes):
        c = colors[k] if colors is not None else LINE_COLORS[int(layout.line_of[k]) % len(LINE_COLORS)]
        ax.add_patch(Rectangle((x1 * f - 0.5, y1 * f - 0.5), (x2 - x1) * f, (y2 - y1) * f, fill=False,
                               edgecolor=c, linewidth=linewidth))
        if text is not None and k < len(text):
            ax.text(x1 * f, y1 * f - 2, text[k], color=c, fontsize=7, va="bottom", fontweight="bold")
    if show_dropped:
        for y1, x1, y2, x2 in layout.dropped:
            ax.add_patch(Rectangle((x1 * f - 0.5, y1 * f - 0.5), (x2 - x1) * f, (y2 - y1) * f, fill=False,
                                   edgecolor="0.5", linestyle="--", linewidth=0.6 * linewidth))
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def text_bounds(layout: PageLayout, margin: float = 1.0) -> tuple[slice, slice]:
    """Working-resolution slices around the detected text (``margin`` character heights around it)."""
    h, w = layout.gray.shape
    if len(layout.boxes) == 0:
        return slice(0, h), slice(0, w)
    m = int(margin * max(layout.height, 1))
    y1, x1 = layout.boxes[:, :2].min(0) - m
    y2, x2 = layout.boxes[:, 2:].max(0) + m
    return slice(max(int(y1), 0), min(int(y2), h)), slice(max(int(x1), 0), min(int(x2), w))


def plot_steps(layout: PageLayout, figsize=(11, 6.2)):
    """Four panels of :func:`analyze_page`: grayscale, estimated background, their ratio, and the
    thresholded ink (after closing) with the kept boxes."""
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(2, 2, figsize=figsize, constrained_layout=True)
    panels = [(layout.gray, f"1. grayscale, {layout.gray.shape[1]}x{layout.gray.shape[0]} px (1/{layout.scale})"),
              (layout.background, "2. background (max-pool, grey closing)"),
              (layout.norm, "3. gray / background (paper = 1)"),
              (~layout.ink, f"4. threshold {layout.threshold:.2f} and closing")]
    for ax, (img, title) in zip(axs.flat, panels):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="antialiased")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    plot_layout(axs[1, 1], (~layout.ink).astype(np.float32), layout, linewidth=0.6)
    axs[1, 1].set_title(f"4. threshold {layout.threshold:.2f}, closing, {len(layout.boxes)} characters", fontsize=10)
    return fig


def plot_threshold(ax, layout: PageLayout):
    """Histogram of the illumination-corrected gray levels with Otsu's threshold, the paper-noise
    bound and the threshold used."""
    values = layout.norm[::2, ::2].ravel()
    ax.hist(values, bins=120, range=(0, 1), color="0.4", log=True)
    ax.axvline(layout.otsu, color="#0072B2", linestyle="--", label=f"Otsu {layout.otsu:.2f}")
    ax.axvline(layout.paper - 4.5 * layout.spread, color="#E69F00", linestyle=":",
               label=f"paper - 4.5 sd {layout.paper - 4.5 * layout.spread:.2f}")
    ax.axvline(layout.threshold, color="#D55E00", label=f"threshold {layout.threshold:.2f}")
    ax.set_xlabel("gray / background (0 = black, 1 = paper)")
    ax.set_ylabel("pixels (log scale)")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_crops(crops: np.ndarray, titles: Sequence[str] | None = None, ncols: int = 16, size: float = 0.7,
               suptitle: str | None = None, row_labels: Sequence[str] | None = None):
    """A grid of 32x32 images (ink dark) with optional titles and a label left of each row."""
    import matplotlib.pyplot as plt

    n = len(crops)
    nrows = max(1, math.ceil(n / ncols))
    fig, axs = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * (size + (0.25 if titles else 0))),
                            squeeze=False)
    for i, ax in enumerate(axs.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(crops[i], cmap="gray", vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8, pad=2)
    for r, label in enumerate(row_labels or []):
        axs[r, 0].text(-0.15, 0.5, label, transform=axs[r, 0].transAxes, ha="right", va="center", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def char_correct(reading: PageReading, true_lines: Sequence[str]) -> np.ndarray | None:
    """(K,) bool, each detected character right or wrong, when the detection count equals the true
    character count (then the k-th box is the k-th character); else None."""
    truth = "".join(true_lines).replace(" ", "")
    if len(truth) != len(reading.chars):
        return None
    return np.array([a == b for a, b in zip(reading.chars, truth)], dtype=bool)


def confusions(readings: Sequence[PageReading], true_lines: Sequence[Sequence[str]]) -> dict:
    """Count (true character, read character) pairs of the mistakes on pages where every character
    was found (so the k-th box is the k-th character); returns a dict sorted by count, largest first."""
    from collections import Counter

    counts: Counter = Counter()
    for reading, lines in zip(readings, true_lines):
        truth = "".join(lines).replace(" ", "")
        if len(truth) == len(reading.chars):
            counts.update((t, r) for t, r in zip(truth, reading.chars) if t != r)
    return dict(counts.most_common())


def plot_reading(reading: PageReading, true_lines: Sequence[str] | None = None, *, image=None, title: str | None = None,
                 figsize=(9, 5.5), max_lines: int = 8):
    """The page with its boxes and recognized characters (green right, red wrong when the truth is
    given and every character was found; else coloured by line) above the text read."""
    import matplotlib.pyplot as plt

    layout = reading.layout
    fig, (ax, axt) = plt.subplots(2, 1, figsize=figsize, gridspec_kw={"height_ratios": [3, 1.3]},
                                  constrained_layout=True)
    ok = char_correct(reading, true_lines) if true_lines is not None else None
    colors = None if ok is None else ["#009E73" if v else "#D55E00" for v in ok]
    plot_layout(ax, layout.norm if image is None else image, layout, text=list(reading.chars), colors=colors,
                show_dropped=False)
    ys, xs = text_bounds(layout)
    f = (layout.norm if image is None else np.asarray(image)).shape[0] / layout.gray.shape[0]
    ax.set_xlim(xs.start * f, xs.stop * f)
    ax.set_ylim(ys.stop * f, ys.start * f)
    if title is None and true_lines is not None:
        title = (f"{len(reading.chars)} characters found (truth {len(''.join(true_lines).replace(' ', ''))}), "
                 f"{len(reading.lines)} lines (truth {len(true_lines)}), "
                 f"character accuracy {char_accuracy(reading.lines, true_lines):.1%}")
    if title:
        ax.set_title(title, fontsize=10)
    axt.axis("off")
    shown = reading.lines[:max_lines] + (["..."] if len(reading.lines) > max_lines else [])
    axt.text(0, 1, "read:\n" + "\n".join(shown), family="monospace", fontsize=8, va="top", transform=axt.transAxes)
    if true_lines is not None:
        truth = list(true_lines[:max_lines]) + (["..."] if len(true_lines) > max_lines else [])
        axt.text(0.5, 1, "truth:\n" + "\n".join(truth), family="monospace", fontsize=8, va="top", color="0.35",
                 transform=axt.transAxes)
    return fig


DEGRADATIONS: dict[str, tuple[str, list, str]] = {
    # name: (make_test_page argument, levels, axis label)
    "noise": ("noise", [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4], "noise sd (gray levels in [0, 1])"),
    "blur": ("blur", [0.0, 3.0, 6.0, 9.0, 12.0, 16.0, 24.0], "blur sigma (px of a 4000-px photo)"),
    "rotation": ("angle_deg", [0.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0], "rotation (degrees)"),
}


def degradation_curve(classifier: Classifier, kind: str, levels: Sequence[float], seeds: Sequence[int],
                      size: tuple[int, int] = (1200, 1600)) -> np.ndarray:
    """Mean character accuracy of :func:`read_page` on pages made with one degradation set to each
    level (``kind`` in :data:`DEGRADATIONS`); returns (len(levels),) accuracies."""
    arg = DEGRADATIONS[kind][0]
    out = []
    for level in levels:
        accs = []
        for seed in seeds:
            page = make_test_page(seed, size, **{arg: level})
            accs.append(char_accuracy(read_page(page.image, classifier), page.lines))
        out.append(float(np.mean(accs)))
    return np.array(out)


# ---------------------------------------------------------------------------------------------------
# Command line: python -m helpers ocr
# ---------------------------------------------------------------------------------------------------


def add_cli(subparsers) -> None:
    """Register ``python -m helpers ocr`` on an argparse subparsers object."""
    p = subparsers.add_parser(
        "ocr", help="read the text of photographed hand-printed pages",
        description="Read hand-printed capitals and digits from photos (JPEG, PNG, ...): prints the recognized "
                    "lines of each image. The first run trains the chosen model and caches it in the data "
                    "directory (BOOK_DATA_DIR or data/; BOOK_MODE=quick trains a small one). Exit status 1 when "
                    "some image could not be read (the others are still reported).")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to read")
    p.add_argument("--model", choices=("best",) + MODELS, default="best",
                   help="character classifier: mlp (chapter 3, numpy) or cnn (chapter 6, PyTorch); "
                        "default: best available (cnn when PyTorch is installed)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {path: [lines]} (null for images that could not be read)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or training messages")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    images: dict[str, np.ndarray | None] = {}
    failed = 0
    for path in args.images:
        try:
            images[path] = read_image(path)
        except OCRImageError as exc:
            print(f"ocr: {exc}", file=sys.stderr)
            images[path] = None
            failed += 1
    results: dict[str, list | None] = {p: None for p in args.images}
    if any(v is not None for v in images.values()):
        # training and loading messages go to stderr, so stdout holds only the text (or the JSON)
        with contextlib.redirect_stdout(sys.stderr):
            classifier = load_classifier(args.model, progress=not args.quiet)
        for path, image in images.items():
            if image is None:
                continue
            try:
                results[path] = read_page(image, classifier)
            except Exception as exc:  # one bad image must not stop the others
                print(f"ocr: {path}: could not read the text ({type(exc).__name__}: {exc})", file=sys.stderr)
                failed += 1
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for i, (path, lines) in enumerate(results.items()):
            if lines is None:
                continue
            print(f"== {path} ==")
            print("\n".join(lines))
            if i < len(results) - 1:
                print()
    return 1 if failed else 0
