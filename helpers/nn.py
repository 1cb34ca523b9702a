"""The from-scratch numpy network of the book, in the homework's vocabulary.

Batch-first everywhere: a batch ``X`` has shape ``(N, D)`` (one example per row) and a dense
layer computes ``pre = X @ W + b`` with ``W: (D, M)``, ``b: (M,)``, then ``post = f(pre)``.
Everything works in float64 (gradient checks) and float32 (training); a layer computes in the
dtype of its ``W``.

The network state is one dict, ``params`` (homework convention), for a layer called ``name``:

=====================  ===============================================================
``'W' + name``         weights ``(D, M)``              (:func:`initialize_weights`)
``'b' + name``         biases ``(M,)``
``'cache_' + name``    ``(X, pre, post)`` saved by :func:`forward` for :func:`backwards`
``'grad_W' + name``    dL/dW ``(D, M)``, written by :func:`backwards`
``'grad_b' + name``    dL/db ``(M,)``
``'m_W' + name`` ...   momentum accumulators (:func:`momentum_step`), start at zero
``'layers'``           ``[(name, activation), ...]`` for networks made by :func:`build_mlp`
=====================  ===============================================================

Reading order: activations, initialize_weights, forward, backwards, losses, batches and
updates, gradient checking, then the small MLP trainer (build_mlp, predict, train_epoch, fit).
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
from scipy.special import expit as _expit

__all__ = [
    "sigmoid", "sigmoid_deriv", "tanh", "tanh_deriv", "relu", "relu_deriv", "linear", "linear_deriv",
    "softmax", "ACTIVATIONS", "initialize_weights", "forward", "backwards",
    "compute_loss_and_acc", "squared_error", "get_random_batches", "sgd_step", "momentum_step",
    "lr_decay", "numerical_gradient", "gradient_check", "build_mlp", "mlp_forward", "mlp_backwards",
    "predict", "train_epoch", "fit", "relative_error", "toy_problem",
]


# ----------------------------------------------------------------------------------------------
# Activations.  Each derivative takes the *post-activation* f(pre), as in the homework:
# sigmoid' = s (1 - s), tanh' = 1 - t^2, relu' = [r > 0], linear' = 1.
# ----------------------------------------------------------------------------------------------
def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), elementwise, values in (0, 1); never overflows (scipy's ``expit``)."""
    return _expit(x)


def sigmoid_deriv(post: np.ndarray) -> np.ndarray:
    """d sigmoid/dx written with the output ``post = sigmoid(x)``: ``post * (1 - post)`` (at most 1/4)."""
    return post * (1.0 - post)


def tanh(x: np.ndarray) -> np.ndarray:
    """tanh(x) = 2 sigmoid(2x) - 1, elementwise, values in (-1, 1)."""
    return np.tanh(x)


