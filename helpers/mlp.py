"""The chapter-3 network, trained once and cached, and the analyses chapter 3 makes of it.

The homework's character classifier 1024 -> 64 (sigmoid) -> 36 (softmax), built and trained with
the from-scratch core in :mod:`helpers.nn`, is trained once with mini-batch SGD and cached in
``config.data_dir()``, so the chapter-3 notebook, the OCR chapter and its command line and the
PyTorch chapter all share one training run. Also here: saving and loading networks, weight
snapshots during training, the learning-rate study, confusion matrices and weight mosaics.
"""
from __future__ import annotations

import time

import numpy as np

from . import config, nn

# ----------------------------------------------------------------------------------------------
# --- trained models: the chapter-3 network, cached ---
#
# The homework's character classifier 1024 -> 64 (sigmoid) -> 36 (softmax), trained once with
# mini-batch SGD and cached in config.data_dir(), so the chapter-3 notebook, the OCR chapter and
# its command line all share one training run. Also: saving/loading networks, weight snapshots
# during training, and the small analyses of chapter 3 (confusion matrix, weight mosaics).
# ----------------------------------------------------------------------------------------------
import hashlib
import json
import os
import sys
import warnings
from pathlib import Path


__all__ = [
    "ModelFileError", "save_params", "load_params", "CH3_SIZES", "CH3_ACTIVATIONS", "mlp_settings",
    "mlp_cache_path", "default_snapshot_epochs", "blas_threads", "train_with_snapshots", "train_mlp", "train_mlp_seeds",
    "chapter3_mlp", "lr_study", "confusion_matrix", "most_confused_pairs", "class_templates", "weight_mosaic",
]

CH3_SIZES = (1024, 64, 36)
CH3_ACTIVATIONS = ("sigmoid", "softmax")
CH3_VERSION = 1  # bump whenever the training procedure changes: it is part of every cache key
_HISTORY_KEYS = ("epoch", "lr", "train_loss", "train_acc", "valid_loss", "valid_acc", "seconds")


class ModelFileError(ValueError):
    """A saved-network file is missing, unreadable or does not hold a :func:`build_mlp` network."""


def _model_arrays(params: dict, where: str) -> dict[str, np.ndarray]:
    layers = nn._layers(params)
    arrays: dict[str, np.ndarray] = {}
    for name, act in layers:
        if not isinstance(act, str):
            raise ValueError(f"{where}: layer {name!r} has a function as activation; only named activations "
                             f"({sorted(nn.ACTIVATIONS)}) can be saved")
        for key in ("W" + name, "b" + name):
            if key not in params:
                raise ValueError(f"{where}: params has no {key!r} although 'layers' lists layer {name!r}")
            arrays[key] = np.asarray(params[key])
    arrays["layers"] = np.array(json.dumps([[n, a] for n, a in layers]))
    return arrays


def save_params(path: str | os.PathLike, params: dict, **extra: np.ndarray) -> Path:
    """Write a :func:`build_mlp` network to ``path`` (``.npz``) atomically; returns the path.

    Only the weights ``'W'+name`` ``(D, M)``, biases ``'b'+name`` ``(M,)`` and the ``'layers'``
    spec are stored (no caches, gradients or momentum). ``extra`` arrays are stored beside them
    (e.g. a training history); their names must not clash with the network's. Readers never
    see a half-written file (:func:`helpers.config.save_npz`).
    """
    from . import config

    arrays = _model_arrays(params, "save_params")
    clash = sorted(set(arrays) & set(extra))
    if clash:
        raise ValueError(f"save_params: extra arrays {clash} would overwrite the network's own; rename them")
    return config.save_npz(path, **arrays, **extra)


