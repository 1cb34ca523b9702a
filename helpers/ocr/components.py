"""Step 3: connected components, joined into characters, specks and blobs dropped.

``measure.label`` numbers every 8-connected blob of ink; a character is one blob when it is
unbroken and touches no other. Two repairs make this hold more often: pieces stacked above each
other (a broken stroke, the dot of an i) are merged, and a small fragment beside a character (a
loose serif) joins it. What is shaped like no character (a straight bar, a stroke far thicker than
the page's writing) is dropped. "Typical" sizes are measured on the page itself, so no threshold is
in pixels.
"""
from __future__ import annotations

import numpy as np


def connected_components(ink: np.ndarray):
    """The 8-connected blobs of ink and their bounding boxes.

    ink: (h, w) bool, True = ink.
    Returns ``(labels, boxes, area, ids)``: labels (h, w) int32 (0 = paper); boxes (n, 4) int64
    [y1, x1, y2, x2] (y2, x2 exclusive, as regionprops); area (n,) float64 ink pixels; ids (n,)
    int64 the label of each blob.
    """
    from skimage import measure

    labels = measure.label(ink, connectivity=2).astype(np.int32)
    regions = measure.regionprops(labels)
    n = len(regions)
    boxes = np.array([r.bbox for r in regions], dtype=np.int64).reshape(n, 4)
    area = np.array([r.area for r in regions], dtype=np.float64)
    ids = np.array([r.label for r in regions], dtype=np.int64)
    return labels, boxes, area, ids


def _big(area: np.ndarray) -> np.ndarray:
    """(n,) bool: not a speck (area at least a quarter of the 90th percentile)."""
    return area >= 0.25 * np.percentile(area, 90)


def typical_height(boxes: np.ndarray, area: np.ndarray) -> float:
    """Median height of the (n, 4) boxes whose blobs are not specks; 0 without boxes."""
    if len(boxes) == 0:
        return 0.0
    return float(np.median((boxes[:, 2] - boxes[:, 0])[_big(area)]))


def _union_find(n: int, pairs: np.ndarray) -> np.ndarray:
    """Component id of each of n items joined by the (M, 2) pairs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as graph_components

    if len(pairs) == 0:
        return np.arange(n)
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return graph_components(g, directed=False)[1]


def _group_sums(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(G,) sums of ``values`` over each group id 0..max(group)."""
    return np.bincount(group, values, minlength=int(group.max() + 1) if len(group) else 0)


