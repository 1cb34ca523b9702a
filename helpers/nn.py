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
def numerical_gradient(f: Callable[[], float], param_array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences: ``(f(p + eps e_i) - f(p - eps e_i)) / (2 eps)`` for every entry.

    ``f()`` takes no argument and must read ``param_array`` (which is perturbed in place and
    restored). Returns an array shaped like ``param_array``. Use float64.
    """
    grad = np.zeros(param_array.shape, dtype=np.float64)
    it = np.nditer(param_array, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = param_array[i].copy()
        param_array[i] = old + eps
        up = f()
        param_array[i] = old - eps
        down = f()
        param_array[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


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


# ----------------------------------------------------------------------------------------------
# --- trained models: the chapter-3 network, cached ---
#
# The homework's character classifier 1024 -> 64 (sigmoid) -> 36 (softmax), trained once with
# mini-batch SGD and cached in config.data_dir(), so the chapter-3 notebook, the OCR chapter and
# its command line all share one training run. Also: saving/loading networks, weight snapshots
# during training, and the small analyses of chapter 3 (confusion matrix, weight mosaics).
# ----------------------------------------------------------------------------------------------
import hashlib as _hashlib
import json as _json
import os as _os
import sys as _sys
import warnings as _warnings
from pathlib import Path as _Path

from . import config as _config

__all__ += [
    "ModelFileError", "save_params", "load_params", "CH3_SIZES", "CH3_ACTIVATIONS", "mlp_settings",
    "mlp_cache_path", "default_snapshot_epochs", "blas_threads", "train_with_snapshots", "train_mlp",
    "chapter3_mlp", "lr_study", "confusion_matrix", "most_confused_pairs", "class_templates", "weight_mosaic",
]

CH3_SIZES = (1024, 64, 36)
CH3_ACTIVATIONS = ("sigmoid", "softmax")
CH3_VERSION = 1  # bump whenever the training procedure changes: it is part of every cache key
_HISTORY_KEYS = ("epoch", "lr", "train_loss", "train_acc", "valid_loss", "valid_acc", "seconds")


class ModelFileError(ValueError):
    """A saved-network file is missing, unreadable or does not hold a :func:`build_mlp` network."""


def _model_arrays(params: dict, where: str) -> dict[str, np.ndarray]:
    layers = _layers(params)
    arrays: dict[str, np.ndarray] = {}
    for name, act in layers:
        if not isinstance(act, str):
            raise ValueError(f"{where}: layer {name!r} has a function as activation; only named activations "
                             f"({sorted(ACTIVATIONS)}) can be saved")
        for key in ("W" + name, "b" + name):
            if key not in params:
                raise ValueError(f"{where}: params has no {key!r} although 'layers' lists layer {name!r}")
            arrays[key] = np.asarray(params[key])
    arrays["layers"] = np.array(_json.dumps([[n, a] for n, a in layers]))
    return arrays


def save_params(path: str | _os.PathLike, params: dict, **extra: np.ndarray) -> _Path:
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


def load_params(path: str | _os.PathLike) -> dict:
    """Read a network written by :func:`save_params`: ``{'layers': [...], 'W'+name, 'b'+name}``.

    Raises :class:`ModelFileError` (a ValueError) with what to do when the file is missing, is
    not a readable ``.npz``, or does not hold a consistent network (shapes must chain, biases
    match, activations known, values finite).
    """
    path = _Path(path)
    redo = ("delete it and train again (helpers.nn.chapter3_mlp(retrain=True) rewrites the chapter-3 "
            "network)")
    if not path.exists():
        raise ModelFileError(f"load_params: {path} not found; train and save a network first "
                             "(helpers.nn.chapter3_mlp() trains the chapter-3 network and caches it) or fix the path")
    try:
        with np.load(path, allow_pickle=False) as z:
            layers = [(str(n), str(a)) for n, a in _json.loads(str(z["layers"]))]
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
        if act not in ACTIVATIONS:
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
    h = _hashlib.blake2b(digest_size=8)
    for s in sets:
        h.update(np.ascontiguousarray(s.images).tobytes())
        h.update(np.ascontiguousarray(s.labels).tobytes())
    return h.hexdigest()


def mlp_cache_path(settings: dict, train, valid) -> _Path:
    """``data_dir()/mlp_ch3_<hash>.npz``; the hash covers the settings, the data sources, sizes
    and a fingerprint of the images and labels (different data or budgets, different file)."""
    from . import config

    key = {"settings": settings, "train": [train.source, len(train)], "valid": [valid.source, len(valid)],
           "data": _fingerprint(train, valid)}
    digest = _hashlib.sha1(_json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return config.data_dir() / f"mlp_ch3_{digest}.npz"


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
        if enabled and getattr(_sys.stdout, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, desc=label, unit="epoch", file=_sys.stdout, leave=True)

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


blas_threads = _config.blas_threads  # one BLAS-thread policy for the book (see helpers.config)


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
    layer = _layers(params)[0][0] if layer is None else layer
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
        history = fit(X, Y, params, X_valid, Y_valid, epochs=epochs, lr=lr, batch_size=batch_size, rng=rng,
                      loss="cross_entropy", on_epoch=on_epoch)
    W = params["W" + layer]
    snaps = {"epochs": np.array(kept_epochs, dtype=np.int64),
             "W": np.stack(kept_W) if kept_W else np.zeros((0, *W.shape), W.dtype)}
    return history, snaps


def _load_cached(path: _Path) -> tuple[dict, dict]:
    params = load_params(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = _json.loads(str(z["meta"]))
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
    if path.exists() and not retrain:
        try:
            return _load_cached(path)
        except ModelFileError as exc:
            _warnings.warn(f"train_mlp: ignoring the damaged cache file and training again: {exc}", stacklevel=2)
    rng = np.random.default_rng(settings["seed"])
    params = build_mlp(list(CH3_SIZES), list(CH3_ACTIVATIONS), rng=rng, dtype=np.float32)
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
    save_params(path, clean, meta=np.array(_json.dumps(meta)), snap_epochs=snaps["epochs"], snap_W=snaps["W"],
                **{"history_" + k: np.asarray(history[k], dtype=np.float64) for k in _HISTORY_KEYS})
    return clean, dict(meta, history=history, snapshots=snaps, path=str(path), cached=False)


def chapter3_mlp(*, progress: bool = True, retrain: bool = False) -> tuple[dict, dict]:
    """THE chapter-3 network, trained once and cached: :func:`train_mlp` with the budgets.

    The chapter-3 notebook, the OCR chapter and ``python -m helpers ocr`` call this, so the
    same training never runs twice. Returns ``(params, info)``; ``info['source']`` says which
    data it was trained on. Classify with ``predict(X, params).argmax(1)``.
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
    layers = _layers(params)
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
