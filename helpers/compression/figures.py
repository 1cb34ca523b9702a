"""Pictures for chapter 5: rows of 32x32 images (originals, PCA and autoencoder reconstructions,
principal components shown as images)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def image_rows(rows: Sequence[tuple[str, Any]], col_titles: Sequence[str] | None = None, title: str | None = None,
               width: float = 8.0, fig: Any = None):
    """A grid of 32x32 images: one row per ``(label, images)``, images (n, 1024) rows or
    (n, 32, 32), gray levels in [0, 1] shown black to white, separated by gray gaps. Every row
    must hold the same n. ``col_titles``: n short titles over the first row. Each row is one
    ``imshow`` of a mosaic (fast enough for slider frames). Returns the matplotlib Figure (or
    draws into ``fig``, e.g. a SubFigure)."""
    import matplotlib.pyplot as plt

    rows = [(label, np.asarray(imgs, dtype=np.float32).reshape(len(imgs), 32, 32)) for label, imgs in rows]
    sizes = {len(imgs) for _, imgs in rows}
    if len(sizes) != 1 or not rows:
        raise ValueError(f"image_rows: every row needs the same number of images, got {sorted(sizes)}")
    n, gap = sizes.pop(), 2
    if fig is None:
        fig = plt.figure(figsize=(width, width * len(rows) * 32 / (n * (32 + gap)) * 1.08 + (0.35 if title else 0.1)))
    axes = np.atleast_1d(fig.subplots(len(rows), 1))
    cmap = plt.get_cmap("gray").with_extremes(bad="0.72")
    centres = np.arange(n) * (32 + gap) + 15.5
    for r, ((label, imgs), ax) in enumerate(zip(rows, axes)):
        mosaic = np.full((32, n * (32 + gap) - gap), np.nan, dtype=np.float32)
        for c in range(n):
            mosaic[:, c * (32 + gap): c * (32 + gap) + 32] = imgs[c]
        ax.imshow(np.ma.masked_invalid(mosaic), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks([])
        ax.set_ylabel(label, fontsize=9)
        for side in ax.spines.values():
            side.set_visible(False)
        if r == 0 and col_titles is not None:
            ax.xaxis.tick_top()
            ax.set_xticks(centres, list(col_titles), fontsize=9)
            ax.tick_params(axis="x", length=0, pad=2)
        else:
            ax.set_xticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(hspace=0.06, left=0.07, right=0.995, bottom=0.02,
                        top=(0.8 if title else 0.9) if col_titles is not None else (0.86 if title else 0.98))
    return fig


def component_images(components: Any) -> tuple[np.ndarray, np.ndarray]:
    """Principal components (n, D) as gray images in [0, 1] for :func:`image_rows`, ink dark.

    The SVD fixes each direction only up to sign (v and -v span the same line; the codes change
    sign with it), so each row is first flipped, if needed, to make its largest-magnitude entry
    negative; then it is mapped to ``0.5 + v / (2 max |v|)``: 0 is mid-gray, dark pixels are where
    adding the component darkens the image (adds ink), light ones where it lightens it. Returns
    (images (n, D) float32 in [0, 1], signs (n,) of +1 / -1, the flip applied to each row).
    """
    V = np.atleast_2d(np.asarray(components, dtype=np.float64))
    peak = V[np.arange(len(V)), np.argmax(np.abs(V), axis=1)]
    signs = np.where(peak > 0, -1.0, 1.0)
    V = V * signs[:, None]
    scale = np.abs(V).max(axis=1, keepdims=True)
    return (0.5 + V / (2 * np.where(scale > 0, scale, 1.0))).astype(np.float32), signs