def load_params(path: str | os.PathLike) -> dict:
    """Read a network written by :func:`save_params`: ``{'layers': [...], 'W'+name, 'b'+name}``.

    Raises :class:`ModelFileError` (a ValueError) with what to do when the file is missing, is
    not a readable ``.npz``, or does not hold a consistent network (shapes must chain, biases
    match, activations known, values finite).
    """
    path = Path(path)
    redo = ("delete it and train again (helpers.mlp.chapter3_mlp(retrain=True) rewrites the chapter-3 "
            "network)")
    if not path.exists():
        raise ModelFileError(f"load_params: {path} not found; train and save a network first "
                             "(helpers.mlp.chapter3_mlp() trains the chapter-3 network and caches it) or fix the path")
    try:
        with np.load(path, allow_pickle=False) as z:
            layers = [(str(n), str(a)) for n, a in json.loads(str(z["layers"]))]
            params: dict = {"layers": layers}
            for name, _ in layers:
                params["W" + name] = z["W" + name]
                params["b" + name] = z["b" + name]
    except Exception as exc:
        raise ModelFileError(f"load_params: {path} is not a saved network ({type(exc).__name__}: {exc}); "
                             f"{redo}") from None
    d_prev = None
    for name, act in layers:
        W, b = params["W" + name], params["b" + name]
        problem = None
        if act not in nn.ACTIVATIONS:
            problem = f"unknown activation {act!r}"
        elif W.ndim != 2 or b.shape != (W.shape[1],):
            problem = f"W{name} {W.shape} and b{name} {b.shape} do not form a dense layer"
        elif d_prev is not None and W.shape[0] != d_prev:
            problem = f"W{name} takes {W.shape[0]} inputs but the previous layer gives {d_prev}"
        elif not (np.isfinite(W).all() and np.isfinite(b).all()):
            problem = f"layer {name!r} holds NaN/inf"
        if problem:
            raise ModelFileError(f"load_params: {path}: {problem}; {redo}")
        d_prev = W.shape[1]
    if not layers:
        raise ModelFileError(f"load_params: {path} holds no layers; {redo}")
    return params


def mlp_settings(lr: float | None = None, epochs: int | None = None, batch_size: int | None = None,
                 seed: int = 0) -> dict:
    """The chapter-3 training settings (defaults: budgets ``mlp_lr``, ``mlp_epochs``, ``mlp_batch_size``).

    The learning rate multiplies the gradient of the loss *summed* over the batch (homework
    convention, :func:`compute_loss_and_acc`), so the step per example is ``lr``.
    """
    from . import config

    return {"version": CH3_VERSION, "sizes": list(CH3_SIZES), "activations": list(CH3_ACTIVATIONS),
            "init": "xavier-uniform", "dtype": "float32", "optimizer": "sgd", "seed": int(seed),
            "lr": float(config.budget("mlp_lr") if lr is None else lr),
            "epochs": int(config.budget("mlp_epochs") if epochs is None else epochs),
            "batch_size": int(config.budget("mlp_batch_size") if batch_size is None else batch_size)}


def _fingerprint(*sets) -> str:
    h = hashlib.blake2b(digest_size=8)
    for s in sets:
        h.update(np.ascontiguousarray(s.images).tobytes())
        h.update(np.ascontiguousarray(s.labels).tobytes())
    return h.hexdigest()


def mlp_cache_path(settings: dict, train, valid) -> Path:
    """``data_dir()/mlp_ch3_<hash>.npz``; the hash covers the settings, the data sources, sizes
    and a fingerprint of the images and labels (different data or budgets, different file)."""
    from . import config

    key = {"settings": settings, "train": [train.source, len(train)], "valid": [valid.source, len(valid)],
           "data": _fingerprint(train, valid)}
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return config.cache_dir() / f"mlp_ch3_{digest}.npz"


def default_snapshot_epochs(epochs: int) -> list[int]:
    """Epochs after which the first-layer weights are kept: 0 (initialization), 1, 2, 3, 5, then
    about ten evenly spaced epochs up to the last."""
    step = max(1, round(epochs / 10))
    return sorted({e for e in [0, 1, 2, 3, 5, *range(step, epochs + 1, step), epochs] if 0 <= e <= epochs})


