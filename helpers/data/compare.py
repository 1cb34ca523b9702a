"""How a set of character images looks, in numbers: ink box, stroke, paper, noise and edges.

Used by the data chapter to put the generated characters beside real handwriting (the MNIST digits)::

    from helpers.data import compare_table, image_statistics, load_characters, load_mnist_digits
    stats = image_statistics(load_mnist_digits().X)     # {'box_height': (N,), 'stroke_width': (N,), ...}
    compare_table({"real": load_mnist_digits().X, "generated": load_characters("test").X})

Every statistic is measured on each image by itself, so a set's mean and spread can be compared with
another set's. Ink is every pixel darker than mid-grey (:data:`INK_THRESHOLD`); paper is every pixel
more than :data:`PAPER_GAP` pixels away from ink.
"""
from __future__ import annotations

import numpy as np

__all__ = ["INK_THRESHOLD", "PAPER_GAP", "STATISTICS", "image_statistics", "compare_table", "NIST_LETTERS_TARGET",
           "shape_statistics", "shape_table"]

INK_THRESHOLD = 0.5  # gray level: darker pixels are ink (white paper = 1, black ink = 0)
PAPER_GAP = 3        # pixels: paper is at least this far (more than) from every ink pixel, out of the blur halo

# name -> (row label of the table, how a set's mean and sd are printed; "%" = share of images)
STATISTICS: dict[str, tuple[str, str]] = {
    "box_height": ("ink box height (px)", "{:.1f} ± {:.1f}"),
    "box_width": ("ink box width (px)", "{:.1f} ± {:.1f}"),
    "touches_frame": ("ink touches the frame (% of images)", "%"),
    "stroke_width": ("stroke width (px)", "{:.2f} ± {:.2f}"),
    "ink": ("ink level (median ink pixel)", "{:.3f} ± {:.3f}"),
    "background": ("background level (median paper pixel)", "{:.3f} ± {:.3f}"),
    "noise": ("background noise (sd of paper pixels)", "{:.4f} ± {:.4f}"),
    "soft_edge": ("soft edges (grey share of ink and edge pixels)", "{:.2f} ± {:.2f}"),
}


def _as_images(X: np.ndarray, transposed: bool) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 2 and X.shape[1] == 1024:
        X = X.reshape(-1, 32, 32)
    if X.ndim != 3 or X.shape[1:] != (32, 32):
        raise ValueError(f"image_statistics: X must be (N, 1024) rows or (N, 32, 32) images in [0, 1], ink dark; "
                         f"got shape {X.shape}")
    return X.transpose(0, 2, 1) if transposed else X


def _skeleton_length(skeleton: np.ndarray) -> np.ndarray:
    """(B, H, W) bool one-pixel-wide lines -> (B,) length in pixels: links between 4-neighbours count 1,
    diagonal links (not already joined through a 4-neighbour) count sqrt(2), plus 1 for the end pixel."""
    s = skeleton
    orth = (s[:, :, :-1] & s[:, :, 1:]).sum((1, 2)) + (s[:, :-1, :] & s[:, 1:, :]).sum((1, 2))
    down_right = s[:, :-1, :-1] & s[:, 1:, 1:] & ~s[:, :-1, 1:] & ~s[:, 1:, :-1]
    down_left = s[:, :-1, 1:] & s[:, 1:, :-1] & ~s[:, :-1, :-1] & ~s[:, 1:, 1:]
    diag = down_right.sum((1, 2)) + down_left.sum((1, 2))
    return np.where(s.any((1, 2)), orth + np.sqrt(2) * diag + 1, 0.0)


