"""The generator study: what each group of version 3's settings does for real handwriting.

The chapter-3 MLP (same budgets) is trained on sets drawn with one group of version 2's settings put back
(:data:`~helpers.data.generator.V2_PARAMS`), one group per row, and each network reads the real MNIST digits
framed like its own training set (and, when given, a set of real letters)::

    from helpers.generator_study import generator_study
    table, runs = generator_study()          # one row per setting group, accuracies averaged over seeds

Only the random ranges change between rows: the random numbers, the network, its budgets and the seeds stay
the same (rows that put back the style mix also change which styles are drawn).
This study trains networks, so it lives above :mod:`helpers.data` (data flows up from there, never back).
"""
from __future__ import annotations

import numpy as np

from . import config, parallel
from .data.cache import load_characters
from .data.generator import PARAMS, V2_PARAMS, generate_characters
from .data.loaders import load_mnist_digits

__all__ = ["STUDY_ROWS", "generator_study"]

# row name -> the settings of V2_PARAMS put back into version 3 (empty: version 3 itself)
STUDY_ROWS: dict[str, tuple[str, ...]] = {
    "version 3 (this book)": (),
    "v2 framing": ("size", "shift", "aspect_mean"),
    "v2 pen and edges": ("pen", "font_width", "blur", "ink", "ink_gain"),
    "v2 slant": ("slant",),
    "capitals only": ("lowercase",),
    "without the new hands": ("hands_v3",),
    "all of v2's settings": tuple(V2_PARAMS),
}


def _digit_accuracy(P: np.ndarray, labels: np.ndarray) -> float:
    """Share read right when only the ten digit outputs (26-35) may answer."""
    return float(np.mean(P[:, 26:].argmax(1) + 26 == labels))


def _study_row(task: tuple) -> list[tuple[float, ...]]:
    """One row of :func:`generator_study` (``(keys of V2_PARAMS put back, seeds, letters)``): draw the row's
    sets, train a chapter-3 MLP per seed, read validation, test, the real digits (and the real letters)."""
    from . import mlp, nn

    keys, seeds, letters = task
    settings = {k: V2_PARAMS[k] for k in keys} or None
    train, valid, test = (load_characters(s, progress=False) if settings is None else
                          generate_characters(s, settings=settings, progress=False) for s in ("train", "valid", "test"))
    lo, hi = (settings or {}).get("size", PARAMS["size"])
    mnist = load_mnist_digits(fit=(lo + hi) / 2)  # FIT_SIZE for version 3
    out = []
    for seed in seeds:
        params, _ = mlp.train_mlp(seed=seed, train=train, valid=valid, progress=False)
        row = [float(np.mean(nn.predict(s.X, params).argmax(1) == s.labels)) for s in (valid, test)]
        row.append(_digit_accuracy(nn.predict(mnist.X, params), mnist.labels))
        if letters is not None:
            X, y = letters
            row.append(float(np.mean(nn.predict(X, params).argmax(1) == y)))
        out.append(tuple(row))
    return out


def generator_study(rows: dict[str, tuple[str, ...]] | None = None, seeds: list[int] | None = None,
                    letters: tuple[np.ndarray, np.ndarray] | None = None):
    """Train the chapter-3 MLP on each row's generated set; read its validation and test splits and the
    real MNIST digits (framed so their ink box's larger side is the middle of the row's sizes).

    rows:    {name: keys of V2_PARAMS to put back} (default :data:`STUDY_ROWS`)
    seeds:   MLP seeds (initialization and batch order) per row (default budget ``redraw_seeds``)
    letters: optional real letters ``(X (N, 1024) upright rows in [0, 1], ink dark; labels 0-25)``, read
             36-way as they come (e.g. the course's NIST36 letters, which this repository does not ship)
    Returns ``(table, runs)``: a pandas DataFrame, one row per setting group, with the mean validation,
    generated-test and real-digit (and real-letter) accuracies over the seeds (fractions) and the spread
    (max - min, in points) of the real-digit accuracy; ``runs``: {name: [(val, test, mnist[, letters]), ...]}.
    The MLPs are cached like the chapter's (:func:`helpers.mlp.train_mlp`).
    """
    import pandas as pd

    rows = STUDY_ROWS if rows is None else rows
    seeds = list(config.budget("redraw_seeds") if seeds is None else seeds)
    for name, keys in rows.items():
        unknown = set(keys) - set(V2_PARAMS)
        if unknown:
            raise ValueError(f"generator_study: row {name!r} names settings version 2 did not have: "
                             f"{', '.join(sorted(unknown))}; choose from {', '.join(V2_PARAMS)}")
    if letters is not None:
        X, y = np.asarray(letters[0], dtype=np.float32).reshape(-1, 1024), np.asarray(letters[1])
        if len(X) != len(y) or len(y) == 0 or y.min() < 0 or y.max() > 25:
            raise ValueError("generator_study: letters must be (X, labels) with X (N, 1024) or (N, 32, 32) and "
                             "labels 0-25 (A-Z), one per image")
        letters = (X, y)
    # each row draws its own sets and trains its own networks: the rows run on all cores
    done = parallel.pmap(_study_row, [(tuple(keys), seeds, letters) for keys in rows.values()])
    runs, table = {}, {}
    for (name, keys), row_runs in zip(rows.items(), done):
        runs[name] = row_runs
        r = np.array(row_runs)
        table[name] = {"settings put back": ", ".join(keys) or "none", "validation": r[:, 0].mean(),
                       "generated test": r[:, 1].mean(), "real MNIST digits": r[:, 2].mean(),
                       "spread (points)": 100 * np.ptp(r[:, 2])}
        if letters is not None:
            table[name]["real letters"] = r[:, 3].mean()
    return pd.DataFrame(table).T, runs