class _Progress:
    """A tqdm bar on a terminal; elsewhere (notebooks, the built book) one compact line every few epochs."""

    def __init__(self, epochs: int, enabled: bool, label: str):
        self.epochs, self.enabled, self.label, self.bar = epochs, enabled, label, None
        self.every = max(1, round(epochs / 5))
        if enabled and getattr(sys.stdout, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, desc=label, unit="epoch", file=sys.stdout, leave=True)

    def update(self, epoch: int, history: dict) -> None:
        if not self.enabled:
            return
        msg = (f"train loss {history['train_loss'][-1]:.3f} acc {history['train_acc'][-1]:.1%}, "
               f"valid loss {history['valid_loss'][-1]:.3f} acc {history['valid_acc'][-1]:.1%}")
        if self.bar is not None:
            self.bar.set_postfix_str(msg, refresh=False)
            self.bar.update(1)
            if epoch == self.epochs:
                self.bar.close()
        elif epoch % self.every == 0 or epoch == self.epochs:
            print(f"{self.label} epoch {epoch:3d}/{self.epochs}: {msg} ({history['seconds'][-1]:.1f} s)", flush=True)


blas_threads = config.blas_threads  # re-exported for the notebooks: one policy, in helpers.config


def train_with_snapshots(X: np.ndarray, Y: np.ndarray, params: dict, X_valid: np.ndarray, Y_valid: np.ndarray, *,
                         epochs: int, lr: float, batch_size: int = 32, rng: np.random.Generator | None = None,
                         snapshot_epochs: list[int] | None = None, layer: str | None = None,
                         progress: bool = True, label: str = "mlp") -> tuple[dict, dict]:
    """:func:`fit` with cross-entropy and plain SGD, keeping copies of one layer's weights.

    X: (N, D), Y: (N, C) one-hot; X_valid, Y_valid likewise. ``layer``: whose ``W`` is kept
    (default: the first layer) after each epoch in ``snapshot_epochs`` (default
    :func:`default_snapshot_epochs`; 0 = before training). Returns ``(history, snapshots)``:
    the history of :func:`fit` and ``{'epochs': (S,) int, 'W': (S, D, M) copies}``.
    ``progress`` shows a bar (terminal) or a line every few epochs (notebook). BLAS runs on
    one thread meanwhile (faster for these small products, and robust on shared cores).
    """
    layer = nn._layers(params)[0][0] if layer is None else layer
    wanted = set(default_snapshot_epochs(epochs) if snapshot_epochs is None else snapshot_epochs)
    kept_epochs, kept_W = [], []

    def keep(epoch: int) -> None:
        if epoch in wanted:
            kept_epochs.append(epoch)
            kept_W.append(params["W" + layer].copy())

    bar = _Progress(int(epochs), progress, label)

    def on_epoch(epoch: int, history: dict) -> None:
        keep(epoch)
        bar.update(epoch, history)

    keep(0)
    with blas_threads(1):
        history = nn.fit(X, Y, params, X_valid, Y_valid, epochs=epochs, lr=lr, batch_size=batch_size, rng=rng,
                      loss="cross_entropy", on_epoch=on_epoch)
    W = params["W" + layer]
    snaps = {"epochs": np.array(kept_epochs, dtype=np.int64),
             "W": np.stack(kept_W) if kept_W else np.zeros((0, *W.shape), W.dtype)}
    return history, snaps


