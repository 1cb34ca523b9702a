"""The from-scratch numpy network of the book, in the homework's vocabulary.

Batch-first everywhere: a batch ``X`` has shape ``(N, D)`` (one example per row) and a dense
layer computes ``pre = X @ W + b`` with ``W: (D, M)``, ``b: (M,)``, then ``post = f(pre)``, in
the dtype of its ``W`` (float64 for gradient checks, float32 for training). The network state
is one dict, ``params`` (homework convention); for a layer called ``name``:

=====================  ===============================================================
``'W' + name``         weights ``(D, M)``              (:func:`initialize_weights`)
``'b' + name``         biases ``(M,)``
``'cache_' + name``    ``(X, pre, post)`` saved by :func:`forward` for :func:`backwards`
``'grad_W' + name``    dL/dW ``(D, M)``, written by :func:`backwards`; ``'grad_b' + name``
``'m_W' + name`` ...   momentum accumulators (:func:`momentum_step`), start at zero
``'layers'``           ``[(name, activation), ...]`` for networks made by :func:`build_mlp`
=====================  ===============================================================

Reading order: activations, layers (initialize_weights, forward, backwards), losses, batches
and updates, gradient checking, the small MLP trainer (build_mlp, predict, train_epoch, fit).
The functions the chapters show are the math only; checking their inputs (clear errors for
wrong shapes, NaNs, missing caches) is done by the private helpers at the end of the file.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
from scipy.special import expit

__all__ = [
    "sigmoid", "sigmoid_deriv", "tanh", "tanh_deriv", "relu", "relu_deriv", "linear", "linear_deriv",
    "softmax", "ACTIVATIONS", "initialize_weights", "forward", "backwards",
    "compute_loss_and_acc", "squared_error", "get_random_batches", "sgd_step", "momentum_step",
    "lr_decay", "numerical_gradient", "gradient_check", "build_mlp", "mlp_forward", "mlp_backwards",
    "predict", "train_epoch", "fit", "relative_error", "toy_problem",
]


# --- Activations. Each derivative takes the *post-activation* f(pre), as in the homework:
# sigmoid' = s (1 - s), tanh' = 1 - t^2, relu' = [r > 0], linear' = 1.
def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + exp(-x)), elementwise: x any shape -> same shape, values in (0, 1).

    scipy's ``expit`` is this formula, computed without overflow warnings for large |x|.
    """
    return expit(x)