def tanh_deriv(post: np.ndarray) -> np.ndarray:
    """d tanh/dx written with the output ``post = tanh(x)``: ``1 - post**2`` (at most 1)."""
    return 1.0 - post * post


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0), elementwise."""
    return np.maximum(x, 0)


def relu_deriv(post: np.ndarray) -> np.ndarray:
    """d relu/dx from the output ``post = relu(x)``: 1 where ``post > 0``, else 0 (0 at x = 0)."""
    return (post > 0).astype(post.dtype)


def linear(x: np.ndarray) -> np.ndarray:
    """The identity (no non-linearity)."""
    return x


def linear_deriv(post: np.ndarray) -> np.ndarray:
    """Derivative of the identity: ones shaped like ``post``.

    Also the 'derivative' to pass to :func:`backwards` for a softmax output layer trained with
    cross-entropy, because there the delta handed in (``probs - y``) is already dL/d(pre).
    """
    return np.ones_like(post)


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits ``x: (N, C)``; rows of the result are in (0, 1] and sum to 1.

    Stable: subtracting the row maximum first leaves the result unchanged (softmax(x + c) =
    softmax(x)) and keeps every exponent <= 0, so nothing overflows. Entries far below their
    row maximum (by more than ~745 in float64, ~104 in float32) underflow to exactly 0.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"softmax expects logits of shape (N, C), got shape {x.shape}; use x.reshape(1, -1) "
                         "for a single example")
    e = np.exp(x - x.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


# name -> (activation, derivative of it written with its output)
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (sigmoid, sigmoid_deriv),
    "tanh": (tanh, tanh_deriv),
    "relu": (relu, relu_deriv),
    "linear": (linear, linear_deriv),
    "softmax": (softmax, linear_deriv),  # with cross-entropy; see linear_deriv
}


def _activation(f: str | Callable, deriv: bool = False) -> Callable:
    if callable(f):
        return f
    try:
        return ACTIVATIONS[f][1 if deriv else 0]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {f!r}; use one of {sorted(ACTIVATIONS)} or pass a function") from None


def _check_finite(where: str, **arrays: np.ndarray) -> None:
    for label, a in arrays.items():
        if not np.isfinite(a).all():
            bad = int(np.size(a) - np.isfinite(a).sum())
            raise ValueError(f"{where}: {label} has {bad} NaN/inf entries; clean the input (np.nan_to_num) or, "
                             "if they appeared during training, lower the learning rate")


# ----------------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------------
def initialize_weights(in_size: int, out_size: int, params: dict, name: str = "",
                       rng: np.random.Generator | None = None, dtype: Any = np.float64,
                       scale: float = 1.0) -> dict:
    """Xavier/Glorot uniform weights and zero biases for a dense layer ``in_size -> out_size``.

    ``W`` is drawn from U(-a, a) with a = scale * sqrt(6 / (in_size + out_size)), so that
    Var(W) = scale**2 * 2 / (in_size + out_size); ``b`` is zeros. Stores ``params['W'+name]``
    ``(in_size, out_size)`` and ``params['b'+name]`` ``(out_size,)`` and returns ``params``.
    ``rng`` is a ``np.random.Generator`` (default: a fresh unseeded one).
    """
    if int(in_size) != in_size or int(out_size) != out_size or in_size < 1 or out_size < 1:
        raise ValueError(f"initialize_weights: layer sizes must be positive integers, got {in_size} -> {out_size}")
    rng = np.random.default_rng() if rng is None else rng
    a = scale * np.sqrt(6.0 / (in_size + out_size))
    params["W" + name] = rng.uniform(-a, a, size=(int(in_size), int(out_size))).astype(dtype)
    params["b" + name] = np.zeros(int(out_size), dtype=dtype)
    return params


def forward(X: np.ndarray, params: dict, name: str = "", activation: str | Callable = sigmoid,
            check: bool = True) -> np.ndarray:
    """One dense layer: ``post = activation(X @ W + b)``.

    X: (N, D); W = params['W'+name]: (D, M); b: (M,). Returns post: (N, M) in W's dtype and
    saves ``params['cache_'+name] = (X, pre, post)`` for :func:`backwards`. ``check=False``
    skips the shape/NaN checks (the trainer checks its data once, not every batch).
    """
    W, b = params["W" + name], params["b" + name]
    if X.dtype != W.dtype:
        X = X.astype(W.dtype)
    if check:
        if X.ndim != 2 or X.shape[1] != W.shape[0]:
            raise ValueError(f"forward({name!r}): X has shape {X.shape} but W{name} is {W.shape}; X must be "
                             f"(N, {W.shape[0]}), one example per row (reshape a single example with x[None, :])")
        _check_finite(f"forward({name!r})", X=X)
    pre = X @ W
    pre += b
    post = _activation(activation)(pre)
    params["cache_" + name] = (X, pre, post)
    return post


def backwards(delta: np.ndarray, params: dict, name: str = "", activation_deriv: str | Callable = sigmoid_deriv,
              need_dx: bool = True) -> np.ndarray | None:
    """Back through the layer ``name`` given ``delta = dL/d(post)``: (N, M).

    With delta_pre = delta * activation_deriv(post) (the derivative takes the post-activation,
    see the activations above) stores ``params['grad_W'+name] = X.T @ delta_pre`` (D, M) and
    ``params['grad_b'+name] = delta_pre.sum(0)`` (M,), and returns dL/dX = delta_pre @ W.T
    (N, D), or None when ``need_dx=False`` (first layer: nobody needs it).
    """
    try:
        X, pre, post = params["cache_" + name]
    except KeyError:
        raise ValueError(f"backwards({name!r}): no cache; call forward(X, params, {name!r}, ...) first") from None
    if delta.shape != post.shape:
        raise ValueError(f"backwards({name!r}): delta has shape {delta.shape} but the layer output is {post.shape}; "
                         "pass dL/d(output of this layer)")
    delta_pre = delta * _activation(activation_deriv, deriv=True)(post)
    params["grad_W" + name] = X.T @ delta_pre
    params["grad_b" + name] = delta_pre.sum(axis=0)
    return delta_pre @ params["W" + name].T if need_dx else None


# ----------------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------------
def _check_pair(where: str, y: np.ndarray, p: np.ndarray) -> None:
    if y.shape != p.shape or p.ndim != 2:
        raise ValueError(f"{where}: targets have shape {np.shape(y)} and outputs {np.shape(p)}; both must be the "
                         "same (N, C) shape (one-hot targets for classification)")
    _check_finite(where, targets=y, outputs=p)


def compute_loss_and_acc(y: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """Cross-entropy summed over the batch, and accuracy.

    y: (N, C) one-hot; probs: (N, C) softmax outputs. loss = -sum_n log probs[n, true class]
    (a sum, as in the homework; divide by N for the mean), acc = fraction with argmax right.
    The gradient of this loss with respect to the logits is ``probs - y``.
    """
    _check_pair("compute_loss_and_acc", y, probs)
    tiny = np.finfo(probs.dtype).tiny if probs.dtype.kind == "f" else 1e-300
    loss = -float(np.sum(y * np.log(np.maximum(probs, tiny))))
    acc = float(np.mean(probs.argmax(axis=1) == y.argmax(axis=1)))
    return loss, acc


def squared_error(y: np.ndarray, out: np.ndarray) -> tuple[float, np.ndarray]:
    """Total squared error ``sum (out - y)**2`` over the batch and its gradient ``2 (out - y)``.

    y, out: (N, K) of one dtype. Returns (loss, dL/d(out) with out's shape).
    """
    _check_pair("squared_error", y, out)
    diff = out - y
    return float(np.sum(diff * diff)), 2 * diff


# ----------------------------------------------------------------------------------------------
# Batches and updates
# ----------------------------------------------------------------------------------------------
def get_random_batches(X: np.ndarray, y: np.ndarray, batch_size: int,
                       rng: np.random.Generator | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffle once and cut into batches: a list of (X[idx], y[idx]) with ``batch_size`` rows
    each (the last one may be smaller). X: (N, D), y: (N, C) or (N,)."""
    if len(X) != len(y):
        raise ValueError(f"get_random_batches: X has {len(X)} rows but y has {len(y)}; they must pair up")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"get_random_batches: batch_size must be a positive integer, got {batch_size!r}")
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(X))
    return [(X[idx], y[idx]) for idx in np.array_split(order, range(batch_size, len(X), batch_size))]


