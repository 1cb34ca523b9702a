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
The functions the chapters show (the Your-turn answers and the layer loop) are the short teaching
versions, exactly the code on the page (tests/test_solutions.py compares them). Checking inputs
(clear errors for wrong shapes, NaNs, missing caches), names for activations and dtype casts wrap
them from outside: the ``*_checked`` functions, :func:`init_layer`, and the trainer.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

__all__ = [
    "sigmoid", "sigmoid_deriv", "tanh", "tanh_deriv", "relu", "relu_deriv", "linear", "linear_deriv",
    "softmax", "ACTIVATIONS", "initialize_weights", "init_layer", "forward", "backwards", "forward_checked",
    "backwards_checked", "loss_and_acc_checked", "batches_checked",
    "compute_loss_and_acc", "squared_error", "get_random_batches", "sgd_step", "momentum_step",
    "lr_decay", "numerical_gradient", "numerical_gradient_at", "gradient_check", "build_mlp", "mlp_forward", "mlp_backwards",
    "predict", "train_epoch", "train_epoch_general", "fit", "relative_error", "toy_problem",
]


# --- Activations. Each derivative takes the *post-activation* f(pre), as in the homework:
# sigmoid' = s (1 - s), tanh' = 1 - t^2, relu' = [r > 0], linear' = 1.
def sigmoid(x):
    """x: any shape -> same shape, values in (0, 1)."""
    with np.errstate(over="ignore"):     # exp(1000) = inf, and 1 / (1 + inf) = 0 is the right limit
        return 1 / (1 + np.exp(-x))


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


def softmax(x):
    """x: (N, C) logits, one example per row (or one vector (C,)) -> probabilities, same shape,
    each row sums to 1.

    Stable: subtracting the row maximum changes nothing (softmax(x + c) = softmax(x)) and keeps
    every exponent <= 0. Entries far below their row maximum (by more than ~745 in float64, ~104
    in float32) underflow to exactly 0.
    """
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


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
def initialize_weights(in_size, out_size, params, name="", rng=None):
    """Store params['W'+name]: (in_size, out_size), uniform in [-a, a] with
    a = sqrt(6 / (in_size + out_size)) (Xavier/Glorot: Var(W) = 2 / (in_size + out_size)),
    and params['b'+name]: (out_size,) zeros; returns params. rng: a np.random.Generator."""
    rng = np.random.default_rng() if rng is None else rng
    a = np.sqrt(6 / (in_size + out_size))
    params["W" + name] = rng.uniform(-a, a, size=(in_size, out_size))
    params["b" + name] = np.zeros(out_size)
    return params


def init_layer(in_size: int, out_size: int, params: dict, name: str = "", rng: np.random.Generator | None = None,
               dtype: Any = np.float64, scale: float = 1.0) -> dict:
    """:func:`initialize_weights` with checked sizes, weights times ``scale`` and cast to ``dtype``
    (what :func:`build_mlp` uses; scale 1 gives exactly initialize_weights' numbers)."""
    in_size, out_size = _layer_sizes(in_size, out_size)
    initialize_weights(in_size, out_size, params, name, rng)
    W = params["W" + name] if scale == 1 else scale * params["W" + name]
    params["W" + name] = W.astype(dtype)
    params["b" + name] = params["b" + name].astype(dtype)
    return params


def forward(X, params, name="", activation=sigmoid):
    """X: (N, D); params['W'+name]: (D, M), params['b'+name]: (M,) -> post (N, M).
    Save params['cache_'+name] = (X, pre, post) for backwards."""
    pre = X @ params["W" + name] + params["b" + name]
    post = activation(pre)
    params["cache_" + name] = (X, pre, post)
    return post


def backwards(delta, params, name="", activation_deriv=sigmoid_deriv):
    """delta = dJ/d(post): (N, M); params['cache_'+name] = (X, pre, post) from forward.
    Store params['grad_W'+name]: (D, M) and params['grad_b'+name]: (M,); return dJ/dX: (N, D)."""
    X, pre, post = params["cache_" + name]
    delta_pre = delta * activation_deriv(post)
    params["grad_W" + name] = X.T @ delta_pre
    params["grad_b" + name] = delta_pre.sum(axis=0)
    return delta_pre @ params["W" + name].T