def image_statistics(X: np.ndarray, transposed: bool = False) -> dict[str, np.ndarray]:
    """Per-image statistics of character images, each an (N,) array (float64; ``touches_frame`` bool).

    X: (N, 1024) float in [0, 1], ink dark, white paper about 1: the book's ``.X`` rows (row-major
       flattening of the *upright* images, as every loader of :mod:`helpers.data` returns them), or
       (N, 32, 32) upright images. transposed=True reads the course files' raw rows instead
       (NIST36 ``.mat`` rows hold the image transposed: upright = ``row.reshape(32, 32).T``).

    - box_height, box_width: rows and columns spanned by ink (pixels < INK_THRESHOLD), in px; 0 without ink
    - touches_frame: some ink lies in the outermost row or column
    - stroke_width: ink area / length of its skeleton (skimage ``skeletonize``), in px; a straight stroke
      w pixels wide gives about w (a little more on short strokes, whose skeleton stops short of the ends)
    - ink: median gray level of the ink pixels
    - background, noise: median and standard deviation of the paper pixels (more than PAPER_GAP px
      from ink; all non-ink pixels when there are none that far)
    - soft_edge: with each image's levels rescaled to t = (x - ink) / (background - ink), the share of
      pixels with 0.25 < t < 0.75 among those with t < 0.75 (ink and edge): 0 for crisp two-level ink,
      larger the more blurred (or anti-aliased) the strokes
    Statistics without pixels to measure (no ink, no paper) are NaN.
    """
    from scipy import ndimage
    from skimage.morphology import skeletonize

    images = _as_images(X, transposed)
    n = len(images)
    ink_mask = images < INK_THRESHOLD
    rows, cols = ink_mask.any(2), ink_mask.any(1)
    height = np.where(rows.any(1), 32 - rows[:, ::-1].argmax(1) - rows.argmax(1), 0)
    width = np.where(cols.any(1), 32 - cols[:, ::-1].argmax(1) - cols.argmax(1), 0)
    touches = rows[:, 0] | rows[:, -1] | cols[:, 0] | cols[:, -1]

    skeleton = np.stack([skeletonize(m) for m in ink_mask]) if n else ink_mask
    length = _skeleton_length(skeleton)
    area = ink_mask.sum((1, 2))
    stroke = np.divide(area, length, out=np.full(n, np.nan), where=length > 0)

    yy, xx = np.mgrid[-PAPER_GAP:PAPER_GAP + 1, -PAPER_GAP:PAPER_GAP + 1]
    disk = (yy ** 2 + xx ** 2) <= PAPER_GAP ** 2
    near_ink = ndimage.binary_dilation(ink_mask, structure=disk[None]) if n else ink_mask
    paper = ~near_ink
    paper = np.where(paper.any((1, 2))[:, None, None], paper, ~ink_mask)

    def masked(fn, mask):
        return np.array([fn(im[m]) if m.any() else np.nan for im, m in zip(images, mask)], dtype=np.float64)

    ink_level, background = masked(np.median, ink_mask), masked(np.median, paper)
    noise = masked(np.std, paper)
    contrast = (background - ink_level)[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (images - ink_level[:, None, None]) / contrast
    dark, grey = t < 0.75, (t > 0.25) & (t < 0.75)
    n_dark = dark.sum((1, 2))
    soft = np.divide(grey.sum((1, 2)), n_dark, out=np.full(n, np.nan), where=(n_dark > 0) & (contrast[:, 0, 0] > 0))
    return {"box_height": height.astype(np.float64), "box_width": width.astype(np.float64),
            "touches_frame": touches, "stroke_width": stroke, "ink": ink_level, "background": background,
            "noise": noise, "soft_edge": soft}


def compare_table(named_sets: dict):
    """Mean ± sd of every statistic of :func:`image_statistics`, one column per set.

    named_sets: {name: X} with X (N, 1024) upright rows or (N, 32, 32) images in [0, 1], ink dark (the
    ``.X`` of a CharacterSet), or the dict :func:`image_statistics` returned for it.
    Returns a pandas DataFrame of strings, rows labelled by :data:`STATISTICS` (units in the label),
    columns the set names; ``touches_frame`` is the share of images, in percent. NaNs are left out.
    """
    import pandas as pd

    columns = {}
    for name, value in named_sets.items():
        stats = value if isinstance(value, dict) else image_statistics(value)
        cells = {}
        for key, (label, fmt) in STATISTICS.items():
            v = np.asarray(stats[key], dtype=np.float64)
            v = v[np.isfinite(v)]
            cells[label] = f"{100 * v.mean():.0f}%" if fmt == "%" else fmt.format(v.mean(), v.std())
        columns[name] = cells
    table = pd.DataFrame(columns)
    table.index.name = "statistic"
    return table


# ---------------------------------------------------------------------------------------------------
# The generator's target: statistics of real NIST letters, one definition for every set
# ---------------------------------------------------------------------------------------------------

# Measured on 1,300 real NIST36 letters (held out of this repository) with :func:`shape_statistics`'s
# definitions: the numbers version 3 of the generator was fitted to. Percentiles 10/25/50/75/90 for the
# ink box, 10/50/90 for stroke and slant; shares in percent; mean ink as a fraction of the frame.
NIST_LETTERS_TARGET: dict[str, tuple[float, ...]] = {
    "larger side": (21, 23, 25, 28, 30),
    "height / width (median)": (24, 22),
    "touches the frame (%)": (12,),
    "stroke width": (2.8, 3.5, 4.4),
    "slant (degrees)": (-9, 10, 30),
    "grey share of the ink (%)": (45,),
    "mean ink": (0.17,),
}


def shape_statistics(X: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image statistics with the definitions of :data:`NIST_LETTERS_TARGET`, each an (N,) array.

    X: (N, 1024) upright rows or (N, 32, 32) images in [0, 1], ink dark. Ink is a pixel below 0.5.

    - larger_side, height, width: the ink box (px); touches: ink in the outermost row or column
    - stroke: 2 x ink area / boundary pixels (ink pixels with a 4-neighbour that is not ink), in px
    - slant: degrees from the ink's second moments, atan(-cov(x, y) / var(y)) with y down (> 0 leans right)
    - grey: share of the pixels darker than 0.9 that are lighter than 0.1 (soft, anti-aliased edges)
    - ink: mean of 1 - x over the frame
    """
    from scipy import ndimage

    images = _as_images(X, False)
    m = images < INK_THRESHOLD
    rows, cols = m.any(2), m.any(1)
    height = np.where(rows.any(1), 32 - rows[:, ::-1].argmax(1) - rows.argmax(1), 0)
    width = np.where(cols.any(1), 32 - cols[:, ::-1].argmax(1) - cols.argmax(1), 0)
    cross = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
    inner = ndimage.binary_erosion(m, structure=cross[None], border_value=0) if len(m) else m
    boundary = (m & ~inner).sum((1, 2))
    area = m.sum((1, 2))
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64)
    n = np.maximum(area, 1)
    my = (m * yy).sum((1, 2)) / n
    mx = (m * xx).sum((1, 2)) / n
    dy, dx = yy - my[:, None, None], xx - mx[:, None, None]
    cxy, cyy = (m * dy * dx).sum((1, 2)) / n, (m * dy * dy).sum((1, 2)) / n
    dark = (images < 0.9).sum((1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"larger_side": np.maximum(height, width).astype(np.float64), "height": height.astype(np.float64),
                "width": width.astype(np.float64), "touches": rows[:, 0] | rows[:, -1] | cols[:, 0] | cols[:, -1],
                "stroke": np.where(boundary > 0, 2 * area / np.maximum(boundary, 1), np.nan),
                "slant": np.where(cyy > 0, np.degrees(np.arctan(-cxy / cyy)), np.nan),
                "grey": np.where(dark > 0, ((images > 0.1) & (images < 0.9)).sum((1, 2)) / np.maximum(dark, 1), np.nan),
                "ink": (1 - images).mean((1, 2))}


def _summary(stats: dict[str, np.ndarray]) -> dict[str, tuple[float, ...]]:
    pct = lambda key, q: tuple(float(v) for v in np.nanpercentile(stats[key], q))  # noqa: E731
    return {"larger side": pct("larger_side", [10, 25, 50, 75, 90]),
            "height / width (median)": (float(np.median(stats["height"])), float(np.median(stats["width"]))),
            "touches the frame (%)": (100 * float(np.mean(stats["touches"])),),
            "stroke width": pct("stroke", [10, 50, 90]),
            "slant (degrees)": pct("slant", [10, 50, 90]),
            "grey share of the ink (%)": (100 * float(np.nanmean(stats["grey"])),),
            "mean ink": (float(np.mean(stats["ink"])),)}


def shape_table(named_sets: dict, target: bool = True):
    """The statistics of :data:`NIST_LETTERS_TARGET` for each set, one column per set (strings like the target's).

    named_sets: {name: X} (see :func:`shape_statistics`); target: put the real NIST letters' numbers first.
    Returns ``(table, numbers)``: a pandas DataFrame of strings and {name: {statistic: tuple of floats}}.
    """
    import pandas as pd

    numbers = {"real NIST letters (target)": NIST_LETTERS_TARGET} if target else {}
    for name, X in named_sets.items():
        numbers[name] = _summary(shape_statistics(X))

    def fmt(key, values):
        if key == "mean ink":
            return f"{values[0]:.2f}"
        if key == "stroke width":
            return " / ".join(f"{v:.1f}" for v in values)
        return " / ".join(f"{v:.0f}" for v in values)

    table = pd.DataFrame({name: {k: fmt(k, v) for k, v in nums.items()} for name, nums in numbers.items()})
    table.index = [{"larger side": "ink box, larger side (px; p10/25/50/75/90)",
                    "height / width (median)": "ink box height / width, median (px)",
                    "stroke width": "stroke width (px; p10/50/90)", "slant (degrees)": "slant (degrees; p10/50/90)"}.get(k, k)
                   for k in table.index]
    table.index.name = "statistic"
    return table, numbers