def _trainable(params: dict) -> list[str]:
    """Keys that have a gradient: 'W'+name and 'b'+name of every layer seen by backwards."""
    return [k for k in params if not k.startswith(("grad_", "m_", "cache_")) and ("grad_" + k) in params]


def sgd_step(params: dict, lr: float) -> None:
    """Plain gradient descent on every parameter with a gradient: ``W -= lr * grad_W`` (in place)."""
    for k in _trainable(params):
        params[k] -= lr * params["grad_" + k]


def momentum_step(params: dict, lr: float, mu: float = 0.9) -> None:
    """Momentum, homework form: ``M = mu * M - lr * grad; W += M`` (in place).

    The accumulators ``params['m_'+key]`` start at zero on the first call.
    """
    for k in _trainable(params):
        m = params.get("m_" + k)
        if m is None:
            m = params["m_" + k] = np.zeros_like(params[k])
        m *= mu
        m -= lr * params["grad_" + k]
        params[k] += m


def lr_decay(lr0: float, epoch: int, factor: float = 0.9, every: int = 20) -> float:
    """Step decay: ``lr0 * factor ** (epoch // every)`` for epoch 0, 1, ... (x0.9 every 20 epochs)."""
    return lr0 * factor ** (epoch // every) if every else lr0


# ----------------------------------------------------------------------------------------------
# Gradient checking
# ----------------------------------------------------------------------------------------------
def numerical_gradient(f: Callable[[], float], param_array: np.ndarray, eps: float = 1e-6,
                       entries: np.ndarray | None = None) -> np.ndarray:
    """Central differences: ``(f(p + eps e_i) - f(p - eps e_i)) / (2 eps)`` for every entry.

    ``f()`` takes no argument and must read ``param_array`` (which is perturbed in place and
    restored). Returns an array shaped like ``param_array``; or, with ``entries`` (flat indices,
    to sample a large array), the derivatives at those entries only, shape ``(len(entries),)``.
    Use float64.
    """
    flat = np.arange(param_array.size) if entries is None else np.asarray(entries).reshape(-1)
    grad = np.zeros(flat.size, dtype=np.float64)
    for j, k in enumerate(flat):
        i = np.unravel_index(k, param_array.shape)
        old = param_array[i].copy()
        param_array[i] = old + eps
        up = f()
        param_array[i] = old - eps
        down = f()
        param_array[i] = old
        grad[j] = (up - down) / (2 * eps)
    return grad.reshape(param_array.shape) if entries is None else grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / max(||a|| + ||b||, 1e-300)`` (0 when both are zero)."""
    num = float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))
    den = float(np.linalg.norm(a) + np.linalg.norm(b))
    return 0.0 if num == 0 else num / max(den, 1e-300)


def gradient_check(loss_fn: Callable[[], float], params: dict, keys: list[str] | None = None,
                   eps: float = 1e-6) -> dict[str, float]:
    """Compare analytic and numerical gradients; returns ``{key: relative error}``.

    ``loss_fn()`` runs the forward and backward passes and returns the scalar loss, leaving
    analytic gradients in ``params['grad_'+key]``. ``keys`` default: every parameter with a
    gradient. The relative error is ``||g_analytic - g_numeric|| / (||g_analytic|| + ||g_numeric||)``;
    below 1e-7 in float64 means the backward pass is right. Afterwards the caches and gradients
    in ``params`` are those of the unperturbed parameters again.
    """
    loss_fn()
    keys = _trainable(params) if keys is None else keys
    analytic = {k: np.array(params["grad_" + k], dtype=np.float64) for k in keys}
    if any(params[k].dtype != np.float64 for k in keys):
        raise ValueError("gradient_check: parameters must be float64 (float32 central differences are too noisy); "
                         "build the network with dtype=np.float64")
    errors = {k: relative_error(analytic[k], numerical_gradient(loss_fn, params[k], eps)) for k in keys}
    loss_fn()  # leave caches and gradients as at the unperturbed parameters
    return errors


def toy_problem(rng: np.random.Generator | None = None, n_per_class: int = 10,
                spread: float = 0.75) -> tuple[np.ndarray, np.ndarray]:
    """The homework's sanity-check data: 4 Gaussian classes in the plane.

    Class centres at (+-1.5, +-1.5), isotropic standard deviation ``spread``. Returns
    X: (4 n, 2) float64 and Y: (4 n, 4) one-hot, ordered by class.
    """
    rng = np.random.default_rng() if rng is None else rng
    centres = np.array([[-1.5, -1.5], [1.5, -1.5], [-1.5, 1.5], [1.5, 1.5]])
    X = np.concatenate([c + spread * rng.standard_normal((n_per_class, 2)) for c in centres])
    return X, np.repeat(np.eye(4), n_per_class, axis=0)


# ----------------------------------------------------------------------------------------------
# A small multi-layer perceptron and its trainer (used by the later chapters)
# ----------------------------------------------------------------------------------------------
def build_mlp(sizes: list[int], activations: list[str], rng: np.random.Generator | None = None,
              dtype: Any = np.float32, names: list[str] | None = None, scale: float = 1.0) -> dict:
    """A params dict for a dense network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    activations: one name per layer (``len(sizes) - 1``), from sigmoid, tanh, relu, linear,
    softmax; softmax only last. Layers are named 'layer1', 'layer2', ..., 'output' (homework
    names) unless ``names`` is given; ``params['layers']`` lists ``(name, activation)``.
    Example (chapter 3): ``build_mlp([1024, 64, 36], ['sigmoid', 'softmax'], rng)``.
    """
    if len(sizes) < 2 or len(activations) != len(sizes) - 1:
        raise ValueError(f"build_mlp: {len(sizes)} sizes need {len(sizes) - 1} activations, got {len(activations)}; "
                         "e.g. build_mlp([1024, 64, 36], ['sigmoid', 'softmax'])")
    for i, a in enumerate(activations):
        _activation(a)
        if a == "softmax" and i != len(activations) - 1:
            raise ValueError("build_mlp: softmax is only allowed as the last activation")
    n = len(activations)
    names = names or [f"layer{i + 1}" for i in range(n - 1)] + ["output"]
    params: dict = {"layers": list(zip(names, activations))}
    rng = np.random.default_rng() if rng is None else rng
    for (name, _), d_in, d_out in zip(params["layers"], sizes[:-1], sizes[1:]):
        initialize_weights(d_in, d_out, params, name, rng=rng, dtype=dtype, scale=scale)
    return params


def _layers(params: dict) -> list[tuple[str, str]]:
    if "layers" not in params:
        raise ValueError("this params dict has no 'layers' list; build it with build_mlp(sizes, activations)")
    return params["layers"]


def mlp_forward(X: np.ndarray, params: dict, check: bool = True) -> np.ndarray:
    """Run every layer of a :func:`build_mlp` network on X: (N, sizes[0]); returns (N, sizes[-1])."""
    h = X
    for name, act in _layers(params):
        h = forward(h, params, name, act, check=check)
        check = False  # the input was checked; later layers cannot get a wrong shape
    return h


def mlp_backwards(delta: np.ndarray, params: dict) -> None:
    """Backpropagate through every layer after :func:`mlp_forward`, filling the 'grad_' entries.

    delta: dL/d(network output), (N, sizes[-1]); for a softmax output it must be dL/d(logits)
    (``probs - y`` for cross-entropy).
    """
    layers = _layers(params)
    for i in range(len(layers) - 1, -1, -1):
        name, act = layers[i]
        delta = backwards(delta, params, name, _activation(act, deriv=True), need_dx=i > 0)


def predict(X: np.ndarray, params: dict, batch_size: int = 4096) -> np.ndarray:
    """Network output for X: (N, sizes[0]) -> (N, sizes[-1]) (class probabilities for a softmax
    output: take ``.argmax(1)`` for labels). Works in chunks; leaves the caches untouched."""
    W0 = params["W" + _layers(params)[0][0]]
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != W0.shape[0]:
        raise ValueError(f"predict: X has shape {X.shape}; the network expects (N, {W0.shape[0]})")
    _check_finite("predict", X=X)
    out = []
    for s in range(0, len(X), batch_size):
        h = X[s:s + batch_size].astype(W0.dtype, copy=False)
        for name, act in params["layers"]:
            h = _activation(act)(h @ params["W" + name] + params["b" + name])
        out.append(h)
    return np.concatenate(out) if out else np.zeros((0, params["W" + params["layers"][-1][0]].shape[1]), W0.dtype)


def _loss(kind: str, Y: np.ndarray, out: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(summed loss, accuracy or nan, delta for mlp_backwards)."""
    if kind == "cross_entropy":
        loss, acc = compute_loss_and_acc(Y, out)
        return loss, acc, out - Y
    loss, grad = squared_error(Y, out)
    return loss, float("nan"), grad


def _check_training_data(X: np.ndarray, Y: np.ndarray, params: dict, loss: str, where: str) -> None:
    layers = _layers(params)
    d_in = params["W" + layers[0][0]].shape[0]
    d_out = params["W" + layers[-1][0]].shape[1]
    if X.ndim != 2 or X.shape[1] != d_in:
        raise ValueError(f"{where}: X has shape {X.shape}; the network expects (N, {d_in})")
    if Y.shape != (len(X), d_out):
        raise ValueError(f"{where}: Y has shape {Y.shape}; expected ({len(X)}, {d_out}) "
                         "(one-hot labels for cross_entropy, targets for squared_error)")
    _check_finite(where, X=X, Y=Y)
    if loss not in ("cross_entropy", "squared_error"):
        raise ValueError(f"{where}: loss must be 'cross_entropy' or 'squared_error', got {loss!r}")
    if loss == "cross_entropy" and layers[-1][1] != "softmax":
        raise ValueError(f"{where}: loss='cross_entropy' needs a softmax output layer; the last layer is "
                         f"{layers[-1][1]!r}")


def train_epoch(X: np.ndarray, Y: np.ndarray, params: dict, *, lr: float, batch_size: int = 32,
                rng: np.random.Generator | None = None, loss: str = "cross_entropy",
                momentum: float = 0.0, check: bool = True) -> tuple[float, float]:
    """One pass over (X, Y) in random mini-batches, one update per batch.

    X: (N, D) and Y: (N, C) in the network's dtype (see :func:`fit`, which converts once).
    Updates with :func:`sgd_step`, or :func:`momentum_step` when ``momentum > 0``. Returns
    (loss per example, accuracy) averaged over the epoch's batches as they were trained (the
    homework's running totals; accuracy is nan for squared_error). ``check=False`` skips the
    shape/NaN checks of X and Y (``fit`` checks them once).
    """
    if check:
        _check_training_data(X, Y, params, loss, "train_epoch")
    total, correct = 0.0, 0.0
    for xb, yb in get_random_batches(X, Y, batch_size, rng):
        out = mlp_forward(xb, params, check=False)
        l, acc, delta = _loss(loss, yb, out)
        if not np.isfinite(l):
            raise FloatingPointError(f"train_epoch: the loss became {l} (diverged); lower the learning rate (lr={lr})")
        mlp_backwards(delta, params)
        if momentum:
            momentum_step(params, lr, momentum)
        else:
            sgd_step(params, lr)
        total += l
        correct += acc * len(xb)
    return total / len(X), correct / len(X)


def fit(X: np.ndarray, Y: np.ndarray, params: dict, X_valid: np.ndarray | None = None,
        Y_valid: np.ndarray | None = None, *, epochs: int, lr: float, batch_size: int = 32,
        loss: str = "cross_entropy", momentum: float = 0.0, decay: float = 1.0, decay_every: int = 0,
        rng: np.random.Generator | None = None, on_epoch: Callable[[int, dict], None] | None = None) -> dict:
    """Train a :func:`build_mlp` network for ``epochs`` epochs; returns the history.

    X: (N, D), Y: (N, C) (one-hot for cross_entropy; the targets, e.g. X itself, for
    squared_error); optional validation X_valid, Y_valid. The data are converted once to
    the network's dtype. The learning rate at epoch e (from 0) is ``lr_decay(lr, e, decay,
    decay_every)``. ``on_epoch(epoch, history)`` is called after every epoch (e.g. to
    snapshot weights).

    history: lists per epoch, ``epoch`` (1, 2, ...), ``lr``, ``train_loss`` / ``valid_loss``
    (loss per example), ``train_acc`` / ``valid_acc`` (nan for squared_error), ``seconds``
    (cumulative training time).
    """
    dtype = params["W" + _layers(params)[0][0]].dtype
    X, Y = np.asarray(X, dtype=dtype), np.asarray(Y, dtype=dtype)
    _check_training_data(X, Y, params, loss, "fit")
    has_valid = X_valid is not None and Y_valid is not None
    if has_valid:
        X_valid, Y_valid = np.asarray(X_valid, dtype=dtype), np.asarray(Y_valid, dtype=dtype)
        _check_training_data(X_valid, Y_valid, params, loss, "fit (validation)")
    rng = np.random.default_rng() if rng is None else rng
    keys = ("epoch", "lr", "train_loss", "train_acc", "valid_loss", "valid_acc", "seconds")
    history: dict[str, list] = {k: [] for k in keys}
    elapsed = 0.0
    for e in range(int(epochs)):
        lr_e = lr_decay(lr, e, decay, decay_every)
        t0 = time.perf_counter()
        tr_loss, tr_acc = train_epoch(X, Y, params, lr=lr_e, batch_size=batch_size, rng=rng, loss=loss,
                                      momentum=momentum, check=False)
        elapsed += time.perf_counter() - t0
        va_loss = va_acc = float("nan")
        if has_valid:
            l, va_acc, _ = _loss(loss, Y_valid, predict(X_valid, params))
            va_loss = l / len(X_valid)
        for k, v in zip(keys, (e + 1, lr_e, tr_loss, tr_acc, va_loss, va_acc, elapsed)):
            history[k].append(v)
        if on_epoch is not None:
            on_epoch(e + 1, history)
    return history