def _load_cached(path: Path) -> tuple[dict, dict]:
    params = load_params(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            history = {k: z["history_" + k].tolist() for k in _HISTORY_KEYS}
            snaps = {"epochs": z["snap_epochs"], "W": z["snap_W"]}
    except Exception as exc:
        raise ModelFileError(f"{path} holds a network but no readable training record ({type(exc).__name__}: "
                             f"{exc}); delete it to train again") from None
    return params, dict(meta, history=history, snapshots=snaps, path=str(path), cached=True)


def train_mlp(*, lr: float | None = None, epochs: int | None = None, batch_size: int | None = None,
              seed: int = 0, train=None, valid=None, progress: bool = True,
              retrain: bool = False) -> tuple[dict, dict]:
    """Train (or load from the cache) the chapter-3 network 1024 -> 64 (sigmoid) -> 36 (softmax).

    lr, epochs, batch_size: default to the budgets ``mlp_lr``, ``mlp_epochs``, ``mlp_batch_size``.
    train, valid: :class:`helpers.data.CharacterSet` (default ``load_book_data('train'/'valid')``).
    seed: initialization and batch order. retrain: train even if the cache file exists.

    Returns ``(params, info)``. params: float32 weights ``Wlayer1`` (1024, 64), ``blayer1``,
    ``Woutput`` (64, 36), ``boutput``. info: ``history`` (per epoch, see :func:`fit`),
    ``snapshots`` (first-layer weights at some epochs, see :func:`train_with_snapshots`),
    ``source``/``valid_source`` (which data), ``n_train``/``n_valid``, ``seconds`` (wall time of
    the training run), ``settings``, ``path`` (cache file) and ``cached`` (True when loaded).
    A damaged cache file is reported with a warning and trained again.
    """
    from .data import load_book_data

    train = load_book_data("train") if train is None else train
    valid = load_book_data("valid") if valid is None else valid
    settings = mlp_settings(lr, epochs, batch_size, seed)
    path = mlp_cache_path(settings, train, valid)
    with config.cache_lock(path):  # another process making it: wait, then load it
        if path.exists() and not retrain:
            try:
                return _load_cached(path)
            except ModelFileError as exc:
                warnings.warn(f"train_mlp: ignoring the damaged cache file and training again: {exc}", stacklevel=2)
        rng = np.random.default_rng(config.seeded(settings["seed"]))
        params = nn.build_mlp(list(CH3_SIZES), list(CH3_ACTIVATIONS), rng=rng, dtype=np.float32)
        if progress:
            print(f"training {'-'.join(map(str, CH3_SIZES))} (lr {settings['lr']:g}, batch {settings['batch_size']}, "
                  f"{settings['epochs']} epochs) on {len(train)} images: {train.source}", flush=True)
        t0 = time.perf_counter()
        history, snaps = train_with_snapshots(train.X, train.Y, params, valid.X, valid.Y, epochs=settings["epochs"],
                                              lr=settings["lr"], batch_size=settings["batch_size"], rng=rng,
                                              progress=progress, label=f"lr {settings['lr']:g}")
        meta = {"source": train.source, "valid_source": valid.source, "n_train": len(train), "n_valid": len(valid),
                "seconds": time.perf_counter() - t0, "settings": settings}
        clean = {"layers": params["layers"]}
        clean.update({k: params[k] for name, _ in params["layers"] for k in ("W" + name, "b" + name)})
        save_params(path, clean, meta=np.array(json.dumps(meta)), snap_epochs=snaps["epochs"], snap_W=snaps["W"],
                    **{"history_" + k: np.asarray(history[k], dtype=np.float64) for k in _HISTORY_KEYS})
        return clean, dict(meta, history=history, snapshots=snaps, path=str(path), cached=False)


def _train_mlp_seed(seed: int) -> tuple[dict, dict]:
    return train_mlp(seed=seed, progress=False)


def train_mlp_seeds(seeds: list[int]) -> list[tuple[dict, dict]]:
    """:func:`train_mlp` with the budgets for each training seed, ``[(params, info), ...]``; the
    ones not cached yet train side by side on all cores (:func:`helpers.parallel.pmap`), with the
    numbers of one after another."""
    from . import parallel

    return parallel.pmap(_train_mlp_seed, [int(s) for s in seeds])


def chapter3_mlp(*, progress: bool = True, retrain: bool = False) -> tuple[dict, dict]:
    """THE chapter-3 network, trained once and cached: :func:`train_mlp` with the budgets.

    The chapter-3 notebook, the OCR chapter and ``python -m helpers ocr`` call this, so the
    same training never runs twice. Returns ``(params, info)``; ``info['source']`` says which
    data it was trained on. Classify with ``nn.predict(X, params).argmax(1)``.
    """
    return train_mlp(progress=progress, retrain=retrain)


def lr_study(factors: list[float] | None = None, *, progress: bool = True,
             retrain: bool = False) -> dict[float, tuple[dict, dict]]:
    """The chapter-3 network trained at ``factor * budget('mlp_lr')`` for each factor (default
    budget ``mlp_lr_factors``, e.g. 0.1, 1, 10); each run cached like :func:`train_mlp` (factor
    1 is :func:`chapter3_mlp` itself). Returns ``{factor: (params, info)}``."""
    from . import config

    factors = config.budget("mlp_lr_factors") if factors is None else factors
    base = float(config.budget("mlp_lr"))
    return {f: train_mlp(lr=base if f == 1 else base * f, progress=progress, retrain=retrain) for f in factors}


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int = 36) -> np.ndarray:
    """``C[i, j]`` = how many examples of true class i were predicted as j: (n_classes, n_classes) int64."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.shape != predicted.shape or labels.ndim != 1:
        raise ValueError(f"confusion_matrix: labels {labels.shape} and predictions {predicted.shape} must be "
                         "equal-length 1-D arrays of class indices (use .argmax(1) on one-hot rows)")
    return np.bincount(labels * n_classes + predicted, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def most_confused_pairs(C: np.ndarray, k: int = 8) -> list[tuple[int, int, int, int]]:
    """The ``k`` unordered class pairs {i, j} mixed up most often, from a confusion matrix C.

    Returns ``[(i, j, C[i, j], C[j, i]), ...]`` sorted by ``C[i, j] + C[j, i]`` (ties: by i, j),
    with ``C[i, j] >= C[j, i]`` (i is the class more often mistaken for j); pairs with no
    confusion are left out.
    """
    C = np.asarray(C)
    S = np.triu(C + C.T, 1)
    order = np.argsort(-S, axis=None, kind="stable")[:k]
    pairs = []
    for flat in order:
        i, j = divmod(int(flat), len(C))
        if S[i, j] == 0:
            break
        if C[j, i] > C[i, j]:
            i, j = j, i
        pairs.append((i, j, int(C[i, j]), int(C[j, i])))
    return pairs


def class_templates(params: dict) -> np.ndarray:
    """The second-layer view: each class's one-hot pushed back through the (linear part of the)
    layers, ``W1 @ W2[:, c]``: (C, D) float, one input-space template per class (reshape to
    32x32). Pixels where a class's template is high raise that class's logit."""
    layers = nn._layers(params)
    M = np.eye(params["W" + layers[-1][0]].shape[1], dtype=np.float64)
    for name, _ in reversed(layers):
        M = M @ params["W" + name].T.astype(np.float64)
    return M


def weight_mosaic(W: np.ndarray, cols: int = 8, side: int = 32, pad: int = 1, normalize: str = "each") -> np.ndarray:
    """Tile the columns of W (D = side*side, M) as side x side images in a grid, for ``imshow``.

    normalize: ``'each'`` scales every tile to [-1, 1] by its own largest |weight|; ``'all'``
    uses one scale for all tiles. Gaps are nan (shown as background). Returns
    (rows*(side+pad)-pad, cols*(side+pad)-pad) float.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != side * side:
        raise ValueError(f"weight_mosaic: W has shape {W.shape}; expected ({side * side}, M), one column per unit")
    tiles = W.T.reshape(-1, side, side)
    scale = np.abs(tiles).max(axis=(1, 2), keepdims=True) if normalize == "each" else np.abs(tiles).max()
    tiles = tiles / np.maximum(scale, 1e-12)
    rows = -(-len(tiles) // cols)
    out = np.full((rows * (side + pad) - pad, cols * (side + pad) - pad), np.nan)
    for t, tile in enumerate(tiles):
        r, c = divmod(t, cols)
        out[r * (side + pad):r * (side + pad) + side, c * (side + pad):c * (side + pad) + side] = tile
    return out