def union_boxes(group: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(G, 4) int64 box around the (n, 4) boxes of each group id 0..max(group)."""
    n_groups = int(group.max() + 1) if len(group) else 0
    g_box = np.zeros((n_groups, 4), np.int64)
    if len(group):
        g_box[:, :2] = np.iinfo(np.int64).max
        np.minimum.at(g_box[:, 0], group, boxes[:, 0])
        np.minimum.at(g_box[:, 1], group, boxes[:, 1])
        np.maximum.at(g_box[:, 2], group, boxes[:, 2])
        np.maximum.at(g_box[:, 3], group, boxes[:, 3])
    return g_box


def merge_stacked(boxes: np.ndarray, height: float) -> np.ndarray:
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


def attach_fragments(group: np.ndarray, g_box: np.ndarray, g_area: np.ndarray, height: float) -> np.ndarray:
    """Join small fragments (less than half a character tall and wide, under a third of the typical
    area: a broken serif, the end of a stroke) to the nearest character whose box is at most
    0.15 character heights away; returns the new group id of every component (ids compacted).

    group: (n,) int group of each component; g_box: (G, 4) box and g_area: (G,) ink of each group.
    """
    if len(g_box) < 2:
        return group
    typical = np.median(g_area[_big(g_area)])
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


def letters_from_components(boxes: np.ndarray, area: np.ndarray, height: float, page_width: int,
                            merge: bool = True, speck_area: float = 0.06):
    """Characters from connected components: join the pieces of one character, drop specks and blobs.

    boxes:      (n, 4) int [y1, x1, y2, x2] of the components (y2, x2 exclusive)
    area:       (n,) float ink pixels of each component
    height:     the typical character height (pixels);  page_width: the image width (pixels)
    merge:      join stacked pieces and small fragments;  speck_area: specks have less ink than
                this fraction of the typical character's
    Returns ``(group, char_boxes, keep)``: group (n,) int, the character of each component;
    char_boxes (G, 4) int64 the box of each character; keep (G,) bool, neither speck nor blob.
    """
    group = np.arange(len(boxes))
    if merge and len(boxes):
        group = merge_stacked(boxes, height)
        group = attach_fragments(group, union_boxes(group, boxes), _group_sums(group, area), height)
    char_boxes, char_area = union_boxes(group, boxes), _group_sums(group, area)
    gh, gw = char_boxes[:, 2] - char_boxes[:, 0], char_boxes[:, 3] - char_boxes[:, 1]
    typical_area = np.median(char_area[_big(char_area)]) if len(char_area) else 0.0
    speck = (char_area < speck_area * typical_area) | (np.maximum(gh, gw) < 0.25 * height)
    huge = (gh > 4 * height) | (gw > max(6 * height, 0.5 * page_width))  # a page edge, a ruled line
    return group, char_boxes, ~(speck | huge | straight_bars(char_boxes, height))


def straight_bars(boxes: np.ndarray, height: float) -> np.ndarray:
    """(G,) bool: boxes shaped like no character, a straight bar (a piece of a ruled line, of a page's
    edge or of its shadow).

    A character is about one typical ``height`` tall; none is a flat dash (less than half that tall
    and over twice as wide as tall) or a thin post over twice that tall (narrower than 0.4 of its
    height). Touching letters make a box wide but keep it a full character tall, an I or 1 is thin
    but one character tall, so both are kept."""
    gh, gw = (boxes[:, 2] - boxes[:, 0]).astype(np.float64), (boxes[:, 3] - boxes[:, 1]).astype(np.float64)
    flat = (gh < 0.5 * height) & (gw > 2 * gh)
    post = (gh > 2 * height) & (gw < 0.4 * gh)
    return flat | post


def ink_axes(labels: np.ndarray, ids: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(major, minor): (G,) float the axes of each character's inertia ellipse (as ``regionprops``'s
    ``major_axis_length``), from the second moments of its ink pixels; a straight bar of length L and
    width t has axes of about 1.15 L and 1.15 t."""
    n_groups = int(group.max()) + 1 if len(group) else 0
    if n_groups == 0:
        return np.zeros(0), np.zeros(0)
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs]
    comp_of_label = np.full(int(labels.max()) + 1, -1, np.int64)
    comp_of_label[ids] = np.arange(len(ids))
    g = group[comp_of_label[lab]]
    ys, xs = ys.astype(np.float64), xs.astype(np.float64)
    n = np.maximum(np.bincount(g, minlength=n_groups).astype(np.float64), 1)
    my, mx = np.bincount(g, ys, n_groups) / n, np.bincount(g, xs, n_groups) / n
    dy, dx = ys - my[g], xs - mx[g]
    syy, sxx, sxy = (np.bincount(g, w, n_groups) / n for w in (dy * dy, dx * dx, dx * dy))
    root = np.sqrt(((syy - sxx) / 2) ** 2 + sxy ** 2)
    return (4 * np.sqrt(np.maximum((syy + sxx) / 2 + root, 0)), 4 * np.sqrt(np.maximum((syy + sxx) / 2 - root, 0)))


def long_straight_strokes(labels: np.ndarray, ids: np.ndarray, group: np.ndarray, height: float,
                          stroke: np.ndarray | None = None) -> np.ndarray:
    """(G,) bool: characters whose ink is one straight stroke longer than two characters, at any angle
    (a ruled line, the edge of a second page or its shadow, slightly turned), or a long band of
    thick strokes (a pen's body).

    From the inertia ellipse (:func:`ink_axes`): a character is at most about a character tall and long
    (an I: axes 1.15 and 0.15 heights); a bar whose long axis exceeds 2.3 heights while its short axis
    stays under 0.4 is no character, nor a word of touching letters (whose short axis is about a
    character's height). With ``stroke`` (G,), the stroke width of each character: a band longer than
    three heights whose stroke is over 1.8 times the page's median is a pen (the strokes of a word of
    touching letters stay within about 1.7 times the median, at an M's joins)."""
    major, minor = ink_axes(labels, ids, group)
    out = (major > 2.3 * height) & (minor < 0.4 * height)
    if stroke is not None and len(stroke):
        out |= (major > 3 * height) & (stroke > 1.8 * np.median(stroke))
    return out


def thick_strokes(stroke: np.ndarray, factor: float = 2.5) -> np.ndarray:
    """(G,) bool: strokes more than ``factor`` times as wide as the page's median stroke: a pen or
    a shadow lying on the page, not writing (a page is written with one pen; the stroke of one
    character varies by well under 2 times around the median)."""
    if len(stroke) == 0:
        return np.zeros(0, bool)
    return stroke > factor * np.median(stroke)


def stroke_estimates(ink: np.ndarray, labels: np.ndarray, ids: np.ndarray, area: np.ndarray,
                     group: np.ndarray) -> np.ndarray:
    """(G,) float stroke width of each character (pixels): 2 * ink area / boundary pixels."""
    from scipy import ndimage

    edge = ink & ~ndimage.binary_erosion(ink)
    boundary = np.bincount(labels[edge], minlength=labels.max() + 1).astype(np.float64)[ids] if len(ids) else area
    return 2 * _group_sums(group, area) / np.maximum(_group_sums(group, boundary), 1)