def forward_checked(X: np.ndarray, params: dict, name: str = "", activation: str | Callable = sigmoid,
                    check: bool = True) -> np.ndarray:
    """:func:`forward` for any caller: ``activation`` may be a name from ACTIVATIONS; X is cast
    to W's dtype and, with ``check``, its shape and values are checked (clear errors)."""
    X = _layer_input(X, params["W" + name], name, check)
    return forward(X, params, name, _activation(activation))


def backwards_checked(delta: np.ndarray, params: dict, name: str = "",
                      activation_deriv: str | Callable = sigmoid_deriv) -> np.ndarray:
    """:func:`backwards` for any caller: ``activation_deriv`` may be a name from ACTIVATIONS (its
    derivative is used); a missing cache or a wrongly shaped delta is a clear error."""
    _cache(params, name, delta)
    return backwards(delta, params, name, _activation(activation_deriv, deriv=True))


# --- Losses ----------------------------------------------------------------------------------
def compute_loss_and_acc(y, probs):
    """y: (N, C) one-hot, probs: (N, C) softmax outputs -> (loss, acc), loss summed over the batch.

    loss = -sum_n log probs[n, true class] (a sum, as in the homework; divide by N for the mean),
    acc = fraction of rows whose largest probability is the true class. The gradient of this loss
    with respect to the logits is ``probs - y``.
    """
    loss = -np.sum(y * np.log(probs))
    acc = np.mean(probs.argmax(axis=1) == y.argmax(axis=1))
    return loss, acc


def loss_and_acc_checked(y: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """:func:`compute_loss_and_acc` for any caller: shapes and values checked, a probability of
    exactly 0 read as the smallest positive number (a large finite loss, not inf or nan), and
    Python floats returned."""
    _check_pair("compute_loss_and_acc", y, probs)
    tiny = np.finfo(probs.dtype).tiny if probs.dtype.kind == "f" else 1e-300
    loss, acc = compute_loss_and_acc(y, np.maximum(probs, tiny))
    return float(loss), float(acc)


def squared_error(y: np.ndarray, out: np.ndarray) -> tuple[float, np.ndarray]:
    """Total squared error ``sum (out - y)**2`` and its gradient ``2 (out - y)``; y, out: (N, K)."""
    _check_pair("squared_error", y, out)
    diff = out - y
    return float(np.sum(diff * diff)), 2 * diff


# --- Batches and updates ---------------------------------------------------------------------
def get_random_batches(X, y, batch_size, rng=None):
    """X: (N, D), y: (N, C) -> [(xb, yb), ...], batch_size rows each (the last may be smaller);
    every example exactly once, in a new random order on every call."""
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(X))
    return [(X[order[s:s + batch_size]], y[order[s:s + batch_size]])
            for s in range(0, len(X), batch_size)]


