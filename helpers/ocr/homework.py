"""The homework's plain versions of the chapter's three Your-turn functions: the code a student writes.

Chapter 4's *Your turn* solution cells hold exactly these functions (``tests/test_solutions.py`` compares
them as parsed code). The reader itself uses the fuller versions: :func:`.layout.findLetters` (light
correction, a bounded threshold, merging, splitting, non-text dropped), :func:`.lines.group_lines` (the
skew estimated first) and :func:`.crops.prepare_crops` (ink amounts, stroke width fitted).
"""
import numpy as np
from skimage import color, filters, measure, morphology, transform


def findLetters(image):
    """image: (H, W, 3) uint8 photo, dark ink on paper -> (boxes, bw): boxes (K, 4) int [y1, x1, y2, x2],
    one per character; bw (H, W) float, ink 0 (black) and paper 1 (white)."""
    # gray and smooth, threshold (ink is dark), a small closing, label, keep the boxes that are not specks
    ### BEGIN SOLUTION
    gray = filters.gaussian(color.rgb2gray(image), sigma=1)
    ink = gray < filters.threshold_otsu(gray)
    ink = morphology.closing(ink, morphology.disk(1))
    regions = measure.regionprops(measure.label(ink, connectivity=2))
    median = np.median([r.area for r in regions])
    boxes = np.array([r.bbox for r in regions if r.area > 0.2 * median])
    return boxes, (~ink).astype(np.float32)
    ### END SOLUTION


def group_lines(boxes, height):
    """boxes: (K, 4) [y1, x1, y2, x2] in any order; height: typical character height (pixels)
    -> order (K,) box indices in reading order, line_of (K,) line of each box (0 = top)."""
    cy = (boxes[:, 0] + boxes[:, 2]) / 2       # the centres: y ...
    cx = (boxes[:, 1] + boxes[:, 3]) / 2       # ... and x
    # sort by cy, a new line where consecutive centres differ by more than height / 2, then sort by line and cx
    ### BEGIN SOLUTION
    by_y = np.argsort(cy)
    new_line = np.r_[False, np.diff(cy[by_y]) > 0.5 * height]
    line_of = np.empty(len(boxes), dtype=int)
    line_of[by_y] = np.cumsum(new_line)
    order = np.lexsort((cx, line_of))
    return order, line_of
    ### END SOLUTION


def prepare_crop(bw, box):
    """bw: (H, W) float, ink 0 and paper 1; box: [y1, x1, y2, x2] -> (32, 32) float in [0, 1],
    the character centred on paper, its larger side about 25 of 32 pixels, ink dark."""
    y1, x1, y2, x2 = box
    # cut, pad with 1 to a square of side max(h, w) * 32 / 25 (half the padding on each side), resize
    ### BEGIN SOLUTION
    crop = bw[y1:y2, x1:x2]
    h, w = crop.shape
    side = int(round(max(h, w) * 32 / 25))
    pad_y, pad_x = side - h, side - w
    square = np.pad(crop, ((pad_y // 2, pad_y - pad_y // 2), (pad_x // 2, pad_x - pad_x // 2)), constant_values=1)
    return transform.resize(square, (32, 32), anti_aliasing=True)
    ### END SOLUTION