def sigmoid_deriv(post: np.ndarray) -> np.ndarray:
    """d sigmoid/dx from the output ``post = sigmoid(x)``: ``post * (1 - post)`` (at most 1/4)."""
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
    """Ones shaped like ``post``. Also what :func:`backwards` takes for a softmax output layer
    trained with cross-entropy: the delta handed in there (``probs - y``) is already dL/d(pre)."""
    return np.ones_like(post)


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits ``x: (N, C)``; rows of the result are in (0, 1] and sum to 1.

    Stable: subtracting the row maximum first leaves the result unchanged (softmax(x + c) =
    softmax(x)) and keeps every exponent <= 0, so nothing overflows. Entries far below their
    row maximum (by more than ~745 in float64, ~104 in float32) underflow to exactly 0.
    """
    x = _logits(x)
    e = np.exp(x - x.max(axis=1, keepdims=True))    # row max subtracted: every exponent <= 0
    return e / e.sum(axis=1, keepdims=True)


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


# --- Layers ----------------------------------------------------------------------------------
def initialize_weights(in_size: int, out_size: int, params: dict, name: str = "",
                       rng: np.random.Generator | None = None, dtype: Any = np.float64,
                       scale: float = 1.0) -> dict:
    """Xavier/Glorot uniform weights and zero biases for a dense layer ``in_size -> out_size``.

    ``W`` is drawn from U(-a, a) with a = scale * sqrt(6 / (in_size + out_size)), so that
    Var(W) = scale**2 * 2 / (in_size + out_size); ``b`` is zeros. Stores ``params['W'+name]``
    ``(in_size, out_size)`` and ``params['b'+name]`` ``(out_size,)`` and returns ``params``.
    ``rng`` is a ``np.random.Generator`` (default: a fresh unseeded one).
    """
    in_size, out_size = _layer_sizes(in_size, out_size)
    rng = np.random.default_rng() if rng is None else rng
    a = scale * np.sqrt(6.0 / (in_size + out_size))
    params["W" + name] = rng.uniform(-a, a, size=(in_size, out_size)).astype(dtype)
    params["b" + name] = np.zeros(out_size, dtype=dtype)
    return params


def forward(X: np.ndarray, params: dict, name: str = "", activation: str | Callable = sigmoid,
            check: bool = True) -> np.ndarray:
    """One dense layer: ``post = activation(X @ W + b)``.

    X: (N, D); W = params['W'+name]: (D, M); b = params['b'+name]: (M,). Returns post: (N, M)
    and saves ``params['cache_'+name] = (X, pre, post)`` for :func:`backwards`. ``activation``:
    a function or a name from ACTIVATIONS. X is cast to W's dtype and checked by
    :func:`_layer_input` (``check=False`` skips the shape/NaN checks: the trainer checks once).
    """
    W, b = params["W" + name], params["b" + name]
    X = _layer_input(X, W, name, check)
    pre = X @ W
    pre += b                                    # the bias, added to every row
    post = _activation(activation)(pre)
    params["cache_" + name] = (X, pre, post)    # what backwards needs
    return post


def backwards(delta: np.ndarray, params: dict, name: str = "", activation_deriv: str | Callable = sigmoid_deriv,
              need_dx: bool = True) -> np.ndarray | None:
    """Back through the layer ``name`` given ``delta = dL/d(post)``: (N, M).

    With delta_pre = delta * activation_deriv(post) (the derivative takes the post-activation,
    see the activations above) stores ``params['grad_W'+name] = X.T @ delta_pre`` (D, M) and
    ``params['grad_b'+name] = delta_pre.sum(0)`` (M,), and returns dL/dX = delta_pre @ W.T
    (N, D), or None when ``need_dx=False`` (first layer: nobody needs it).
    """
    X, pre, post = _cache(params, name, delta)         # saved by forward
    delta_pre = delta * _activation(activation_deriv, deriv=True)(post)   # dL/d(pre): (N, M)
    params["grad_W" + name] = X.T @ delta_pre           # (D, N) @ (N, M) -> (D, M)
    params["grad_b" + name] = delta_pre.sum(axis=0)     # summed over the batch: (M,)
    return delta_pre @ params["W" + name].T if need_dx else None   # (N, M) @ (M, D) -> (N, D)


# --- Losses ----------------------------------------------------------------------------------
def compute_loss_and_acc(y: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """Cross-entropy summed over the batch, and accuracy.

    y: (N, C) one-hot; probs: (N, C) softmax outputs. loss = -sum_n log probs[n, true class]
    (a sum, as in the homework; divide by N for the mean), acc = fraction with argmax right.
    The gradient of this loss with respect to the logits is ``probs - y``.
    """
    _check_pair("compute_loss_and_acc", y, probs)
    loss = -float(np.sum(y * _log(probs)))            # only the true class's log p counts
    acc = float(np.mean(probs.argmax(axis=1) == y.argmax(axis=1)))
    return loss, acc


def _log(p: np.ndarray) -> np.ndarray:
    """log p, with p = 0 read as the smallest positive number (a large finite loss, not inf)."""
    tiny = np.finfo(p.dtype).tiny if p.dtype.kind == "f" else 1e-300
    return np.log(np.maximum(p, tiny))


def squared_error(y: np.ndarray, out: np.ndarray) -> tuple[float, np.ndarray]:
    """Total squared error ``sum (out - y)**2`` and its gradient ``2 (out - y)``; y, out: (N, K)."""
    _check_pair("squared_error", y, out)
    diff = out - y
    return float(np.sum(diff * diff)), 2 * diff


# --- Batches and updates ---------------------------------------------------------------------
def get_random_batches(X: np.ndarray, y: np.ndarray, batch_size: int,
                       rng: np.random.Generator | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffle once and cut into batches: a list of (X[idx], y[idx]) with ``batch_size`` rows
    each (the last one may be smaller). X: (N, D), y: (N, C) or (N,). Every row lands in
    exactly one batch, still paired with its label."""
    _check_batch_args(X, y, batch_size)
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(X))                 # 0 .. N-1, each once, in random order
    cuts = range(batch_size, len(X), batch_size)    # cut after every batch_size indices
    return [(X[idx], y[idx]) for idx in np.array_split(order, cuts)]