def typical_width(boxes: np.ndarray, height: float) -> float:
    """The width of one character: the median width of the (K, 4) boxes narrower than 1.2 heights,
    kept within 0.4-0.9 heights (0.7 heights without such boxes)."""
    w = boxes[:, 3] - boxes[:, 1]
    single = w[w < 1.2 * height]
    return float(np.clip(np.median(single), 0.4 * height, 0.9 * height)) if len(single) else 0.7 * height


def split_touching(labels: np.ndarray, boxes: np.ndarray, members: list, height: float, split_width: float = 1.65,
                   return_parent: bool = False, split_aspect: float = 1.2):
    """Split character boxes that hold several touching letters at minima of their ink columns.

    labels: (h, w) int32 components; boxes: (K, 4) character boxes; members: K lists of labels
    A box wider than ``split_width`` typical character widths (:func:`typical_width`) and ``split_aspect`` times its
    height (1.2: an M or W is rarely wider than that; a reader that checks the pieces against the whole box,
    as :func:`.reading.read_page` does, can propose more) is expected to hold
    n = round(width / typical width) letters; each of the n - 1 cuts goes to the column with the least
    ink within a third of a letter of its expected place, if that column holds at most half the box's
    fullest column's ink. The pixels right of a cut get a new label. Returns ``(labels, boxes, members)``
    (labels copied when anything is split; boxes and members with the pieces in place of the box),
    and with ``return_parent`` also ``parent`` (K',) int, the index of the box each piece was cut from
    (-1 for a box left whole), so a reader can still choose the whole box (:func:`.reading.read_page`).
    """
    def done(labels, boxes, members, parent):
        return (labels, boxes, members, np.asarray(parent, np.int64)) if return_parent else (labels, boxes, members)

    if len(boxes) == 0:
        return done(labels, boxes, members, np.zeros(0))
    w_ref = typical_width(boxes, height)
    bw, bh = boxes[:, 3] - boxes[:, 1], np.maximum(boxes[:, 2] - boxes[:, 0], 1)
    wide = np.nonzero((bw > split_width * w_ref) & (bw > split_aspect * bh))[0]
    if len(wide) == 0:
        return done(labels, boxes, members, np.full(len(boxes), -1))
    labels = labels.copy()
    next_id = int(labels.max()) + 1
    new_boxes, new_members, parent = [], [], []
    wide_set = set(wide.tolist())
    for k in range(len(boxes)):
        if k not in wide_set:
            new_boxes.append(boxes[k]), new_members.append(members[k]), parent.append(-1)
            continue
        y1, x1, y2, x2 = (int(v) for v in boxes[k])
        mine = np.isin(labels[y1:y2, x1:x2], members[k])
        cols = mine.sum(0).astype(np.float64)
        n = int(round((x2 - x1) / w_ref))
        step = (x2 - x1) / max(n, 1)
        cuts = []
        for i in range(1, n):
            lo, hi = int(i * step - step / 3), int(i * step + step / 3) + 1
            lo, hi = max(lo, 1), min(hi, len(cols) - 1)
            c = lo + int(np.argmin(cols[lo:hi] + 1e-3 * np.abs(np.arange(lo, hi) - i * step)))  # ties: nearest
            if cols[c] <= 0.5 * cols.max() and (not cuts or c - cuts[-1] > step / 3):
                cuts.append(c)
        if not cuts:
            new_boxes.append(boxes[k]), new_members.append(members[k]), parent.append(-1)
            continue
        edges = [0] + cuts + [x2 - x1]
        for a, b in zip(edges[:-1], edges[1:]):
            piece = np.zeros_like(mine)
            piece[:, a:b] = mine[:, a:b]
            if not piece.any():
                continue
            ids = sorted({int(v) for v in labels[y1:y2, x1:x2][piece]})
            if a > 0:  # the pixels right of a cut: a new label
                region = labels[y1:y2, x1:x2]
                region[piece] = next_id
                ids = [next_id]
                next_id += 1
            rows, cs = np.nonzero(piece.any(1))[0], np.nonzero(piece.any(0))[0]
            new_boxes.append(np.array([y1 + rows[0], x1 + cs[0], y1 + rows[-1] + 1, x1 + cs[-1] + 1], np.int64))
            new_members.append(ids), parent.append(k)
    return done(labels, np.array(new_boxes, np.int64).reshape(-1, 4), new_members, parent)


def stroke_of_characters(ink: np.ndarray, labels: np.ndarray, members: list) -> np.ndarray:
    """(K,) float stroke width of each character (pixels): 2 * ink area / boundary pixels of its labels."""
    from scipy import ndimage

    if not members:
        return np.zeros(0)
    edge = ink & ~ndimage.binary_erosion(ink)
    n = int(labels.max()) + 1
    area = np.bincount(labels.ravel(), minlength=n).astype(np.float64)
    boundary = np.bincount(labels[edge], minlength=n).astype(np.float64)
    return np.array([2 * area[m].sum() / max(boundary[m].sum(), 1) for m in members])
