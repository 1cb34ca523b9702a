"""The homework's autoencoder in numpy, built on :mod:`helpers.nn`, and how it is trained.

The network 1024-32-32-32-1024 (ReLU, ReLU, ReLU, sigmoid) rebuilds its input: the loss is the
summed squared error ``sum (out - X)**2`` over a batch (not divided by N), and every update is the
homework's momentum step ``M = 0.9 M - lr grad; W += M`` (:func:`helpers.nn.momentum_step`).

Reading order: :func:`build_autoencoder`; the pieces chapter 5 shows, :func:`autoencoder_forward`,
:func:`autoencoder_backward` and :func:`train_autoencoder_epoch`; :func:`autoencoder_loss` with
:func:`sampled_gradient_check` (the numeric check of the backward pass); :func:`reconstruct`;
and :func:`train_autoencoder`, the epoch loop with the learning-rate schedule, validation PSNR
and snapshots around :func:`train_autoencoder_epoch`. Caching lives in :mod:`.cache`.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from .. import config, nn
from .metrics import psnr

AE_SIZES = (1024, 32, 32, 32, 1024)                      # the homework's autoencoder
AE_ACTIVATIONS = ("relu", "relu", "relu", "sigmoid")
AE_LAYER_NAMES = ("layer1", "hidden", "hidden2", "output")  # the homework's parameter names


def build_autoencoder(sizes: Sequence[int] = AE_SIZES, activations: Sequence[str] = AE_ACTIVATIONS,
                      rng: np.random.Generator | int | None = None, dtype: Any = np.float32,
                      names: Sequence[str] | None = None) -> dict:
    """A dense autoencoder as a :func:`helpers.nn.build_mlp` params dict (Xavier weights, zero biases).

    Default: the homework's 1024 -> 32 -> 32 -> 32 -> 1024 with ReLU, ReLU, ReLU, sigmoid and
    the homework's layer names 'layer1', 'hidden', 'hidden2', 'output' (for four layers; other
    depths get 'layer1', ..., 'output'). ``sizes[0]`` must equal ``sizes[-1]`` (it rebuilds its
    input). ``rng``: a Generator or a seed.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 3 or sizes[0] != sizes[-1]:
        raise ValueError(f"build_autoencoder: sizes {sizes} must start and end with the input length and have at "
                         "least one hidden layer, e.g. (1024, 32, 32, 32, 1024)")
    if len(activations) != len(sizes) - 1:
        raise ValueError(f"build_autoencoder: {len(sizes) - 1} layers need {len(sizes) - 1} activations, "
                         f"got {len(activations)}")
    if names is None and len(sizes) == len(AE_SIZES):
        names = AE_LAYER_NAMES
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return nn.build_mlp(sizes, list(activations), rng, dtype=dtype, names=list(names) if names else None)


def _ae_layers(params: dict) -> list[tuple[str, str]]:
    if "layers" not in params:
        raise ValueError("this params dict has no 'layers' list; make the autoencoder with build_autoencoder()")
    return params["layers"]


def _check_ae_input(X: Any, params: dict, where: str) -> np.ndarray:
    layers = _ae_layers(params)
    W0 = params["W" + layers[0][0]]
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != W0.shape[0]:
        raise ValueError(f"{where}: X has shape {X.shape}; this autoencoder takes (N, {W0.shape[0]}) rows "
                         "(CharacterSet.X)")
    return X


# ----------------------------------------------------------------------------------------------
# Forward, backward, one epoch: the code chapter 5 shows
# ----------------------------------------------------------------------------------------------
def autoencoder_forward(X, params):
    """X: (N, D) rows in [0, 1] -> out: (N, D) reconstructions in (0, 1).

    params['layers'] lists (name, activation) in order: layer1 relu, hidden relu, hidden2 relu, output sigmoid.
    nn.ACTIVATIONS[activation] is (the function, its derivative); each nn.forward call keeps
    params['cache_' + name] for autoencoder_backward.
    """
    h = X
    for name, activation in params["layers"]:
        h = nn.forward(h, params, name, nn.ACTIVATIONS[activation][0])
    return h


