"""Plots the chapters share: class regions of linear scores and probability bar charts.

Introduced in chapter 1 (softmax), where three linear class scores split the plane into the
regions where each class wins::

    from helpers.plots import plot_class_regions, plot_probability_bars

    W = np.array([[2.0, -1.0, -0.5], [0.5, 1.5, -1.8]])   # (2, C): column k is class k's weights
    b = np.array([0.3, 0.0, -0.4])                         # (C,)
    fig, ax = plt.subplots()
    plot_class_regions(ax, W, b, temperature=1.0)

Scores follow the book's convention ``S = X @ W + b`` with ``X: (N, 2)``, ``W: (2, C)``, ``b: (C,)``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = [
    "CLASS_COLORS",
    "class_colors",
    "linear_scores",
    "region_probabilities",
    "region_image",
    "tie_segments",
    "plot_class_regions",
    "plot_probability_bars",
]

# colour-blind safe (Okabe-Ito): blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")

Extent = tuple[float, float, float, float]


def class_colors(n: int) -> np.ndarray:
    """``(n, 3)`` RGB colours in [0, 1] for ``n`` classes (cycles through :data:`CLASS_COLORS`)."""
    from matplotlib.colors import to_rgb

    if n < 1:
        raise ValueError(f"class_colors: need at least one class, got n={n}")
    return np.array([to_rgb(CLASS_COLORS[i % len(CLASS_COLORS)]) for i in range(n)])


def _check_wb(W: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != 2:
        raise ValueError(f"W must have shape (2, C) (column k = weights of class k in the plane), got {W.shape}")
    if b.shape != (W.shape[1],):
        raise ValueError(f"b must have shape (C,) = ({W.shape[1]},) to match W {W.shape}, got {b.shape}")
    if W.shape[1] < 2:
        raise ValueError(f"need at least 2 classes (columns of W), got {W.shape[1]}")
    return W, b


def _check_extent(extent: Sequence[float]) -> Extent:
    if len(extent) != 4:
        raise ValueError(f"extent must be (xmin, xmax, ymin, ymax), got {extent!r}")
    x0, x1, y0, y1 = map(float, extent)
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"extent must satisfy xmin < xmax and ymin < ymax, got {extent!r}")
    return x0, x1, y0, y1


def _softmax_rows(S: np.ndarray) -> np.ndarray:
    E = np.exp(S - S.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def linear_scores(X: Any, W: Any, b: Any) -> np.ndarray:
    """Class scores ``X @ W + b``: ``X: (N, 2)``, ``W: (2, C)``, ``b: (C,)`` -> ``(N, C)``."""
    W, b = _check_wb(W, b)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2) (points in the plane), got {X.shape}")
    return X @ W + b


def _grid(extent: Extent, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if int(resolution) < 2:
        raise ValueError(f"resolution must be at least 2 pixels per side, got {resolution}")
    xs = np.linspace(extent[0], extent[1], int(resolution))
    ys = np.linspace(extent[2], extent[3], int(resolution))
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()])


def region_probabilities(W: Any, b: Any, *, extent: Sequence[float] = (-3, 3, -3, 3), resolution: int = 150,
                         temperature: float = 1.0) -> np.ndarray:
    """Softmax probabilities ``softmax((X @ W + b) / T)`` on a grid: ``(resolution, resolution, C)``.

    Row ``i`` of the result is ``y = ymin + i * dy`` (origin at the bottom, as ``imshow(origin='lower')``).
    """
    W, b = _check_wb(W, b)
    extent = _check_extent(extent)
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    _, _, pts = _grid(extent, resolution)
    P = _softmax_rows(linear_scores(pts, W, b) / float(temperature))
    return P.reshape(int(resolution), int(resolution), -1)


def region_image(W: Any, b: Any, *, extent: Sequence[float] = (-3, 3, -3, 3), resolution: int = 150,
                 temperature: float = 1.0, colors: Any = None) -> np.ndarray:
    """RGB image ``(resolution, resolution, 3)`` in [0, 1]: each pixel mixes the class colours by probability.

    Deep inside a class's region the pixel has that class's colour; where classes are equally likely
    it is the average of their colours. ``colors``: ``(C, 3)`` RGB in [0, 1] (default :func:`class_colors`).
    """
    P = region_probabilities(W, b, extent=extent, resolution=resolution, temperature=temperature)
    C = P.shape[-1]
    colors = class_colors(C) if colors is None else np.asarray(colors, dtype=np.float64)
    if colors.shape != (C, 3):
        raise ValueError(f"colors must have shape (C, 3) = ({C}, 3), got {colors.shape}")
    return np.clip(P @ colors, 0.0, 1.0)


def tie_segments(W: Any, b: Any, extent: Sequence[float] = (-3, 3, -3, 3),
                 tol: float = 1e-12) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """The decision boundaries inside ``extent``, exactly: segments where two classes tie for the top score.

    Classes ``i < j`` tie on the line ``(w_i - w_j) . x + (b_i - b_j) = 0``; the boundary is the part
    of that line where no third class scores higher. Returns ``[(i, j, start, end), ...]`` with
    ``start``, ``end`` of shape ``(2,)``; pairs that never share a boundary in ``extent`` are left out.
    """
    W, b = _check_wb(W, b)
    x0, x1, y0, y1 = _check_extent(extent)
    C = W.shape[1]
    out = []
    for i in range(C):
        for j in range(i + 1, C):
            n = W[:, i] - W[:, j]
            nn = float(n @ n)
            if nn < tol:  # parallel score planes: they tie everywhere or nowhere; no line to draw
                continue
            p0 = -(b[i] - b[j]) * n / nn  # a point on the tie line
            d = np.array([-n[1], n[0]]) / np.sqrt(nn)  # unit direction along it
            lo, hi = -np.inf, np.inf
            # stay inside the box, and keep s_i >= s_k for every other class k: each is  a + t g >= 0
            cons = [(p0[0] - x0, d[0]), (x1 - p0[0], -d[0]), (p0[1] - y0, d[1]), (y1 - p0[1], -d[1])]
            for k in range(C):
                if k not in (i, j):
                    g = W[:, i] - W[:, k]
                    cons.append((float(g @ p0 + b[i] - b[k]), float(g @ d)))
            for a, g in cons:
                if abs(g) < tol:
                    if a < -tol:
                        lo, hi = 1.0, 0.0  # infeasible everywhere on the line
                elif g > 0:
                    lo = max(lo, -a / g)
                else:
                    hi = min(hi, -a / g)
            if hi > lo + tol:
                out.append((i, j, p0 + lo * d, p0 + hi * d))
    return out


def plot_class_regions(ax: Any, W: Any, b: Any, *, extent: Sequence[float] = (-3, 3, -3, 3),
                       resolution: int = 150, temperature: float = 1.0, colors: Any = None,
                       boundaries: bool = True, labels: Sequence[str] | None = None,
                       legend: bool = True) -> Any:
    """Draw where each class of linear scores wins, on ``ax``; returns ``ax``.

    The background mixes class colours by ``softmax((x @ W + b) / temperature)`` (see
    :func:`region_image`), so a low temperature gives crisp regions and a high one washes them
    out. ``boundaries`` draws the exact tie lines (:func:`tie_segments`) in black; they do not
    depend on the temperature. ``labels``: one name per class (default ``class 1..C``).
    """
    from matplotlib.patches import Patch

    W, b = _check_wb(W, b)
    extent = _check_extent(extent)
    C = W.shape[1]
    colors = class_colors(C) if colors is None else np.asarray(colors, dtype=np.float64)
    labels = [f"class {k + 1}" for k in range(C)] if labels is None else list(labels)
    if len(labels) != C:
        raise ValueError(f"labels: need one name per class ({C}), got {len(labels)}")
    img = region_image(W, b, extent=extent, resolution=resolution, temperature=temperature, colors=colors)
    ax.imshow(img, origin="lower", extent=extent, interpolation="bilinear", aspect="equal")
    if boundaries:
        for _, _, p, q in tie_segments(W, b, extent):
            ax.plot([p[0], q[0]], [p[1], q[1]], color="black", lw=1.5)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if legend:
        handles = [Patch(facecolor=colors[k], edgecolor="black", label=labels[k]) for k in range(C)]
        ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.9)
    return ax


def plot_probability_bars(ax: Any, probs: Any, labels: Sequence[str] | None = None, *, colors: Any = None,
                          annotate: bool = True, ylabel: str = "probability") -> Any:
    """Bar chart of a probability vector ``probs: (C,)`` with values in [0, 1]; returns ``ax``.

    Bars are coloured per class like :func:`plot_class_regions`; ``annotate`` writes each value
    above its bar. The y axis is fixed to [0, 1] so charts for different inputs compare directly.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or p.size < 1:
        raise ValueError(f"probs must be a 1-D vector of class probabilities, got shape {p.shape}")
    if np.any(p < -1e-9) or np.any(p > 1 + 1e-9):
        raise ValueError(f"probs must lie in [0, 1], got min {p.min():.3g}, max {p.max():.3g}")
    C = p.size
    labels = [f"class {k + 1}" for k in range(C)] if labels is None else list(labels)
    if len(labels) != C:
        raise ValueError(f"labels: need one name per class ({C}), got {len(labels)}")
    colors = class_colors(C) if colors is None else colors
    bars = ax.bar(range(C), p, color=colors, edgecolor="black", linewidth=0.8)
    ax.set_xticks(range(C), labels)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel(ylabel)
    if annotate:
        for rect, v in zip(bars, p):
            ax.text(rect.get_x() + rect.get_width() / 2, v + 0.02, f"{v:.2f}", ha="center", va="bottom",
                    fontsize="small")
    return ax
