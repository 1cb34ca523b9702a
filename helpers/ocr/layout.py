"""Layout analysis: from a photo to character boxes in lines (steps 1-4), and ``findLetters``.

Step 1, gray, smaller, evenly lit (:func:`correct_light`); step 2, one threshold
(:func:`choose_threshold`, :func:`ink_mask`); step 3, connected components joined into characters
(:mod:`.components`); step 4, lines and word gaps (:mod:`.lines`). :func:`analyze_page` runs them
all and keeps every intermediate image in a :class:`PageLayout`; :func:`findLetters` is the
homework's interface to it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .components import connected_components, letters_from_components, stroke_estimates, typical_height
from .images import blocks_to_pixels, check_image, gray_reduced, resize
from .lines import group_lines, word_spaces


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


def layout_params(params: LayoutParams | None, overrides: dict) -> LayoutParams:
    """``params`` (default: :class:`LayoutParams`) with the fields in ``overrides`` replaced."""
    params = LayoutParams() if params is None else params
    if overrides:
        unknown = set(overrides) - set(LayoutParams.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown layout parameter(s) {sorted(unknown)}; known: "
                            f"{sorted(LayoutParams.__dataclass_fields__)}")
        params = LayoutParams(**{**params.__dict__, **overrides})
    return params


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


# ---------------------------------------------------------------------------------------------------
# Steps 1 and 2: even light, one threshold
# ---------------------------------------------------------------------------------------------------


def estimate_background(gray: np.ndarray) -> np.ndarray:
    """Paper brightness at every pixel: max-pool (removes thin dark ink), grey closing (removes the
    rest of the ink but keeps the edges of large dark regions such as shadows), smooth, upsample.

    gray: (h, w) float32 in [0, 1]. Returns (h, w) float32, at least 1e-3.
    """
    from scipy import ndimage

    h, w = gray.shape
    p = max(2, int(round(max(h, w) / 200)))
    H, W = -(-h // p) * p, -(-w // p) * p
    padded = np.pad(gray, ((0, H - h), (0, W - w)), mode="edge")
    small = padded.reshape(H // p, p, W // p, p).max(axis=(1, 3))
    small = ndimage.grey_closing(small, size=(5, 5), mode="nearest")
    small = ndimage.gaussian_filter(small, 1.0, mode="nearest")
    bg = resize(small, (H, W))[:h, :w]
    return np.maximum(bg, 1e-3)


def correct_light(gray: np.ndarray, denoise: float = 0.7):
    """Step 1: divide the photo by the paper's brightness, so paper is about 1 everywhere.

    gray: (h, w) float32 in [0, 1];  denoise: sigma (pixels) of the gaussian before thresholding.
    Returns ``(background, norm, smooth)``, each (h, w) float32: the paper brightness, the ratio
    gray / background clipped to [0, 1], and that ratio (clipped at 1.5) smoothed, to threshold.
    """
    from scipy import ndimage

    background = estimate_background(gray)
    ratio = np.minimum(gray / background, 1.5)  # paper about 1 (not clipped at 1: keeps the noise symmetric)
    norm = np.minimum(ratio, 1.0)
    smooth = ndimage.gaussian_filter(ratio, denoise) if denoise > 0 else ratio
    return background, norm, smooth


def choose_threshold(smooth: np.ndarray, offset: float = 0.0):
    """Step 2: Otsu's threshold, but never inside the paper's own noise.

    smooth: (h, w) float32 illumination-corrected gray levels (paper about 1).
    Otsu fails when ink is rare and the paper noisy, so the threshold is at most 4.5 robust standard
    deviations (1.4826 median absolute deviations) below the paper level, then moved by ``offset``.
    Returns ``(threshold, otsu, paper, spread)``.
    """
    from skimage import filters

    sample = smooth[::2, ::2] if smooth.size > 400_000 else smooth
    otsu = float(filters.threshold_otsu(sample)) if sample.max() - sample.min() > 1e-3 else 0.5
    paper = float(np.median(sample))
    spread = 1.4826 * float(np.median(np.abs(sample - paper)))
    threshold = float(np.clip(min(otsu, 0.8, paper - 4.5 * spread) + offset, 0.0, 1.5))
    return threshold, otsu, paper, spread


def ink_mask(smooth: np.ndarray, threshold: float, morph_size: int = 1) -> np.ndarray:
    """(h, w) bool ink: darker than ``threshold``, closed with a disk of radius ``morph_size`` (mends
    hairline breaks; 0 = none), blobs of a few pixels removed."""
    from scipy import ndimage
    from skimage import morphology

    ink = smooth < threshold
    if morph_size > 0:
        ink = ndimage.binary_closing(ink, morphology.disk(morph_size), border_value=0)
    return morphology.remove_small_objects(ink, max_size=max(2, int(2e-5 * ink.size)))


# ---------------------------------------------------------------------------------------------------
# All steps: analyze_page and findLetters
# ---------------------------------------------------------------------------------------------------


def analyze_page(image, params: LayoutParams | None = None, **overrides) -> PageLayout:
    """The layout of a page: characters (boxes), lines and word gaps, with every intermediate image.

    image: (H, W, 3) or (H, W) uint8, or float in [0, 1]; dark ink on lighter paper.
    params / overrides: :class:`LayoutParams` fields, e.g. ``analyze_page(img, threshold_offset=0.05)``.
    Returns a :class:`PageLayout` (working-resolution pixels; ``boxes_full()`` for input pixels).
    """
    params = layout_params(params, overrides)
    image = check_image(image)
    H, W = image.shape[:2]
    factor = max(1, math.ceil(max(H, W) / params.max_side))
    for _attempt in range(2):
        gray = gray_reduced(image, factor)
        background, norm, smooth = correct_light(gray, params.denoise)
        threshold, otsu, paper, spread = choose_threshold(smooth, params.threshold_offset)
        ink = ink_mask(smooth, threshold, params.morph_size)
        labels, comp_boxes, comp_area, comp_ids = connected_components(ink)
        height = typical_height(comp_boxes, comp_area)
        # small characters at a coarse scale: read again at a finer one
        if factor > 1 and 0 < height < 18:
            factor = max(1, int(factor * height / 24))
            continue
        break
    group, char_boxes, keep = letters_from_components(comp_boxes, comp_area, height, labels.shape[1],
                                                      params.merge, params.speck_area)
    kept = np.nonzero(keep)[0]
    stroke = stroke_estimates(ink, labels, comp_ids, comp_area, group)[kept]
    members = [comp_ids[group == g].tolist() for g in kept]
    order, line_of, angle = group_lines(char_boxes[kept], height, params.line_gap)
    boxes = char_boxes[kept][order]
    space_before = word_spaces(boxes, line_of[order], height, angle, params.space_gap, params.space_margin)
    return PageLayout(scale=factor, gray=gray, background=background, norm=norm, threshold=threshold, ink=ink,
                      labels=labels, boxes=boxes, members=[members[i] for i in order], line_of=line_of[order],
                      space_before=space_before, stroke=stroke[order], height=height,
                      skew_deg=float(np.rad2deg(-angle)) if len(boxes) else 0.0, dropped=char_boxes[~keep],
                      input_shape=(H, W), otsu=otsu, paper=paper, spread=spread)


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
    layout = analyze_page(image, **overrides)  # steps 1-4: light, threshold, components, lines
    bw = (~layout.ink).astype(np.float32)
    if not full_resolution:
        return layout.boxes.copy(), bw
    return layout.boxes_full(), blocks_to_pixels(bw, layout.scale, layout.input_shape)