def autoencoder_backward(dout, params):
    """dout = dJ/d(out): (N, D). Fills params['grad_W' + name] (like W) and params['grad_b' + name]
    (like b) of every layer, from the last to the first, with the caches of autoencoder_forward."""
    for name, activation in reversed(params["layers"]):
        dout = nn.backwards(dout, params, name, nn.ACTIVATIONS[activation][1])


def train_autoencoder_epoch(X, params, lr, batch_size=36, momentum=0.9, rng=None):
    """One pass over X: (N, D) in random mini-batches, one momentum step per batch (the homework's loop).

    X is both input and target. Returns the epoch's summed squared error per image (sum over batches / N).
    """
    total_loss = 0.0
    for xb, _ in nn.get_random_batches(X, X, batch_size, rng):
        out = autoencoder_forward(xb, params)
        loss, dout = nn.squared_error(xb, out)   # sum (out - xb)**2 and 2 (out - xb)
        autoencoder_backward(dout, params)
        nn.momentum_step(params, lr, momentum)   # M = momentum * M - lr * grad; W += M
        total_loss += loss
    return total_loss / len(X)


# ----------------------------------------------------------------------------------------------
# The loss and its gradient check
# ----------------------------------------------------------------------------------------------
def autoencoder_loss(X: Any, params: dict) -> float:
    """Forward and backward pass on a batch: returns the summed squared error ``sum (out - X)**2``
    and leaves ``params['grad_' + key]`` for every weight and bias (the homework's loss, not
    divided by N). X: (N, D) in the network's dtype (converted if not)."""
    X = _check_ae_input(X, params, "autoencoder_loss")
    out = nn.mlp_forward(X, params)
    loss, delta = nn.squared_error(X.astype(out.dtype, copy=False), out)
    nn.mlp_backwards(delta, params)
    return loss


def sampled_gradient_check(loss_fn: Callable[[], float], params: dict, n_per_array: int | None = 200,
                           rng: np.random.Generator | int | None = 0, eps: float = 1e-6) -> dict[str, float]:
    """:func:`helpers.nn.gradient_check` on a random sample of entries of every parameter array.

    Checking all 68,704 parameters of the autoencoder takes 137,408 forward passes; ``n_per_array``
    random entries of each array (all entries when the array is smaller, or ``None`` for all)
    check every layer's formula for a fraction of the cost. ``loss_fn()`` runs forward and
    backward and returns the loss (e.g. ``lambda: autoencoder_loss(X, params)``); parameters must
    be float64. Returns ``{key: relative error}`` over the sampled entries
    (:func:`helpers.nn.relative_error`). Afterwards caches and gradients are the unperturbed ones.
    """
    loss_fn()
    keys = [k for k in params if not k.startswith(("grad_", "m_", "cache_")) and ("grad_" + k) in params]
    if any(params[k].dtype != np.float64 for k in keys):
        raise ValueError("sampled_gradient_check: parameters must be float64 (float32 central differences are too "
                         "noisy); build the network with dtype=np.float64")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    errors = {}
    with config.blas_threads(1):
        for k in keys:
            errors[k] = _check_entries(loss_fn, params, k, n_per_array, rng, eps)
    loss_fn()
    return errors


def _check_entries(loss_fn: Callable[[], float], params: dict, k: str, n_per_array: int | None,
                   rng: np.random.Generator, eps: float) -> float:
    """Relative error of the analytic gradient of ``params[k]`` on a sample of its entries."""
    p, grad = params[k], np.array(params["grad_" + k], dtype=np.float64)
    flat_idx = (np.arange(p.size) if n_per_array is None or p.size <= n_per_array
                else rng.choice(p.size, int(n_per_array), replace=False))
    numeric = nn.numerical_gradient_at(loss_fn, p, eps, entries=flat_idx)
    return nn.relative_error(grad.reshape(-1)[flat_idx], numeric)


# ----------------------------------------------------------------------------------------------
# Using and training the network
# ----------------------------------------------------------------------------------------------
def reconstruct(params: dict, X: Any) -> np.ndarray:
    """The autoencoder's output for X: (N, D) -> (N, D), values in (0, 1) (sigmoid output)."""
    X = _check_ae_input(X, params, "reconstruct")
    return nn.predict(X, params)


