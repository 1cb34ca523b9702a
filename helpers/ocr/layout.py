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

from .components import (connected_components, letters_from_components, long_straight_strokes, stroke_estimates,
                         thick_strokes, typical_height, union_boxes)
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
    fill:             the larger side of a character's ink box in the 32x32 crop (the training data: 19.5-29.5 px, median about 25)
    normalize_stroke: thicken or thin strokes outside ``stroke_range`` (off: keep the photo's)
    context:          read each word as all letters or all digits, whichever is more likely (:func:`decode`)
    find_sheet:       look for a sheet of paper on a darker surface and read only inside it
    deskew_min, deskew_max: a page whose text lines are turned by more than ``deskew_min`` (and at most
                      ``deskew_max``) degrees is turned upright before reading; smaller skews are handled
                      by the line grouping itself
    split:            split a character box that holds touching letters (:func:`.components.split_touching`)
    split_width:      ... when it is wider than this many typical character widths and ``split_aspect`` times
                      its height; the reader keeps a cut only when the pieces read better than the whole
                      box (:func:`.reading.read_page`), so an M, N, W or U cut in two is put back together
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
    stroke_range: tuple = (2.8, 4.4)
    fill: float = 25
    normalize_stroke: bool = True
    context: bool = True
    find_sheet: bool = True
    deskew_min: float = 7.0
    deskew_max: float = 45.0
    split: bool = True
    split_width: float = 1.65
    split_aspect: float = 0.9


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
    rotation:  degrees (counter-clockwise) the working image was turned to make the text upright; every
               image and box above is of the upright page (0: not turned)
    sheet:     (h, w) bool the sheet of paper found in the photo (None: the paper fills it)
    split_from: (K,) int, for a box cut out of a wider one by :func:`.components.split_touching`, a number
               shared by the pieces of that box (-1: not cut); the reader keeps the cut only when the
               pieces read better than the whole (:func:`.reading.read_page`)
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
    rotation: float = 0.0
    sheet: np.ndarray | None = None
    split_from: np.ndarray | None = None

    @property
    def n_lines(self) -> int:
        return int(self.line_of.max() + 1) if len(self.line_of) else 0

    def boxes_full(self) -> np.ndarray:
        """(K, 4) boxes in the input image's pixels (of a turned page: the upright box around each)."""
        if self.rotation:
            from .sheet import unturn_boxes

            small = (self.input_shape[0] // self.scale, self.input_shape[1] // self.scale)
            b = unturn_boxes(self.boxes, self.rotation, self.ink.shape, small)
            b = np.round(b * self.scale).astype(np.int64)
            H, W = self.input_shape[:2]
            return np.clip(b, 0, np.array([H, W, H, W]))
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


def _steps_1_to_3(gray: np.ndarray, sheet: np.ndarray | None, params: LayoutParams):
    """Light, threshold and components of one working-size gray image, inside ``sheet`` (None: all)."""
    background, norm, smooth = correct_light(gray, params.denoise)
    if sheet is None:
        threshold, otsu, paper, spread = choose_threshold(smooth, params.threshold_offset)
    else:  # the threshold from the paper's own pixels; nothing outside the sheet is ink
        threshold, otsu, paper, spread = choose_threshold(smooth[sheet][None, :], params.threshold_offset)
        smooth = np.where(sheet, smooth, np.float32(1.5))
    ink = ink_mask(smooth, threshold, params.morph_size)
    labels, comp_boxes, comp_area, comp_ids = connected_components(ink)
    return dict(gray=gray, background=background, norm=norm, threshold=threshold, otsu=otsu, paper=paper,
                spread=spread, ink=ink, labels=labels, comp_boxes=comp_boxes, comp_area=comp_area, comp_ids=comp_ids,
                height=typical_height(comp_boxes, comp_area))


def analyze_page(image, params: LayoutParams | None = None, **overrides) -> PageLayout:
    """The layout of a page: characters (boxes), lines and word gaps, with every intermediate image.

    image: (H, W, 3) or (H, W) uint8, or float in [0, 1]; dark ink on lighter paper.
    params / overrides: :class:`LayoutParams` fields, e.g. ``analyze_page(img, threshold_offset=0.05)``.
    The sheet of paper is found first (:func:`.sheet.find_sheet`; a page on a desk), and a page turned
    by more than ``params.deskew_min`` degrees is turned upright before the lines are grouped.
    Returns a :class:`PageLayout` (working-resolution pixels of the upright page; ``boxes_full()`` for
    input pixels).
    """
    from .components import split_touching, stroke_of_characters
    from .lines import estimate_skew
    from .sheet import find_sheet, turn

    params = layout_params(params, overrides)
    image = check_image(image)
    H, W = image.shape[:2]
    factor = max(1, math.ceil(max(H, W) / params.max_side))
    for _attempt in range(2):
        gray = gray_reduced(image, factor)
        sheet = find_sheet(gray) if params.find_sheet else None
        st = _steps_1_to_3(gray, sheet, params)
        # small characters at a coarse scale: read again at a finer one
        if factor > 1 and 0 < st["height"] < 18:
            factor = max(1, int(factor * st["height"] / 24))
            continue
        break
    rotation = 0.0
    if params.deskew_max > params.deskew_min and len(st["comp_boxes"]) >= 4:
        big = st["comp_area"] >= 0.25 * np.percentile(st["comp_area"], 90)
        angle = np.rad2deg(estimate_skew(st["comp_boxes"][big], st["height"], params.deskew_max))
        if abs(angle) > params.deskew_min:  # turn the page upright and look again
            rotation = float(angle)
            upright = turn(gray, rotation, float(np.median(gray if sheet is None else gray[sheet])))
            inside = turn(np.ones_like(gray) if sheet is None else sheet.astype(np.float32), rotation, 0.0) > 0.99
            st = _steps_1_to_3(upright, inside, params)
            sheet = inside
    ink, labels, comp_boxes, comp_area, comp_ids, height = (st[k] for k in ("ink", "labels", "comp_boxes", "comp_area",
                                                                              "comp_ids", "height"))
    group, char_boxes, keep = letters_from_components(comp_boxes, comp_area, height, labels.shape[1],
                                                      params.merge, params.speck_area)
    if keep.any():  # a pen or a shadow on the page: strokes far thicker than the writing; a long straight edge
        g_stroke = stroke_estimates(ink, labels, comp_ids, comp_area, group)
        kept = np.nonzero(keep)[0]
        keep[kept[thick_strokes(g_stroke[kept])]] = False
        kept = np.nonzero(keep)[0]
        stroke_ref = np.full(len(g_stroke), np.median(g_stroke[kept]) if len(kept) else 1.0)
        stroke_ref[kept] = g_stroke[kept]  # the median of the kept characters' strokes is the reference
        keep &= ~long_straight_strokes(labels, comp_ids, group, height, stroke_ref)
    kept = np.nonzero(keep)[0]
    members = [comp_ids[group == g].tolist() for g in kept]
    char_boxes = char_boxes[kept]
    split_from = np.full(len(char_boxes), -1, np.int64)
    if params.split:
        labels, char_boxes, members, split_from = split_touching(labels, char_boxes, members, height,
                                                                 params.split_width, return_parent=True,
                                                                 split_aspect=params.split_aspect)
    stroke = stroke_of_characters(ink, labels, members)
    order, line_of, angle = group_lines(char_boxes, height, params.line_gap)
    real = fragment_lines(char_boxes, line_of, height)  # a line of one or two small bits is not text
    if not real.all():
        order = order[real[order]]
        line_of[real] = np.unique(line_of[real], return_inverse=True)[1].ravel()
    boxes = char_boxes[order]
    space_before = word_spaces(boxes, line_of[order], height, angle, params.space_gap, params.space_margin)
    return PageLayout(scale=factor, gray=st["gray"], background=st["background"], norm=st["norm"],
                      threshold=st["threshold"], ink=ink, labels=labels, boxes=boxes,
                      members=[members[i] for i in order], line_of=line_of[order], space_before=space_before,
                      stroke=stroke[order], height=height,
                      skew_deg=rotation + (float(np.rad2deg(-angle)) if len(boxes) else 0.0),
                      dropped=np.concatenate([union_dropped(group, comp_boxes, keep),
                                              char_boxes[~real].reshape(-1, 4)]).astype(np.int64), input_shape=(H, W), otsu=st["otsu"], paper=st["paper"], spread=st["spread"],
                      rotation=rotation, sheet=sheet, split_from=split_from[order])


def fragment_lines(boxes: np.ndarray, line_of: np.ndarray, height: float, smallest: float = 0.6) -> np.ndarray:
    """(K,) bool, False for the boxes of a line of at most two boxes all under ``smallest`` typical heights:
    a bit of a pen's tip or of a shadow's edge, alone on its line. A written line holds at least one
    full-height character (a lone letter is one); a line of many small pieces is a badly broken line
    of text and is kept."""
    if len(boxes) == 0:
        return np.ones(0, bool)
    n = int(line_of.max()) + 1
    tallest = np.zeros(n)
    np.maximum.at(tallest, line_of, (boxes[:, 2] - boxes[:, 0]).astype(np.float64))
    count = np.bincount(line_of, minlength=n)
    return ~((tallest < smallest * height) & (count <= 2))[line_of]


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
    if layout.rotation and full_resolution:  # back to the photo's orientation
        from .sheet import turn

        small = (layout.input_shape[0] // layout.scale, layout.input_shape[1] // layout.scale)
        back = turn(bw, -layout.rotation, 1.0)
        y0, x0 = (back.shape[0] - small[0]) // 2, (back.shape[1] - small[1]) // 2
        bw = (back[y0:y0 + small[0], x0:x0 + small[1]] > 0.5).astype(np.float32)
    if not full_resolution:
        return layout.boxes.copy(), bw
    return layout.boxes_full(), blocks_to_pixels(bw, layout.scale, layout.input_shape)


def union_dropped(group: np.ndarray, comp_boxes: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(M, 4) boxes of the characters dropped as specks or blobs."""
    return union_boxes(group, comp_boxes)[~keep]