def _trainable(params: dict) -> list[str]:
    """Keys that have a gradient: 'W'+name and 'b'+name of every layer seen by backwards."""
    return [k for k in params if not k.startswith(("grad_", "m_", "cache_")) and ("grad_" + k) in params]


def sgd_step(params: dict, lr: float) -> None:
    """Plain gradient descent on every parameter with a gradient: ``W -= lr * grad_W`` (in place)."""
    for k in _trainable(params):
        params[k] -= lr * params["grad_" + k]


def momentum_step(params: dict, lr: float, mu: float = 0.9) -> None:
    """Momentum, homework form: ``M = mu * M - lr * grad; W += M`` (in place; M starts at 0)."""
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


# --- Gradient checking -----------------------------------------------------------------------
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
    analytic gradients in ``params['grad_'+key]`` (``keys`` default: all with a gradient).
    Relative error ``||g_a - g_n|| / (||g_a|| + ||g_n||)`` below 1e-7 in float64 means the
    backward pass is right. Caches and gradients are left as at the unperturbed parameters.
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


# --- A small multi-layer perceptron and its trainer (used by the later chapters) -------------
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


def mlp_forward(X: np.ndarray, params: dict, check: bool = True) -> np.ndarray:
    """Run every layer of a :func:`build_mlp` network on X: (N, sizes[0]); returns (N, sizes[-1])."""
    h = X
    for name, act in _layers(params):
        h = forward(h, params, name, act, check=check)
        check = False  # the input was checked; later layers cannot get a wrong shape
    return h


def mlp_backwards(delta: np.ndarray, params: dict) -> None:
    """Backpropagate through every layer after :func:`mlp_forward`, filling the 'grad_' entries.

    delta: dL/d(network output), (N, sizes[-1]); for a softmax output dL/d(logits) (``probs - y``).
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
    """(summed loss, accuracy or nan, delta for mlp_backwards); cross-entropy: delta = probs - Y."""
    if kind == "cross_entropy":
        loss, acc = compute_loss_and_acc(Y, out)
        return loss, acc, out - Y
    loss, grad = squared_error(Y, out)
    return loss, float("nan"), grad


def _batch_loss(kind: str, Y: np.ndarray, out: np.ndarray, lr: float) -> tuple[float, float, np.ndarray]:
    """:func:`_loss` of one training batch; an error instead of training on with an infinite loss."""
    loss, acc, delta = _loss(kind, Y, out)
    if not np.isfinite(loss):
        raise FloatingPointError(f"train_epoch: the loss became {loss} (diverged); lower the learning rate (lr={lr})")
    return loss, acc, delta


def train_epoch(X: np.ndarray, Y: np.ndarray, params: dict, *, lr: float, batch_size: int = 32,
                rng: np.random.Generator | None = None, loss: str = "cross_entropy",
                momentum: float = 0.0, check: bool = True) -> tuple[float, float]:
    """One pass over (X, Y) in random mini-batches, one update per batch.

    X: (N, D), Y: (N, C) one-hot, for a :func:`build_mlp` network. Per batch: forward, the
    summed loss and dL/d(output) (``probs - Y``), backwards, then ``W -= lr * grad_W`` for
    every parameter (momentum when ``momentum > 0``). Returns (loss per example, accuracy)
    over the batches as trained. ``loss='squared_error'``: Y are targets, accuracy nan.
    ``check=False`` skips checking X and Y (:func:`fit` checks once).
    """
    if check:
        _check_training_data(X, Y, params, loss, "train_epoch")
    total, correct = 0.0, 0.0
    for xb, yb in get_random_batches(X, Y, batch_size, rng):
        out = mlp_forward(xb, params, check=False)            # forward
        l, acc, delta = _batch_loss(loss, yb, out, lr)          # loss, dL/d(output)
        mlp_backwards(delta, params)                            # backwards: params['grad_...']
        if momentum:                                            # update
            momentum_step(params, lr, momentum)
        else:
            sgd_step(params, lr)                                # W -= lr * grad_W, every W and b
        total += l
        correct += acc * len(xb)
    return total / len(X), correct / len(X)


def fit(X: np.ndarray, Y: np.ndarray, params: dict, X_valid: np.ndarray | None = None,
        Y_valid: np.ndarray | None = None, *, epochs: int, lr: float, batch_size: int = 32,
        loss: str = "cross_entropy", momentum: float = 0.0, decay: float = 1.0, decay_every: int = 0,
        rng: np.random.Generator | None = None, on_epoch: Callable[[int, dict], None] | None = None) -> dict:
    """Train a :func:`build_mlp` network for ``epochs`` epochs of :func:`train_epoch`.

    X: (N, D), Y: (N, C) (one-hot for cross_entropy; targets, e.g. X, for squared_error),
    converted once to the network's dtype; optional validation X_valid, Y_valid. Epoch e
    (from 0) uses ``lr_decay(lr, e, decay, decay_every)``; ``on_epoch(epoch, history)`` runs
    after every epoch (e.g. to snapshot weights). Returns the history, lists per epoch:
    ``epoch`` (1, 2, ...), ``lr``, ``train_loss`` / ``valid_loss`` (per example),
    ``train_acc`` / ``valid_acc`` (nan for squared_error), ``seconds`` (cumulative).
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