def batches_checked(X: np.ndarray, y: np.ndarray, batch_size: int,
                    rng: np.random.Generator | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`get_random_batches` after checking that X and y pair up and batch_size is a
    positive integer (clear errors)."""
    _check_batch_args(X, y, batch_size)
    return get_random_batches(X, y, int(batch_size), rng)


def _trainable(params: dict) -> list[str]:
    """Keys that have a gradient: 'W'+name and 'b'+name of every layer seen by backwards."""
    return [k for k in params if not k.startswith(("grad_", "m_", "cache_")) and ("grad_" + k) in params]


def sgd_step(params: dict, lr: float) -> None:
    """Plain gradient descent on every parameter with a gradient: ``W -= lr * grad_W`` (in place)."""
    for k in _trainable(params):
        params[k] -= lr * params["grad_" + k]


def momentum_step(params, lr, mu=0.9):
    """M = mu * M - lr * grad; W += M for every params[key] that has a params['grad_' + key] (in place).

    The accumulators params['m_' + key] (same shape as params[key]) start at zero on the first call.
    """
    for key in [k for k in list(params) if "grad_" + k in params]:
        if "m_" + key not in params:
            params["m_" + key] = np.zeros_like(params[key])
        params["m_" + key] = mu * params["m_" + key] - lr * params["grad_" + key]
        params[key] += params["m_" + key]


def lr_decay(lr0: float, epoch: int, factor: float = 0.9, every: int = 20) -> float:
    """Step decay: ``lr0 * factor ** (epoch // every)`` for epoch 0, 1, ... (x0.9 every 20 epochs)."""
    return lr0 * factor ** (epoch // every) if every else lr0


# --- Gradient checking -----------------------------------------------------------------------
def numerical_gradient(f, param_array, eps=1e-6):
    """f(): the loss, computed from param_array -> dJ/d(param_array), same shape, by central
    differences; param_array is perturbed in place and left as it was."""
    grad = np.zeros(param_array.shape)
    for i in np.ndindex(param_array.shape):        # every entry, as an index tuple
        old = param_array[i]
        param_array[i] = old + eps
        up = f()
        param_array[i] = old - eps
        down = f()
        param_array[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def numerical_gradient_at(f: Callable[[], float], param_array: np.ndarray, eps: float = 1e-6,
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
        init_layer(d_in, d_out, params, name, rng=rng, dtype=dtype, scale=scale)
    return params


def mlp_forward(X, params):
    """X: (N, sizes[0]) -> (N, sizes[-1]): forward through every layer of params['layers'], in order
    (a build_mlp network; each layer keeps its cache for mlp_backwards)."""
    h = X
    for name, activation in params["layers"]:
        h = forward(h, params, name, ACTIVATIONS[activation][0])
    return h


def mlp_backwards(delta, params):
    """delta = dJ/d(output): (N, sizes[-1]) (probs - y for a softmax output with cross-entropy).
    Fills params['grad_W'+name] and params['grad_b'+name] of every layer, the last layer first."""
    for name, activation in reversed(params["layers"]):
        delta = backwards(delta, params, name, ACTIVATIONS[activation][1])


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
        loss, acc = loss_and_acc_checked(Y, out)
        return loss, acc, out - Y
    loss, grad = squared_error(Y, out)
    return loss, float("nan"), grad


def _batch_loss(kind: str, Y: np.ndarray, out: np.ndarray, lr: float) -> tuple[float, float, np.ndarray]:
    """:func:`_loss` of one training batch; an error instead of training on with an infinite loss."""
    loss, acc, delta = _loss(kind, Y, out)
    if not np.isfinite(loss):
        raise FloatingPointError(f"train_epoch: the loss became {loss} (diverged); lower the learning rate (lr={lr})")
    return loss, acc, delta


def train_epoch(X, Y, params, lr, batch_size=32, rng=None):
    """X: (N, D), Y: (N, C) one-hot; params from nn.build_mlp (softmax output).
    One SGD step per mini-batch; returns (loss per example, accuracy) over the epoch."""
    total_loss, total_correct = 0.0, 0.0
    for xb, yb in get_random_batches(X, Y, batch_size, rng):
        probs = mlp_forward(xb, params)
        loss, acc = compute_loss_and_acc(yb, probs)
        mlp_backwards(probs - yb, params)
        for name, _ in params["layers"]:
            params["W" + name] -= lr * params["grad_W" + name]
            params["b" + name] -= lr * params["grad_b" + name]
        total_loss += loss
        total_correct += acc * len(xb)
    return total_loss / len(X), total_correct / len(X)


def train_epoch_general(X: np.ndarray, Y: np.ndarray, params: dict, *, lr: float, batch_size: int = 32,
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
        out = mlp_forward(xb, params)                           # forward
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
        tr_loss, tr_acc = train_epoch_general(X, Y, params, lr=lr_e, batch_size=batch_size, rng=rng, loss=loss,
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
