"""What the generator's redraw changed, measured on real handwriting.

The chapter-3 MLP (same budgets) is trained on sets drawn with some of version 1's settings put back
(:data:`~helpers.data.generator.V1_PARAMS`), one group of settings per row, and each network reads the
real MNIST digits framed like its own training set::

    from helpers.data.study import redraw_study
    table, runs = redraw_study()          # one row per setting group, accuracies averaged over seeds

Only the random ranges change between rows: the random numbers, the styles and their mix, the network,
its budgets and the seeds stay the same.
"""
from __future__ import annotations

import numpy as np

from .. import config, parallel
from .generator import PARAMS, V1_PARAMS, generate_characters
from .cache import load_characters
from .loaders import load_mnist_digits

__all__ = ["REDRAW_ROWS", "redraw_study"]

# row name -> the settings of V1_PARAMS put back into version 2 (empty: version 2 itself)
REDRAW_ROWS: dict[str, tuple[str, ...]] = {
    "version 2 (this book)": (),
    "v1 framing": ("size", "shift"),
    "v1 pen and paper": ("pen", "font_width", "font_width_mix", "blur", "background_drop", "noise"),
    "v1 bending": ("elastic",),
    "all of v1's settings": tuple(V1_PARAMS),
}


def _digit_accuracy(P: np.ndarray, labels: np.ndarray) -> float:
    """Share read right when only the ten digit outputs (26-35) may answer."""
    return float(np.mean(P[:, 26:].argmax(1) + 26 == labels))


def _redraw_row(task: tuple) -> list[tuple[float, float, float]]:
    """One row of :func:`redraw_study` (``(keys of V1_PARAMS put back, seeds)``): draw the row's sets,
    train a chapter-3 MLP per seed, and read validation, test and the real digits."""
    from .. import mlp, nn

    keys, seeds = task
    settings = {k: V1_PARAMS[k] for k in keys} or None
    train, valid, test = (load_characters(s, progress=False) if settings is None else
                          generate_characters(s, settings=settings, progress=False) for s in ("train", "valid", "test"))
    lo, hi = (settings or {}).get("size", PARAMS["size"])
    mnist = load_mnist_digits(fit=(lo + hi) / 2)  # FIT_SIZE for version 2
    out = []
    for seed in seeds:
        params, _ = mlp.train_mlp(seed=seed, train=train, valid=valid, progress=False)
        acc = [float(np.mean(nn.predict(s.X, params).argmax(1) == s.labels)) for s in (valid, test)]
        out.append((*acc, _digit_accuracy(nn.predict(mnist.X, params), mnist.labels)))
    return out


def redraw_study(rows: dict[str, tuple[str, ...]] | None = None, seeds: list[int] | None = None):
    """Train the chapter-3 MLP on each row's generated set; read its validation and test splits and
    the real MNIST digits (framed so their ink box's larger side is the middle of the row's sizes).

    rows:  {name: keys of V1_PARAMS to put back} (default :data:`REDRAW_ROWS`)
    seeds: MLP seeds (initialization and batch order) per row (default budget ``redraw_seeds``)
    Returns ``(table, runs)``: a pandas DataFrame, one row per setting group, with the mean
    validation, generated-test and real-digit accuracies over the seeds (fractions) and the spread
    (max - min, in points) of the real-digit accuracy; ``runs``: {name: [(val, test, mnist), ...]}.
    The MLPs are cached like the chapter's (:func:`helpers.mlp.train_mlp`).
    """
    import pandas as pd

    rows = REDRAW_ROWS if rows is None else rows
    seeds = list(config.budget("redraw_seeds") if seeds is None else seeds)
    for name, keys in rows.items():
        unknown = set(keys) - set(V1_PARAMS)
        if unknown:
            raise ValueError(f"redraw_study: row {name!r} names settings version 1 did not change: "
                             f"{', '.join(sorted(unknown))}; choose from {', '.join(V1_PARAMS)}")
    # each row draws its own sets and trains its own networks: the rows run on all cores
    done = parallel.pmap(_redraw_row, [(tuple(keys), seeds) for keys in rows.values()])
    runs, table = {}, {}
    for (name, keys), row_runs in zip(rows.items(), done):
        runs[name] = row_runs
        r = np.array(row_runs)
        table[name] = {"settings put back": ", ".join(keys) or "none", "validation": r[:, 0].mean(),
                       "generated test": r[:, 1].mean(), "real MNIST digits": r[:, 2].mean(),
                       "spread (points)": 100 * np.ptp(r[:, 2])}
    return pd.DataFrame(table).T, runs