# --- Input checks: the plumbing kept out of the functions above -----------------------------
def _layers(params: dict) -> list[tuple[str, str]]:
    if "layers" not in params:
        raise ValueError("this params dict has no 'layers' list; build it with build_mlp(sizes, activations)")
    return params["layers"]


def _check_finite(where: str, **arrays: np.ndarray) -> None:
    for label, a in arrays.items():
        if not np.isfinite(a).all():
            bad = int(np.size(a) - np.isfinite(a).sum())
            raise ValueError(f"{where}: {label} has {bad} NaN/inf entries; clean the input (np.nan_to_num) or, "
                             "if they appeared during training, lower the learning rate")


def _logits(x: np.ndarray) -> np.ndarray:
    """x as an array of logits (N, C) for softmax."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"softmax expects logits of shape (N, C), got shape {x.shape}; use x.reshape(1, -1) "
                         "for a single example")
    return x


def _layer_sizes(in_size: int, out_size: int) -> tuple[int, int]:
    """The sizes of initialize_weights as ints, or an error."""
    if int(in_size) != in_size or int(out_size) != out_size or in_size < 1 or out_size < 1:
        raise ValueError(f"initialize_weights: layer sizes must be positive integers, got {in_size} -> {out_size}")
    return int(in_size), int(out_size)


def _layer_input(X: np.ndarray, W: np.ndarray, name: str, check: bool) -> np.ndarray:
    """X in W's dtype; with ``check``, also a clear error for a wrong shape or NaN/inf entries."""
    if X.dtype != W.dtype:
        X = X.astype(W.dtype)
    if check:
        if X.ndim != 2 or X.shape[1] != W.shape[0]:
            raise ValueError(f"forward({name!r}): X has shape {X.shape} but W{name} is {W.shape}; X must be "
                             f"(N, {W.shape[0]}), one example per row (reshape a single example with x[None, :])")
        _check_finite(f"forward({name!r})", X=X)
    return X


def _cache(params: dict, name: str, delta: np.ndarray) -> tuple:
    """The (X, pre, post) that forward saved for layer ``name``, with clear errors for backwards."""
    try:
        X, pre, post = params["cache_" + name]
    except KeyError:
        raise ValueError(f"backwards({name!r}): no cache; call forward(X, params, {name!r}, ...) first") from None
    if delta.shape != post.shape:
        raise ValueError(f"backwards({name!r}): delta has shape {delta.shape} but the layer output is {post.shape}; "
                         "pass dL/d(output of this layer)")
    return X, pre, post


def _check_pair(where: str, y: np.ndarray, p: np.ndarray) -> None:
    if y.shape != p.shape or p.ndim != 2:
        raise ValueError(f"{where}: targets have shape {np.shape(y)} and outputs {np.shape(p)}; both must be the "
                         "same (N, C) shape (one-hot targets for classification)")
    _check_finite(where, targets=y, outputs=p)


def _check_batch_args(X: np.ndarray, y: np.ndarray, batch_size: int) -> None:
    """Errors for get_random_batches: X and y must pair up, batch_size be a positive integer."""
    if len(X) != len(y):
        raise ValueError(f"get_random_batches: X has {len(X)} rows but y has {len(y)}; they must pair up")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"get_random_batches: batch_size must be a positive integer, got {batch_size!r}")


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