def _validate(params: dict, X_valid: np.ndarray) -> tuple[float, float]:
    """(summed squared error per image, mean PSNR in dB) of the network on X_valid, in one pass."""
    mse = np.mean((reconstruct(params, X_valid).astype(np.float64) - X_valid) ** 2, axis=1)
    with np.errstate(divide="ignore"):
        return float(mse.mean() * X_valid.shape[1]), float(np.mean(-10.0 * np.log10(mse)))


def train_autoencoder(params: dict, X: Any, X_valid: Any = None, *, epochs: int, lr: float, batch_size: int = 36,
                      momentum: float = 0.9, decay: float = 0.9, decay_every: int = 20,
                      rng: np.random.Generator | int | None = 0, snapshot_epochs: Sequence[int] = (),
                      X_snapshot: Any = None, threads: int | None = 1) -> dict:
    """Train an autoencoder to rebuild its input, the homework's way (in place).

    Every epoch is :func:`train_autoencoder_epoch` (mini-batches of ``batch_size`` rows in a fresh
    random order, summed squared error, momentum update with accumulators starting at zero) with
    learning rate ``lr * decay ** (e // decay_every)`` at epoch e (from 0; x0.9 every 20 epochs).
    X: (N, D) training rows; X_valid: (M, D) or None. ``X_snapshot`` (S, D): rows whose
    reconstructions are kept at the epochs in ``snapshot_epochs`` (0 = before training).
    ``threads``: BLAS threads while training (:func:`helpers.config.blas_threads`; default 1,
    much faster on a busy machine for these small products).

    Returns the history, lists per epoch: ``epoch`` (1, 2, ...), ``lr``, ``train_loss`` and
    ``valid_loss`` (summed squared error per image; nan without X_valid), ``seconds``
    (cumulative training time), ``valid_psnr`` (mean dB; empty without X_valid); plus
    ``valid_psnr0`` (before training) and ``snapshots``: {epoch: (S, D) float32 reconstructions}.
    """
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"train_autoencoder: epochs must be a non-negative integer, got {epochs!r}")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"train_autoencoder: lr must be a positive number, got {lr!r}")
    X = _check_ae_input(X, params, "train_autoencoder")
    if X_valid is not None:
        X_valid = _check_ae_input(X_valid, params, "train_autoencoder (X_valid)")
    snaps = sorted({int(e) for e in snapshot_epochs})
    if snaps and (X_snapshot is None or snaps[0] < 0 or snaps[-1] > epochs):
        raise ValueError(f"train_autoencoder: snapshot_epochs {snaps} need X_snapshot rows and must lie in "
                         f"[0, {epochs}]")
    if X_snapshot is not None:
        X_snapshot = _check_ae_input(X_snapshot, params, "train_autoencoder (X_snapshot)")
    X = np.asarray(X, dtype=params["W" + params["layers"][0][0]].dtype)  # converted once, not per batch
    if not np.isfinite(X).all():
        raise ValueError("train_autoencoder: X has NaN/inf entries; clean it first (np.nan_to_num)")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    history: dict[str, list] = {k: [] for k in ("epoch", "lr", "train_loss", "valid_loss", "seconds")}
    valid_psnr: list[float] = []
    snapshots: dict[int, np.ndarray] = {}
    if 0 in snaps:
        snapshots[0] = reconstruct(params, X_snapshot).astype(np.float32)
    psnr0 = psnr(X_valid, reconstruct(params, X_valid)) if X_valid is not None else float("nan")
    elapsed = 0.0
    with config.blas_threads(threads):
        for e in range(int(epochs)):
            lr_e = nn.lr_decay(lr, e, decay, decay_every)
            t0 = time.perf_counter()
            train_loss = train_autoencoder_epoch(X, params, lr_e, batch_size, momentum, rng)
            elapsed += time.perf_counter() - t0
            valid_loss = float("nan")
            if X_valid is not None:
                valid_loss, valid_db = _validate(params, X_valid)
                valid_psnr.append(valid_db)
            for k, v in zip(history, (e + 1, lr_e, train_loss, valid_loss, elapsed)):
                history[k].append(v)
            if e + 1 in snaps:
                snapshots[e + 1] = reconstruct(params, X_snapshot).astype(np.float32)
    history.update(valid_psnr=valid_psnr, valid_psnr0=psnr0, snapshots=snapshots)
    return history
