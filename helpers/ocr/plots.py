"""Figures of chapter 4: the steps of the layout analysis, the threshold, boxes, crops, a reading,
several pages side by side.

Boxes are drawn in one colour per line (:data:`LINE_COLORS`, colour-blind safe), or green/red for
right/wrong characters when the truth is known (:func:`plot_reading`).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .evaluate import char_accuracy, char_correct
from .layout import PageLayout
from .reading import PageReading


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


def plot_pages(pages: Sequence[tuple], ncols: int = 2, figsize=(11, 7.5)):
    """A grid of pages with their character boxes, one colour per line (:func:`plot_layout`).

    pages: ``(image, layout, title)`` triples; each panel shows the image cut to its text (:func:`text_bounds`).
    A page the layout turned upright (``layout.rotation``) is shown as turned: its corrected gray image.
    """
    import matplotlib.pyplot as plt

    nrows = max(1, math.ceil(len(pages) / ncols))
    fig, axs = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, constrained_layout=True)
    for ax in axs.flat[len(pages):]:
        ax.axis("off")
    for ax, (image, layout, title) in zip(axs.flat, pages):
        image = layout.norm if getattr(layout, "rotation", 0.0) else image  # boxes of the upright page
        plot_layout(ax, image, layout, show_dropped=False)
        ys, xs = text_bounds(layout)
        f = np.asarray(image).shape[0] / layout.gray.shape[0]
        ax.set_xlim(xs.start * f, xs.stop * f)
        ax.set_ylim(ys.stop * f, ys.start * f)
        ax.set_title(title, fontsize=10)
    return fig


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
