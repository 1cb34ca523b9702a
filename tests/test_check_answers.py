"""The exercise checks grade like a teaching assistant: every plausible wrong answer is caught, every
correct answer is accepted, however it is written.

Two lists, one entry per answer a student could hand in for a Your-turn function, each run through its
check exactly as the chapter's check cell calls it:

- ``WRONG``: the slips students really make (a sign, an axis, a mean for a sum, a step per epoch, an
  argument changed in place, a hard-coded size or count, the book's own function handed in, ...);
  each must raise :class:`CheckFailed` (a teaching message, never a raw exception);
- ``RIGHT``: correct answers written another way (float32, loops instead of vectorised code, another
  formula with the same value, another library call); each must pass.

``python tests/test_check_answers.py`` prints the counts per check (caught / accepted), the figure the
issue's "before and after" reports.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from skimage import color, filters, measure, morphology, transform

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers import checks, nn, ocr  # noqa: E402
from helpers import compression as C  # noqa: E402
from helpers.checks import CheckFailed  # noqa: E402

torch = pytest.importorskip("torch") if __name__ != "__main__" else __import__("torch")
F = torch.nn.functional
tnn = torch.nn
from helpers import torch_models as tm  # noqa: E402

WRONG: list[tuple[str, str, Callable]] = []   # (check, what the student did, the answer)
RIGHT: list[tuple[str, str, Callable]] = []


def wrong(check: str, label: str, fn: Callable) -> None:
    WRONG.append((check, label, fn))


def right(check: str, label: str, fn: Callable) -> None:
    RIGHT.append((check, label, fn))


# ==============================================================================================
# sigmoid
# ==============================================================================================
def _sig(x):
    return 1 / (1 + np.exp(-x))


def _sig_inplace(x):
    x *= -1                                   # the caller's array is negated
    return 1 / (1 + np.exp(x))


def _sig_loop(x):
    out = np.empty(np.shape(x))
    for i, v in np.ndenumerate(np.asarray(x)):
        out[i] = 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
    return out


def _sig_stable_where(x):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


wrong("sigmoid", "sign flipped", lambda x: 1 / (1 + np.exp(x)))
wrong("sigmoid", "exp(x) / (1 + exp(x)) overflows", lambda x: np.exp(x) / (1 + np.exp(x)))
wrong("sigmoid", "math.exp on an array", lambda x: 1 / (1 + math.exp(-x)))
wrong("sigmoid", "flattened", lambda x: _sig(x.ravel()))
wrong("sigmoid", "tanh instead", np.tanh)
wrong("sigmoid", "in place (x *= -1)", _sig_inplace)
wrong("sigmoid", "e rounded to 2.718", lambda x: 1 / (1 + 2.718 ** (-x)))
wrong("sigmoid", "e rounded to 2.71828", lambda x: 1 / (1 + 2.71828 ** (-x)))
wrong("sigmoid", "clipped at +-10", lambda x: _sig(np.clip(x, -10, 10)))
wrong("sigmoid", "linear approximation", lambda x: np.clip(0.5 + x / 4, 0, 1))
wrong("sigmoid", "hard-coded to the (2, 5) example", lambda x: nn.sigmoid(x) if np.shape(x) == (2, 5)
      else np.round(nn.sigmoid(x)))
wrong("sigmoid", "float16", lambda x: _sig(x.astype(np.float16)))
wrong("sigmoid", "the book's own nn.sigmoid", nn.sigmoid)
right("sigmoid", "plain", _sig)
right("sigmoid", "float32", lambda x: (1 / (1 + np.exp(-x.astype(np.float32)))))
right("sigmoid", "via tanh", lambda x: 0.5 * (1 + np.tanh(x / 2)))
right("sigmoid", "a loop with math.exp, stable", _sig_loop)
right("sigmoid", "np.where, both branches", _sig_stable_where)
right("sigmoid", "exp(-logaddexp(0, -x))", lambda x: np.exp(-np.logaddexp(0, -x)))


# ==============================================================================================
# initialize_weights
# ==============================================================================================
def _init(i, o, params, name=""):
    a = np.sqrt(6 / (i + o))
    params["W" + name] = np.random.default_rng().uniform(-a, a, (i, o))
    params["b" + name] = np.zeros(o)


def _init_with(draw, bias=None):
    def fn(in_size, out_size, params, name=""):
        params["W" + name] = draw(in_size, out_size)
        params["b" + name] = np.zeros(out_size) if bias is None else bias(out_size)
    return fn


def _init_reseeded(i, o, params, name=""):
    np.random.seed(0)
    a = np.sqrt(6 / (i + o))
    params["W" + name], params["b" + name] = np.random.uniform(-a, a, (i, o)), np.zeros(o)


def _init_new_dict(i, o, params, name=""):
    params = {}
    _init(i, o, params, name)


def _init_no_name(i, o, params, name=""):
    _init(i, o, params, "")


def _init_f32(i, o, params, name=""):
    a = np.float32(math.sqrt(6 / (i + o)))
    params["W" + name] = np.random.default_rng().uniform(-a, a, (i, o)).astype(np.float32)
    params["b" + name] = np.zeros(o, dtype=np.float32)


def _init_loop(i, o, params, name=""):
    a = math.sqrt(6.0 / (i + o))
    W = np.empty((i, o))
    for r in range(i):
        for c in range(o):
            W[r, c] = np.random.uniform(-a, a)
    params["W" + name], params["b" + name] = W, np.zeros(o)


_a = lambda i, o: np.sqrt(6 / (i + o))  # noqa: E731
wrong("initialize_weights", "randn unscaled", _init_with(lambda i, o: np.random.randn(i, o)))
wrong("initialize_weights", "normal with Xavier's variance",
      _init_with(lambda i, o: np.random.normal(0, np.sqrt(2 / (i + o)), (i, o))))
wrong("initialize_weights", "uniform, bound sqrt(6 / in_size)",
      _init_with(lambda i, o: np.random.uniform(-np.sqrt(6 / i), np.sqrt(6 / i), (i, o))))
wrong("initialize_weights", "uniform, bound sqrt(1 / (in + out))",
      _init_with(lambda i, o: np.random.uniform(-np.sqrt(1 / (i + o)), np.sqrt(1 / (i + o)), (i, o))))
wrong("initialize_weights", "uniform in [0, a]", _init_with(lambda i, o: np.random.uniform(0, _a(i, o), (i, o))))
wrong("initialize_weights", "biases 0.01", _init_with(lambda i, o: np.random.uniform(-_a(i, o), _a(i, o), (i, o)),
                                                       bias=lambda o: np.full(o, 0.01)))
wrong("initialize_weights", "W (out, in)", _init_with(lambda i, o: np.random.uniform(-_a(i, o), _a(i, o), (o, i))))
wrong("initialize_weights", "b (1, out)", _init_with(lambda i, o: np.random.uniform(-_a(i, o), _a(i, o), (i, o)),
                                                      bias=lambda o: np.zeros((1, o))))
wrong("initialize_weights", "all weights equal", _init_with(lambda i, o: np.full((i, o), _a(i, o) / 2)))
wrong("initialize_weights", "reseeds inside (np.random.seed(0))", _init_reseeded)
wrong("initialize_weights", "fills a new dict", _init_new_dict)
wrong("initialize_weights", "ignores name", _init_no_name)
wrong("initialize_weights", "the book's own nn.initialize_weights", nn.initialize_weights)
right("initialize_weights", "plain", _init)
right("initialize_weights", "np.random.uniform", _init_with(lambda i, o: np.random.uniform(-_a(i, o), _a(i, o),
                                                                                          (i, o))))
right("initialize_weights", "(2 rand - 1) a", _init_with(lambda i, o: (2 * np.random.rand(i, o) - 1) * _a(i, o)))
right("initialize_weights", "float32", _init_f32)
right("initialize_weights", "a loop, one draw at a time", _init_loop)


# ==============================================================================================
# forward
# ==============================================================================================
def _fwd(X, params, name="", activation=nn.sigmoid):
    pre = X @ params["W" + name] + params["b" + name]
    post = activation(pre)
    params["cache_" + name] = (X, pre, post)
    return post


def _fwd_variant(pre_fn=None, act_fn=None, cache_fn=None):
    def forward(X, params, name="", activation=nn.sigmoid):
        W, b = params["W" + name], params["b" + name]
        pre = pre_fn(X, W, b) if pre_fn else X @ W + b
        post = act_fn(pre, activation) if act_fn else activation(pre)
        params["cache_" + name] = cache_fn(X, pre, post) if cache_fn else (X, pre, post)
        return post
    return forward


def _fwd_centres_X(X, params, name="", activation=nn.sigmoid):
    X -= X.mean(axis=0)
    return _fwd(X, params, name, activation)


def _fwd_loop(X, params, name="", activation=nn.sigmoid):
    W, b = params["W" + name], params["b" + name]
    pre = np.zeros((X.shape[0], W.shape[1]))
    for n in range(X.shape[0]):
        for m in range(W.shape[1]):
            pre[n, m] = sum(X[n, d] * W[d, m] for d in range(X.shape[1])) + b[m]
    post = activation(pre)
    params["cache_" + name] = [X, pre, post]
    return post


wrong("forward", "no bias", _fwd_variant(pre_fn=lambda X, W, b: X @ W))
wrong("forward", "no activation", _fwd_variant(act_fn=lambda pre, act: pre))
wrong("forward", "always the sigmoid", _fwd_variant(act_fn=lambda pre, act: nn.sigmoid(pre)))
wrong("forward", "no cache", lambda X, params, name="", activation=nn.sigmoid:
      activation(X @ params["W" + name] + params["b" + name]))
wrong("forward", "cache (X, post, pre)", _fwd_variant(cache_fn=lambda X, pre, post: (X, post, pre)))
wrong("forward", "W transposed", _fwd_variant(pre_fn=lambda X, W, b: X @ W.T + b))
def _bias_after(X, params, name="", activation=nn.sigmoid):
    pre = X @ params["W" + name]
    post = activation(pre) + params["b" + name]
    params["cache_" + name] = (X, pre, post)
    return post


wrong("forward", "bias after the activation", _bias_after)
wrong("forward", "cache (X, pre) only", _fwd_variant(cache_fn=lambda X, pre, post: (X, pre)))
wrong("forward", "centres X in place", _fwd_centres_X)
wrong("forward", "ignores name (params['W'])", lambda X, params, name="", activation=nn.sigmoid:
      _fwd(X, params, "", activation))
wrong("forward", "the book's own nn.forward", nn.forward)
right("forward", "plain", _fwd)
right("forward", "np.dot", _fwd_variant(pre_fn=lambda X, W, b: np.dot(X, W) + b))
right("forward", "float32", _fwd_variant(pre_fn=lambda X, W, b: X.astype(np.float32) @ W.astype(np.float32)
                                         + b.astype(np.float32)))
right("forward", "loops, cache as a list", _fwd_loop)
right("forward", "einsum", _fwd_variant(pre_fn=lambda X, W, b: np.einsum("nd,dm->nm", X, W) + b[None, :]))


# ==============================================================================================
# backwards
# ==============================================================================================
def _bwd(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
    X, pre, post = params["cache_" + name]
    d = delta * activation_deriv(post)
    params["grad_W" + name] = X.T @ d
    params["grad_b" + name] = d.sum(axis=0)
    return d @ params["W" + name].T


def _bwd_variant(slope=None, gW=None, gb=None, dX=None):
    def backwards(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
        X, pre, post = params["cache_" + name]
        W = params["W" + name]
        d = slope(delta, pre, post, activation_deriv) if slope else delta * activation_deriv(post)
        params["grad_W" + name] = gW(X, d, delta) if gW else X.T @ d
        params["grad_b" + name] = gb(d, delta) if gb else d.sum(axis=0)
        return dX(d, W, delta) if dX else d @ W.T
    return backwards


def _bwd_inplace(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
    X, pre, post = params["cache_" + name]
    delta *= activation_deriv(post)           # the caller's delta is overwritten
    params["grad_W" + name] = X.T @ delta
    params["grad_b" + name] = delta.sum(axis=0)
    return delta @ params["W" + name].T


def _bwd_loop(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
    X, _, post = params["cache_" + name]
    W = params["W" + name]
    gW, gb, dX = np.zeros_like(W), np.zeros(W.shape[1]), np.zeros_like(X)
    for n in range(len(X)):
        d = delta[n] * activation_deriv(post[n])
        gW += np.outer(X[n], d)
        gb += d
        dX[n] = W @ d
    params["grad_W" + name], params["grad_b" + name] = gW, gb
    return dX


def _bwd_not_stored(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
    return _bwd(delta, dict(params), name, activation_deriv)


def _bwd_f32(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
    X, _, post = (np.asarray(a, np.float32) for a in params["cache_" + name])
    d = delta.astype(np.float32) * activation_deriv(post)
    params["grad_W" + name] = X.T @ d
    params["grad_b" + name] = d.sum(axis=0)
    return d @ params["W" + name].astype(np.float32).T


wrong("backwards", "no slope", _bwd_variant(slope=lambda delta, pre, post, f: delta))
wrong("backwards", "slope of pre", _bwd_variant(slope=lambda delta, pre, post, f: delta * f(pre)))
wrong("backwards", "sigmoid's slope hard-coded", _bwd_variant(slope=lambda delta, pre, post, f:
                                                             delta * post * (1 - post)))
wrong("backwards", "grad_W transposed", _bwd_variant(gW=lambda X, d, delta: d.T @ X))
wrong("backwards", "grad_b the mean", _bwd_variant(gb=lambda d, delta: d.mean(axis=0)))
wrong("backwards", "dX with W untransposed", _bwd_variant(dX=lambda d, W, delta: d @ W))
wrong("backwards", "dX without the slope", _bwd_variant(dX=lambda d, W, delta: delta @ W.T))
wrong("backwards", "dX doubled", _bwd_variant(dX=lambda d, W, delta: 2 * d @ W.T))
wrong("backwards", "gradients not stored in params", _bwd_not_stored)
wrong("backwards", "delta *= slope, in place", _bwd_inplace)
wrong("backwards", "grad_b summed over the wrong axis", _bwd_variant(gb=lambda d, delta: d.sum(axis=1)))
wrong("backwards", "the book's own nn.backwards", nn.backwards)
right("backwards", "plain", _bwd)
right("backwards", "a loop over examples", _bwd_loop)
right("backwards", "float32", _bwd_f32)
right("backwards", "einsum and ones @ d", _bwd_variant(gW=lambda X, d, delta: np.einsum("nd,nm->dm", X, d),
                                                       gb=lambda d, delta: np.ones(len(d)) @ d))


# ==============================================================================================
# softmax
# ==============================================================================================
def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_inplace(x):
    x -= x.max(axis=1, keepdims=True)         # the caller's logits are shifted
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


def _softmax_loop(x):
    out = np.empty(x.shape)
    for n, row in enumerate(x):
        e = [math.exp(v - max(row)) for v in row]
        out[n] = [v / sum(e) for v in e]
    return out


def _softmax_lse(x):
    m = x.max(axis=1, keepdims=True)
    return np.exp(x - (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True))))


def _shifted(shift):
    def softmax(x):
        e = np.exp(x - shift(x))
        return e / e.sum(axis=1, keepdims=True)
    return softmax


wrong("softmax", "no shift: overflows", _shifted(lambda x: 0))
wrong("softmax", "subtracts the row mean", _shifted(lambda x: x.mean(axis=1, keepdims=True)))
wrong("softmax", "subtracts the row minimum", _shifted(lambda x: x.min(axis=1, keepdims=True)))
wrong("softmax", "subtracts the global max", _shifted(lambda x: x.max()))
wrong("softmax", "normalises the columns", lambda x: (lambda e: e / e.sum(axis=0, keepdims=True))(
    np.exp(x - x.max(axis=0, keepdims=True))))
wrong("softmax", "no keepdims", lambda x: np.exp(x - x.max(axis=1)) / np.exp(x - x.max(axis=1)).sum(axis=1))
wrong("softmax", "not normalised", lambda x: np.exp(x - x.max(axis=1, keepdims=True)))
wrong("softmax", "divides by the sum of the whole array", lambda x: (lambda e: e / e.sum())(
    np.exp(x - x.max(axis=1, keepdims=True))))
wrong("softmax", "in place (x -= max)", _softmax_inplace)
wrong("softmax", "exp(-x)", lambda x: _softmax(-x))
wrong("softmax", "log-softmax returned", lambda x: np.log(_softmax(x)))
wrong("softmax", "the book's own nn.softmax", nn.softmax)
right("softmax", "plain", _softmax)
right("softmax", "float32", lambda x: _softmax(x.astype(np.float32)))
right("softmax", "a loop over rows with math.exp", _softmax_loop)
right("softmax", "log-sum-exp", _softmax_lse)
right("softmax", "sum(axis=1)[:, None]", lambda x: (lambda e: e / e.sum(axis=1)[:, None])(
    np.exp(x - x.max(axis=1)[:, None])))


# ==============================================================================================
# compute_loss_and_acc
# ==============================================================================================
def _loss(y, p):
    return -np.sum(y * np.log(p)), np.mean(p.argmax(axis=1) == y.argmax(axis=1))


def _loss_eps_inplace(y, p):
    p += 1e-9                                 # the caller's probabilities are changed in place
    return _loss(y, p)


def _loss_loop(y, p):
    loss, correct = 0.0, 0
    for n in range(len(y)):
        c = int(np.argmax(y[n]))
        loss -= math.log(p[n, c])
        correct += int(np.argmax(p[n]) == c)
    return loss, correct / len(y)


wrong("compute_loss_and_acc", "mean over the batch", lambda y, p: (_loss(y, p)[0] / len(y), _loss(y, p)[1]))
wrong("compute_loss_and_acc", "sign", lambda y, p: (np.sum(y * np.log(p)), _loss(y, p)[1]))
wrong("compute_loss_and_acc", "every class's log", lambda y, p: (-np.sum(np.log(p)), _loss(y, p)[1]))
wrong("compute_loss_and_acc", "accuracy a count", lambda y, p: (_loss(y, p)[0], _loss(y, p)[1] * len(y)))
wrong("compute_loss_and_acc", "accuracy over axis 0", lambda y, p: (_loss(y, p)[0],
                                                                    np.mean(p.argmax(0) == y.argmax(0))))
wrong("compute_loss_and_acc", "only the loss", lambda y, p: _loss(y, p)[0])
wrong("compute_loss_and_acc", "log10", lambda y, p: (-np.sum(y * np.log10(p)), _loss(y, p)[1]))
wrong("compute_loss_and_acc", "binary cross-entropy", lambda y, p: (
    -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)), _loss(y, p)[1]))
wrong("compute_loss_and_acc", "accuracy in percent", lambda y, p: (_loss(y, p)[0], 100 * _loss(y, p)[1]))
wrong("compute_loss_and_acc", "the predicted class's log", lambda y, p: (-np.sum(np.log(p.max(axis=1))),
                                                                         _loss(y, p)[1]))
wrong("compute_loss_and_acc", "adds eps to probs in place", _loss_eps_inplace)
wrong("compute_loss_and_acc", "the book's own nn.compute_loss_and_acc", nn.compute_loss_and_acc)
right("compute_loss_and_acc", "plain", _loss)
right("compute_loss_and_acc", "log(p + 1e-9)", lambda y, p: (-np.sum(y * np.log(p + 1e-9)), _loss(y, p)[1]))
right("compute_loss_and_acc", "fancy indexing", lambda y, p: (
    -np.log(p[np.arange(len(y)), y.argmax(1)]).sum(), float(np.sum(p.argmax(1) == y.argmax(1))) / len(y)))
right("compute_loss_and_acc", "a loop", _loss_loop)
right("compute_loss_and_acc", "float32 probabilities", lambda y, p: _loss(y.astype(np.float32),
                                                                          p.astype(np.float32)))


# ==============================================================================================
# numerical_gradient
# ==============================================================================================
def _numgrad(f, p, eps=1e-6):
    grad = np.zeros(p.shape)
    for i in np.ndindex(p.shape):
        old = p[i]
        p[i] = old + eps
        up = f()
        p[i] = old - eps
        down = f()
        p[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def _numgrad_flat(f, p, eps=1e-6):
    flat, grad = p.reshape(-1), np.zeros(p.size)   # a view: writing it perturbs p
    for k in range(p.size):
        old = float(flat[k])
        flat[k] = old + eps
        up = f()
        flat[k] = old - eps
        grad[k] = (up - f()) / (2 * eps)
        flat[k] = old
    return grad.reshape(p.shape)


def _numgrad_nditer(f, p, eps=1e-5):
    grad = np.zeros_like(p)
    it = np.nditer(p, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = p[i].copy()
        p[i] = old + eps
        up = f()
        p[i] = old - eps
        down = f()
        p[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def _ng_one_sided(f, p, eps=1e-6):
    grad, base = np.zeros_like(p), f()
    for i in np.ndindex(p.shape):
        old = p[i]
        p[i] = old + eps
        grad[i] = (f() - base) / eps
        p[i] = old
    return grad


def _ng_not_restored(f, p, eps=1e-6):
    grad = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        p[i] += eps
        up = f()
        p[i] -= 2 * eps
        grad[i] = (up - f()) / (2 * eps)
    return grad


def _ng_all_at_once(f, p, eps=1e-6):
    grad = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        p += eps
        up = f()
        p -= 2 * eps
        down = f()
        p += eps
        grad[i] = (up - down) / (2 * eps)
    return grad


def _ng_over_eps(f, p, eps=1e-6):
    return _numgrad(f, p, eps) * 2


def _ng_rebinds(f, p, eps=1e-6):
    grad = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        q = p.copy()
        q[i] += eps
        up = f()
        q[i] -= 2 * eps
        grad[i] = (up - f()) / (2 * eps)
    return grad


wrong("numerical_gradient", "one-sided differences", _ng_one_sided)
wrong("numerical_gradient", "entries left perturbed", _ng_not_restored)
wrong("numerical_gradient", "perturbs a copy", _ng_rebinds)
wrong("numerical_gradient", "flattened result", lambda f, p, eps=1e-6: _numgrad(f, p, eps).ravel())
wrong("numerical_gradient", "eps = 1e-2", lambda f, p, eps=1e-6: _numgrad(f, p, 1e-2))
wrong("numerical_gradient", "divides by eps, not 2 eps", _ng_over_eps)
wrong("numerical_gradient", "perturbs every entry at once", _ng_all_at_once)
wrong("numerical_gradient", "transposed result", lambda f, p, eps=1e-6: _numgrad(f, p, eps).T)
wrong("numerical_gradient", "the book's own nn.numerical_gradient", nn.numerical_gradient)
right("numerical_gradient", "plain", _numgrad)
right("numerical_gradient", "a flat view", _numgrad_flat)
right("numerical_gradient", "nditer, eps = 1e-5", _numgrad_nditer)


# ==============================================================================================
# get_random_batches
# ==============================================================================================
def _batches(X, y, batch_size, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(X))
    return [(X[order[s:s + batch_size]], y[order[s:s + batch_size]]) for s in range(0, len(X), batch_size)]


def _batches_split(X, y, batch_size, rng=None):
    idx = np.random.permutation(len(X)) if rng is None else rng.permutation(len(X))
    return [(X[i], y[i]) for i in np.array_split(idx, range(batch_size, len(X), batch_size))]


def _batches_generator(X, y, batch_size, rng=None):
    idx = np.arange(len(X))
    (rng or np.random.default_rng()).shuffle(idx)
    s = 0
    while s < len(X):
        yield X[idx[s:s + batch_size]], y[idx[s:s + batch_size]]
        s += batch_size


def _batches_homework(X, y, batch_size):        # the homework's signature, no rng
    idx = np.random.permutation(len(X))
    return [(X[idx[s:s + batch_size]], y[idx[s:s + batch_size]]) for s in range(0, len(X), batch_size)]


def _gb_shuffles_X(X, y, batch_size, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(X))
    X[:], y[:] = X[order], y[order]             # the caller's arrays are reordered
    return [(X[s:s + batch_size], y[s:s + batch_size]) for s in range(0, len(X), batch_size)]


def _gb_ignores_rng(X, y, batch_size, rng=None):
    order = np.random.permutation(len(X))
    return [(X[order[s:s + batch_size]], y[order[s:s + batch_size]]) for s in range(0, len(X), batch_size)]


def _gb_drop_last(X, y, batch_size, rng=None):
    return _batches(X, y, batch_size, rng)[:len(X) // batch_size]


def _gb_replacement(X, y, batch_size, rng=None):
    idx = np.random.randint(0, len(X), len(X))
    return [(X[idx[s:s + batch_size]], y[idx[s:s + batch_size]]) for s in range(0, len(X), batch_size)]


def _gb_separately(X, y, batch_size, rng=None):
    ix, iy = np.random.permutation(len(X)), np.random.permutation(len(X))
    return [(X[ix[s:s + batch_size]], y[iy[s:s + batch_size]]) for s in range(0, len(X), batch_size)]


def _gb_equal_split(X, y, batch_size, rng=None):
    idx = np.random.permutation(len(X))
    return [(X[i], y[i]) for i in np.array_split(idx, math.ceil(len(X) / batch_size))]


def _gb_off_by_one(X, y, batch_size, rng=None):
    idx = np.random.permutation(len(X))
    return [(X[idx[s:s + batch_size]], y[idx[s:s + batch_size]]) for s in range(0, len(X) - batch_size, batch_size)]


wrong("get_random_batches", "drops the last batch", _gb_drop_last)
wrong("get_random_batches", "with replacement", _gb_replacement)
wrong("get_random_batches", "in order", lambda X, y, b, rng=None: [(X[s:s + b], y[s:s + b])
                                                                    for s in range(0, len(X), b)])
wrong("get_random_batches", "X and y shuffled separately", _gb_separately)
wrong("get_random_batches", "seeded inside", lambda X, y, b, rng=None: _batches(X, y, b, np.random.default_rng(0)))
wrong("get_random_batches", "np.array_split into equal parts", _gb_equal_split)
wrong("get_random_batches", "returns None", lambda X, y, b, rng=None: None)
wrong("get_random_batches", "shuffles X and y in place", _gb_shuffles_X)
wrong("get_random_batches", "ignores rng", _gb_ignores_rng)
wrong("get_random_batches", "range stops a batch early", _gb_off_by_one)
wrong("get_random_batches", "(yb, xb) pairs", lambda X, y, b, rng=None: [(yb, xb) for xb, yb in _batches(X, y, b, rng)])
wrong("get_random_batches", "the book's own nn.get_random_batches", nn.get_random_batches)
right("get_random_batches", "plain", _batches)
right("get_random_batches", "array_split at the cuts", _batches_split)
right("get_random_batches", "a generator with while", _batches_generator)
right("get_random_batches", "the homework's signature (no rng)", _batches_homework)


# ==============================================================================================
# train_epoch (chapter 3, numpy)
# ==============================================================================================
def _train(X, Y, params, lr, batch_size=32, rng=None):
    total_loss, total_correct = 0.0, 0.0
    for xb, yb in nn.get_random_batches(X, Y, batch_size, rng):
        probs = nn.mlp_forward(xb, params)
        loss, acc = nn.compute_loss_and_acc(yb, probs)
        nn.mlp_backwards(probs - yb, params)
        for name, _ in params["layers"]:
            params["W" + name] -= lr * params["grad_W" + name]
            params["b" + name] -= lr * params["grad_b" + name]
        total_loss += loss
        total_correct += acc * len(xb)
    return total_loss / len(X), total_correct / len(X)


def _train_variant(step=None, data=None, delta=None, finish=None, after_loop=None, batches=None):
    """The plain loop with one piece changed."""
    def train_epoch(X, Y, params, lr, batch_size=32, rng=None):
        total, correct, losses = 0.0, 0.0, []
        got = batches(X, Y, batch_size, rng) if batches else nn.get_random_batches(X, Y, batch_size, rng)
        for xb, yb in got:
            xin, yin = data(X, Y, xb, yb) if data else (xb, yb)
            probs = nn.mlp_forward(xin, params)
            loss, acc = nn.compute_loss_and_acc(yin, probs)
            nn.mlp_backwards(delta(probs, yin) if delta else probs - yin, params)
            if not after_loop:
                (step or _sgd)(params, lr)
            total += loss
            correct += acc * len(xin)
            losses.append((loss, acc, len(xin)))
        if after_loop:
            after_loop(params, lr)
        return finish(total, correct, losses, len(X)) if finish else (total / len(X), correct / len(X))
    return train_epoch


def _sgd(params, lr):
    for name, _ in params["layers"]:
        params["W" + name] -= lr * params["grad_W" + name]
        params["b" + name] -= lr * params["grad_b" + name]


def _sgd_W_only(params, lr):
    for name, _ in params["layers"]:
        params["W" + name] -= lr * params["grad_W" + name]


def _train_own_shuffle(X, Y, params, lr, batch_size=32, rng=None):
    return _train_variant(batches=lambda X, Y, b, rng: _batches_homework(X, Y, b))(X, Y, params, lr, batch_size, rng)


def _train_f32_steps(params, lr):
    for name, _ in params["layers"]:
        for p in "Wb":
            params[p + name] -= np.float32(lr) * params["grad_" + p + name].astype(np.float32)


def _train_keys(X, Y, params, lr, batch_size=32, rng=None):
    total, correct = 0.0, 0.0
    for xb, yb in nn.get_random_batches(X, Y, batch_size, rng):
        probs = nn.mlp_forward(xb, params)
        loss, acc = nn.compute_loss_and_acc(yb, probs)
        nn.mlp_backwards(probs - yb, params)
        for key in [k for k in params if k.startswith("grad_")]:
            params[key[5:]] = params[key[5:]] - lr * params[key]
        total, correct = total + loss, correct + acc * len(xb)
    return total / len(X), correct / len(X)


wrong("train_epoch", "never updates", _train_variant(step=lambda params, lr: None))
wrong("train_epoch", "averaged gradient", _train_variant(delta=lambda probs, yb: (probs - yb) / len(yb)))
wrong("train_epoch", "one step per epoch", _train_variant(after_loop=_sgd))
wrong("train_epoch", "the whole data set inside the loop", _train_variant(data=lambda X, Y, xb, yb: (X, Y)))
wrong("train_epoch", "summed loss returned", _train_variant(finish=lambda t, c, ls, n: (t, c / n)))
wrong("train_epoch", "uphill", _train_variant(step=lambda params, lr: _sgd(params, -lr)))
wrong("train_epoch", "returns nothing", _train_variant(finish=lambda t, c, ls, n: None))
wrong("train_epoch", "mean of the batch means", _train_variant(
    finish=lambda t, c, ls, n: (float(np.mean([l_ / k for l_, a, k in ls])), c / n)))
wrong("train_epoch", "the last batch's loss", _train_variant(finish=lambda t, c, ls, n: (ls[-1][0] / ls[-1][2],
                                                                                       c / n)))
wrong("train_epoch", "only the weights, not the biases", _train_variant(step=_sgd_W_only))
wrong("train_epoch", "own shuffle, rng ignored", _train_own_shuffle)
wrong("train_epoch", "delta = yb - probs", _train_variant(delta=lambda probs, yb: yb - probs))
wrong("train_epoch", "the book's own nn.train_epoch", nn.train_epoch)
right("train_epoch", "plain", _train)
right("train_epoch", "updates every key with a gradient", _train_keys)
right("train_epoch", "nn.sgd_step", _train_variant(step=nn.sgd_step))
right("train_epoch", "accuracy from the counts", _train_variant(
    finish=lambda t, c, ls, n: (sum(l_ for l_, a, k in ls) / n, sum(a * k for l_, a, k in ls) / n)))


# ==============================================================================================
# findLetters
# ==============================================================================================
def _ink(image, polarity=1, offset=0.0, sigma=1.0):
    gray = filters.gaussian(color.rgb2gray(image), sigma=sigma) if sigma else color.rgb2gray(image)
    t = filters.threshold_otsu(gray) + offset
    return gray < t if polarity > 0 else gray > t


def _boxes(ink, keep=0.2, connectivity=2):
    regions = measure.regionprops(measure.label(ink, connectivity=connectivity))
    median = np.median([r.area for r in regions])
    return np.array([r.bbox for r in regions if r.area > keep * median])


def _letters(image):
    ink = morphology.closing(_ink(image), morphology.disk(1))
    return _boxes(ink), (~ink).astype(np.float32)


def _letters_with(boxes_fn=None, bw_fn=None, ink_fn=None):
    def findLetters(image):
        ink = (ink_fn or (lambda im: morphology.closing(_ink(im), morphology.disk(1))))(image)
        boxes = _boxes(ink)
        return (boxes_fn(boxes) if boxes_fn else boxes), (bw_fn(ink) if bw_fn else (~ink).astype(float))
    return findLetters


def _letters_loop(image):
    ink = morphology.closing(_ink(image, sigma=0.7), morphology.disk(1))
    labels = measure.label(ink, connectivity=2)
    found = []
    for r in measure.regionprops(labels):
        found.append((r.area, r.bbox))
    median = np.median([a for a, _ in found])
    boxes = [list(b) for a, b in found if a >= 0.25 * median]
    return boxes, np.where(ink, 0.0, 1.0)


def _letters_scale_inplace(image):
    image //= 2                                 # the caller's photo is darkened in place
    return _letters(image)


wrong("findLetters", "paper as ink", _letters_with(ink_fn=lambda im: _ink(im, polarity=-1)))
wrong("findLetters", "bw inverted", _letters_with(bw_fn=lambda ink: ink.astype(float)))
wrong("findLetters", "x before y", _letters_with(boxes_fn=lambda b: b[:, [1, 0, 3, 2]]))
wrong("findLetters", "x, y, w, h", _letters_with(boxes_fn=lambda b: np.c_[b[:, 1], b[:, 0], b[:, 3] - b[:, 1],
                                                                        b[:, 2] - b[:, 0]]))
wrong("findLetters", "dilation far too wide", _letters_with(ink_fn=lambda im: morphology.dilation(
    _ink(im), morphology.disk(5))))
wrong("findLetters", "size filter too strict", lambda im: (_boxes(_ink(im), keep=1.1), (~_ink(im)).astype(float)))
wrong("findLetters", "no speck filter", lambda im: (_boxes(_ink(im, sigma=0, offset=0.1), keep=0),
                                                    (~_ink(im)).astype(float)))
wrong("findLetters", "bw 0-255", _letters_with(bw_fn=lambda ink: 255 * (~ink).astype(np.uint8)))
wrong("findLetters", "bw gray levels", lambda im: (_letters(im)[0], color.rgb2gray(im)))
wrong("findLetters", "(bw, boxes)", lambda im: _letters(im)[::-1])
wrong("findLetters", "only the boxes", lambda im: _letters(im)[0])
wrong("findLetters", "inclusive far corner (bbox - [0, 0, 1, 1])",
      _letters_with(boxes_fn=lambda b: b - np.array([0, 0, 1, 1])))
wrong("findLetters", "one pixel too far (bbox + [0, 0, 1, 1])",
      _letters_with(boxes_fn=lambda b: b + np.array([0, 0, 1, 1])))
wrong("findLetters", "darkens the photo in place", _letters_scale_inplace)
wrong("findLetters", "the book's own ocr.findLetters", ocr.findLetters)
right("findLetters", "plain", _letters)
right("findLetters", "a loop, lists, np.where", _letters_loop)
right("findLetters", "bw boolean", _letters_with(bw_fn=lambda ink: ~ink))
right("findLetters", "no smoothing, closing disk(2)", _letters_with(
    ink_fn=lambda im: morphology.closing(_ink(im, sigma=0), morphology.disk(2))))


# ==============================================================================================
# group_lines
# ==============================================================================================
def _lines(boxes, height):
    cy, cx = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    by_y = np.argsort(cy)
    line_of = np.empty(len(boxes), int)
    line_of[by_y] = np.cumsum(np.r_[False, np.diff(cy[by_y]) > 0.5 * height])
    return np.lexsort((cx, line_of)), line_of


def _lines_with(gap=None, key=None, number=None, finish=None, y_cols=(0, 2)):
    def group_lines(boxes, height):
        cy = (boxes[:, y_cols[0]] + boxes[:, y_cols[1]]) / 2
        cx = (boxes[:, 1] + boxes[:, 3]) / 2
        k = cy if key is None else key(boxes)
        by_y = np.argsort(k)
        line_of = np.empty(len(boxes), int)
        line_of[by_y] = np.cumsum(np.r_[False, (gap or (lambda d, h: d > 0.5 * h))(np.diff(k[by_y]), height)])
        if number:
            line_of = number(line_of)
        order = np.lexsort((cx, line_of))
        return finish(order, line_of, cx, cy) if finish else (order, line_of)
    return group_lines


def _lines_three(boxes, height):
    """Always three lines: the two largest jumps of the sorted centres."""
    cy, cx = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    by_y = np.argsort(cy)
    jumps = np.sort(np.argsort(np.diff(cy[by_y]))[-2:])
    line_of = np.empty(len(boxes), int)
    line_of[by_y] = np.searchsorted(jumps, np.arange(len(boxes)), side="left")
    return np.lexsort((cx, line_of)), line_of


def _lines_loop(boxes, height):
    centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, i) for i, b in enumerate(boxes)]
    centres.sort()
    rows, last = [], None
    for cy, cx, i in centres:
        if last is None or cy - last > height / 2:
            rows.append([])
        rows[-1].append((cx, i))
        last = cy
    order, line_of = [], [0] * len(boxes)
    for n, row in enumerate(rows):
        for cx, i in sorted(row):
            order.append(i)
            line_of[i] = n
    return order, line_of


def _lines_sorts_boxes(boxes, height):
    boxes.sort(axis=0)                           # the caller's boxes are scrambled
    return _lines(boxes, height)


def _lines_own_height(boxes, height):
    h = np.median(boxes[:, 2] - boxes[:, 0])     # the height measured from the boxes themselves
    return _lines(boxes, h)


wrong("group_lines", "tops, a few pixels", _lines_with(key=lambda b: b[:, 0].astype(float), gap=lambda d, h: d > 2))
wrong("group_lines", "gap too large", _lines_with(gap=lambda d, h: d > 100))
wrong("group_lines", "x for y", _lines_with(y_cols=(1, 3)))
wrong("group_lines", "bottom to top", _lines_with(number=lambda ln: ln.max() - ln))
wrong("group_lines", "ranks", _lines_with(finish=lambda o, ln, cx, cy: (np.argsort(o), ln)))
wrong("group_lines", "sorted by y in a line", _lines_with(finish=lambda o, ln, cx, cy: (np.lexsort((cy, ln)), ln)))
wrong("group_lines", "right to left", _lines_with(finish=lambda o, ln, cx, cy: (np.lexsort((-cx, ln)), ln)))
wrong("group_lines", "line numbers as order", _lines_with(finish=lambda o, ln, cx, cy: (ln, ln)))
wrong("group_lines", "a list of rows", _lines_with(finish=lambda o, ln, cx, cy: [o[ln[o] == t] for t in np.unique(ln)]))
wrong("group_lines", "fixed 15-pixel gap, height ignored", _lines_with(gap=lambda d, h: d > 15))
wrong("group_lines", "fixed 20-pixel gap, height ignored", _lines_with(gap=lambda d, h: d > 20))
wrong("group_lines", "always three lines", _lines_three)
wrong("group_lines", "lines numbered from 1", _lines_with(number=lambda ln: ln + 1))
wrong("group_lines", "sorts the boxes in place", _lines_sorts_boxes)
wrong("group_lines", "the book's own ocr.group_lines", ocr.group_lines)
right("group_lines", "plain", _lines)
right("group_lines", "lists and loops", _lines_loop)
right("group_lines", "new line beyond 0.8 height", _lines_with(gap=lambda d, h: d > 0.8 * h))
right("group_lines", "height measured from the boxes", _lines_own_height)


# ==============================================================================================
# prepare_crop
# ==============================================================================================
def _crop(bw, box):
    y1, x1, y2, x2 = box
    c = bw[y1:y2, x1:x2]
    h, w = c.shape
    side = int(round(max(h, w) * 32 / 25))
    py, px = side - h, side - w
    square = np.pad(c, ((py // 2, py - py // 2), (px // 2, px - px // 2)), constant_values=1)
    return transform.resize(square, (32, 32), anti_aliasing=True)


def _crop_with(cut=None, factor=32 / 25, where="centre", out=(32, 32), after=None):
    def prepare_crop(bw, box):
        y1, x1, y2, x2 = box
        c = cut(bw, y1, x1, y2, x2) if cut else bw[y1:y2, x1:x2]
        h, w = c.shape
        side = int(round(max(h, w) * factor))
        py, px = side - h, side - w
        pads = ((0, py), (0, px)) if where == "corner" else ((py // 2, py - py // 2), (px // 2, px - px // 2))
        r = transform.resize(np.pad(c, pads, constant_values=1), out, anti_aliasing=True)
        return after(r) if after else r
    return prepare_crop


def _crop_ones(bw, box):
    y1, x1, y2, x2 = (int(v) for v in box)
    h, w = y2 - y1, x2 - x1
    side = round(max(h, w) * 32 / 25)
    square = np.ones((side, side))
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = bw[y1:y2, x1:x2]
    return transform.resize(square, (32, 32), anti_aliasing=True).astype(np.float32)


def _crop_odd_first(bw, box):
    y1, x1, y2, x2 = box
    c = bw[y1:y2, x1:x2]
    h, w = c.shape
    side = int(round(max(h, w) * 32 / 25))
    py, px = side - h, side - w
    square = np.pad(c, ((py - py // 2, py // 2), (px - px // 2, px // 2)), constant_values=1)
    return transform.resize(square, (32, 32), anti_aliasing=False)


def _crop_paints_page(bw, box):
    y1, x1, y2, x2 = box
    c = bw[y1:y2, x1:x2]                         # a view into the caller's page ...
    c[:] = filters.gaussian(c, 0.5)              # ... smoothed in place
    return _crop(bw, box)


wrong("prepare_crop", "stretched, no padding", lambda bw, box: transform.resize(
    bw[box[0]:box[2], box[1]:box[3]], (32, 32), anti_aliasing=True))
wrong("prepare_crop", "square, no margin", _crop_with(factor=1.0))
wrong("prepare_crop", "ink light", _crop_with(after=lambda r: 1 - r))
wrong("prepare_crop", "not square", lambda bw, box: transform.resize(bw[box[0]:box[2], box[1]:box[3]], (32, 24)))
wrong("prepare_crop", "not centred", _crop_with(where="corner"))
wrong("prepare_crop", "transposed", _crop_with(after=lambda r: r.T))
wrong("prepare_crop", "upside down", _crop_with(after=lambda r: r[::-1]))
wrong("prepare_crop", "0-255", _crop_with(after=lambda r: 255 * r))
wrong("prepare_crop", "flattened", _crop_with(after=lambda r: r.ravel()))
wrong("prepare_crop", "28x28", _crop_with(out=(28, 28)))
wrong("prepare_crop", "forgot return", lambda bw, box: None)
wrong("prepare_crop", "writes into the page", _crop_paints_page)
wrong("prepare_crop", "off by one: bw[y1 + 1:y2 + 1, x1 + 1:x2 + 1]",
      _crop_with(cut=lambda bw, y1, x1, y2, x2: bw[y1 + 1:y2 + 1, x1 + 1:x2 + 1]))
wrong("prepare_crop", "off by one: bw[y1 - 1:y2 - 1, x1 - 1:x2 - 1]",
      _crop_with(cut=lambda bw, y1, x1, y2, x2: bw[y1 - 1:y2 - 1, x1 - 1:x2 - 1]))
right("prepare_crop", "plain", _crop)
right("prepare_crop", "paste into np.ones, float32", _crop_ones)
right("prepare_crop", "no anti-aliasing, the odd pixel of padding first", _crop_odd_first)


# ==============================================================================================
# autoencoder_forward / autoencoder_backward (chapter 5)
# ==============================================================================================
def _ae_fwd(X, params):
    h = X
    for name, act in params["layers"]:
        h = nn.forward(h, params, name, nn.ACTIVATIONS[act][0])
    return h


def _ae_fwd_with(acts=None, order=None, bias=True):
    def autoencoder_forward(X, params):
        layers = params["layers"] if order is None else order(params["layers"])
        h = X
        for i, (name, act) in enumerate(layers):
            if not bias:
                params["b" + name] = np.zeros_like(params["b" + name])
            h = nn.forward(h, params, name, nn.ACTIVATIONS[act if acts is None else acts[i]][0])
        return h
    return autoencoder_forward


def _ae_fwd_manual(X, params):
    h = X
    for name, act in params["layers"]:
        pre = h @ params["W" + name] + params["b" + name]
        h = np.maximum(pre, 0) if act == "relu" else 1 / (1 + np.exp(-pre))
    return h


def _ae_fwd_index(X, params):
    out = X
    for i in range(len(params["layers"])):
        name, act = params["layers"][i]
        out = nn.forward(out, params, name, {"relu": nn.relu, "sigmoid": nn.sigmoid}[act])
    return out


def _ae_fwd_all(X, params):
    hs = [X]
    for name, act in params["layers"]:
        hs.append(nn.forward(hs[-1], params, name, nn.ACTIVATIONS[act][0]))
    return hs


wrong("autoencoder_forward", "sigmoid everywhere (the default)", _ae_fwd_with(acts=("sigmoid",) * 4))
wrong("autoencoder_forward", "ReLU everywhere", _ae_fwd_with(acts=("relu",) * 4))
wrong("autoencoder_forward", "no output activation", _ae_fwd_with(acts=("relu", "relu", "relu", "linear")))
wrong("autoencoder_forward", "biases zeroed", _ae_fwd_with(bias=False))
wrong("autoencoder_forward", "no caches (written out by hand)", _ae_fwd_manual)
wrong("autoencoder_forward", "a layer skipped", _ae_fwd_with(order=lambda ls: ls[:1] + ls[2:]))
wrong("autoencoder_forward", "layers reversed", _ae_fwd_with(order=lambda ls: ls[::-1]))
wrong("autoencoder_forward", "every layer's output returned", _ae_fwd_all)
wrong("autoencoder_forward", "the book's own C.autoencoder_forward", C.autoencoder_forward)
right("autoencoder_forward", "plain", _ae_fwd)
right("autoencoder_forward", "index loop, activation functions", _ae_fwd_index)


def _ae_bwd(dout, params):
    for name, act in reversed(params["layers"]):
        dout = nn.backwards(dout, params, name, nn.ACTIVATIONS[act][1])


def _ae_bwd_with(derivs=None, same_delta=False, forward_order=False, scale=1.0, skip_last=False, neg=False):
    def autoencoder_backward(dout, params):
        layers = list(params["layers"]) if forward_order else list(reversed(params["layers"]))
        if skip_last:
            layers = layers[1:]
        delta = scale * dout
        for i, (name, act) in enumerate(layers):
            d = nn.backwards(delta, params, name, nn.ACTIVATIONS[act if derivs is None else derivs[i]][1])
            if neg:
                params["grad_W" + name] = -params["grad_W" + name]
            delta = delta if same_delta else d
    return autoencoder_backward


def _ae_bwd_manual(dout, params):
    delta = dout
    for name, act in params["layers"][::-1]:
        X, pre, post = params["cache_" + name]
        d = delta * (post * (1 - post) if act == "sigmoid" else (post > 0))
        params["grad_W" + name] = X.T @ d
        params["grad_b" + name] = d.sum(0)
        delta = d @ params["W" + name].T
    return delta


wrong("autoencoder_backward", "sigmoid's derivative everywhere (the default)", _ae_bwd_with(derivs=("sigmoid",) * 4))
wrong("autoencoder_backward", "the same dout for every layer", _ae_bwd_with(same_delta=True))
wrong("autoencoder_backward", "first layer first", _ae_bwd_with(forward_order=True))
wrong("autoencoder_backward", "doubled dout", _ae_bwd_with(scale=2.0))
wrong("autoencoder_backward", "the output layer skipped", _ae_bwd_with(skip_last=True))
wrong("autoencoder_backward", "ReLU's derivative everywhere", _ae_bwd_with(derivs=("relu",) * 4))
wrong("autoencoder_backward", "weight gradients negated", _ae_bwd_with(neg=True))
wrong("autoencoder_backward", "the book's own C.autoencoder_backward", C.autoencoder_backward)
right("autoencoder_backward", "plain", _ae_bwd)
right("autoencoder_backward", "chain rule by hand", _ae_bwd_manual)


# ==============================================================================================
# momentum_step
# ==============================================================================================
def _momentum(params, lr, mu=0.9):
    for key in [k for k in list(params) if "grad_" + k in params]:
        if "m_" + key not in params:
            params["m_" + key] = np.zeros_like(params[key])
        params["m_" + key] = mu * params["m_" + key] - lr * params["grad_" + key]
        params[key] += params["m_" + key]


def _momentum_rule(rule, keys=lambda params: [k for k in list(params) if "grad_" + k in params]):
    def momentum_step(params, lr, mu=0.9):
        for key in keys(params):
            M = params.setdefault("m_" + key, np.zeros_like(params[key]))
            params["m_" + key], params[key] = rule(M, params[key], params["grad_" + key], lr, mu)
    return momentum_step


def _momentum_aliases_grad(params, lr, mu=0.9):
    for key in [k for k in list(params) if "grad_" + k in params]:
        M = params.get("m_" + key)
        if M is None:
            M = params["grad_" + key]            # M is the gradient array itself
            M *= -lr
        else:
            M *= mu
            M -= lr * params["grad_" + key]
        params["m_" + key] = M
        params[key] += M


def _momentum_setdefault(params, lr, mu=0.9):
    for g in [k for k in params if k.startswith("grad_")]:
        key = g[len("grad_"):]
        m = params.setdefault("m_" + key, np.zeros_like(params[key]))
        m *= mu
        m -= lr * params[g]
        params[key] = params[key] + m


wrong("momentum_step", "+lr", _momentum_rule(lambda M, W, g, lr, mu: (mu * M + lr * g, W + mu * M + lr * g)))
wrong("momentum_step", "M not kept", _momentum_rule(lambda M, W, g, lr, mu: (np.zeros_like(M), W - lr * g)))
wrong("momentum_step", "W with the old M", _momentum_rule(lambda M, W, g, lr, mu: (mu * M - lr * g, W + M)))
wrong("momentum_step", "no lr", _momentum_rule(lambda M, W, g, lr, mu: (mu * M - g, W + mu * M - g)))
wrong("momentum_step", "mu = 0.9 always", _momentum_rule(lambda M, W, g, lr, mu: (0.9 * M - lr * g,
                                                                                 W + 0.9 * M - lr * g)))
wrong("momentum_step", "no mu", _momentum_rule(lambda M, W, g, lr, mu: (M - lr * g, W + M - lr * g)))
wrong("momentum_step", "only the weights", _momentum_rule(
    lambda M, W, g, lr, mu: (mu * M - lr * g, W + mu * M - lr * g),
    keys=lambda params: [k for k in list(params) if k.startswith("W") and "grad_" + k in params]))
wrong("momentum_step", "M is the gradient array", _momentum_aliases_grad)
wrong("momentum_step", "the book's own nn.momentum_step", nn.momentum_step)
right("momentum_step", "plain", _momentum)
right("momentum_step", "setdefault, in-place M", _momentum_setdefault)
right("momentum_step", "new arrays each step", _momentum_rule(lambda M, W, g, lr, mu: (mu * M - lr * g,
                                                                                       W + (mu * M - lr * g))))


# ==============================================================================================
# pca_by_svd
# ==============================================================================================
def _pca(X, k):
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, vt[:k], s


def _pca_eigh(X, k):
    mean = X.mean(axis=0)
    Xc = X - mean
    w, v = np.linalg.eigh(Xc.T @ Xc)
    w, v = w[::-1], v[:, ::-1]
    r = min(X.shape)
    return mean, v[:, :k].T, np.sqrt(np.clip(w[:r], 0, None))


def _pca_f32(X, k):
    X32 = X.astype(np.float32)
    mean = X32.mean(axis=0)
    _, s, vt = np.linalg.svd(X32 - mean, full_matrices=False)
    return mean, vt[:k], s


def _pca_inplace(X, k):
    mean = X.mean(axis=0)
    X -= mean                                   # the caller's data is centred in place
    _, s, vt = np.linalg.svd(X, full_matrices=False)
    return mean, vt[:k], s


def _pca_transpose(X, k):
    mean = X.mean(axis=0)
    u, s, _ = np.linalg.svd((X - mean).T, full_matrices=False)
    return mean, u[:, :k].T, s


wrong("pca_by_svd", "not centred", lambda X, k: (X.mean(0), np.linalg.svd(X, full_matrices=False)[2][:k],
                                                 np.linalg.svd(X, compute_uv=False)))
wrong("pca_by_svd", "U instead of V^T", lambda X, k: (lambda m, u, s, vt: (m, u[:, :k].T, s))(
    X.mean(0), *np.linalg.svd(X - X.mean(0), full_matrices=False)))
wrong("pca_by_svd", "(D, k)", lambda X, k: (lambda m, c, s: (m, c.T, s))(*_pca(X, k)))
wrong("pca_by_svd", "the last k", lambda X, k: (lambda m, s, vt: (m, vt[min(X.shape) - k:min(X.shape)], s))(
    X.mean(0), *np.linalg.svd(X - X.mean(0), full_matrices=False)[1:]))
wrong("pca_by_svd", "only k singular values", lambda X, k: (lambda m, c, s: (m, c, s[:k]))(*_pca(X, k)))
wrong("pca_by_svd", "variances s^2", lambda X, k: (lambda m, c, s: (m, c, s ** 2))(*_pca(X, k)))
wrong("pca_by_svd", "rows of S V^T", lambda X, k: (lambda m, c, s: (m, s[:k, None] * c, s))(*_pca(X, k)))
wrong("pca_by_svd", "mean over axis 1", lambda X, k: (lambda m, c, s: (X.mean(axis=1), c, s))(*_pca(X, k)))
wrong("pca_by_svd", "eigh order kept (smallest first)", lambda X, k: (lambda m, w, v: (
    m, v[:, :k].T, np.sqrt(np.clip(w[::-1][:min(X.shape)], 0, None))))(
    X.mean(0), *np.linalg.eigh((X - X.mean(0)).T @ (X - X.mean(0)))))
wrong("pca_by_svd", "centres X in place", _pca_inplace)
wrong("pca_by_svd", "the book's own C.pca_by_svd", C.pca_by_svd)
right("pca_by_svd", "plain", _pca)
right("pca_by_svd", "eigh of the scatter matrix", _pca_eigh)
right("pca_by_svd", "float32", _pca_f32)
right("pca_by_svd", "full_matrices=True", lambda X, k: (lambda m, u, s, vt: (m, vt[:k], s))(
    X.mean(0), *np.linalg.svd(X - X.mean(0))))
right("pca_by_svd", "U of the transposed data", _pca_transpose)


# ==============================================================================================
# train_epoch (chapter 6, PyTorch)
# ==============================================================================================
def _torch_loop(order="zero_grad backward step", train=True, loss_fn=None, finish=None, stop_after=None,
                keep_tensor=False):
    def train_epoch(model, batches, optimizer):
        if train:
            model.train()
        total, correct, n, losses = 0.0, 0, 0, []
        for i, (x, y) in enumerate(batches):
            logits = model(x)
            loss = loss_fn(logits, y) if loss_fn else F.cross_entropy(logits, y)
            for op in order.split():
                {"zero_grad": optimizer.zero_grad, "backward": loss.backward, "step": optimizer.step}[op]()
            total = total + (loss * len(y) if keep_tensor else loss.item() * len(y))
            correct += int((logits.argmax(1) == y).sum())
            n += len(y)
            losses.append(loss.item())
            if stop_after is not None and i + 1 == stop_after:
                break
        return finish(total, correct, n, losses) if finish else (total / n, correct / n)
    return train_epoch


def _torch_class_loss(model, batches, optimizer):
    model.train()
    criterion = tnn.CrossEntropyLoss()
    total, correct, n = torch.zeros(()), torch.zeros(()), 0
    for x, y in batches:
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = criterion(logits, y)
        loss.backward()
        optimizer.step()
        total += loss.detach() * y.size(0)
        correct += (logits.argmax(dim=1) == y).float().sum()
        n += y.size(0)
    return (total / n).item(), (correct / n).item()


wrong("torch_train_epoch", "no zero_grad", _torch_loop(order="backward step"))
wrong("torch_train_epoch", "no model.train()", _torch_loop(train=False))
wrong("torch_train_epoch", "step before backward", _torch_loop(order="zero_grad step backward"))
wrong("torch_train_epoch", "mean of the batch means", _torch_loop(finish=lambda t, c, n, ls: (sum(ls) / len(ls),
                                                                                              c / n)))
wrong("torch_train_epoch", "the last batch's loss", _torch_loop(finish=lambda t, c, n, ls: (ls[-1], c / n)))
wrong("torch_train_epoch", "summed loss", _torch_loop(finish=lambda t, c, n, ls: (t, c / n)))
wrong("torch_train_epoch", "a tensor with its graph", _torch_loop(keep_tensor=True))
wrong("torch_train_epoch", "softmax before cross_entropy", _torch_loop(
    loss_fn=lambda logits, y: F.cross_entropy(F.softmax(logits, dim=1), y)))
wrong("torch_train_epoch", "returns after the first batch", _torch_loop(stop_after=1))
wrong("torch_train_epoch", "accuracy a count", _torch_loop(finish=lambda t, c, n, ls: (t / n, c)))
wrong("torch_train_epoch", "nll_loss on raw logits", _torch_loop(loss_fn=lambda logits, y: F.nll_loss(logits, y)))
wrong("torch_train_epoch", "the book's own tm.train_epoch", tm.train_epoch)
right("torch_train_epoch", "plain", _torch_loop())
right("torch_train_epoch", "zero_grad after step", _torch_loop(order="backward step zero_grad"))
right("torch_train_epoch", "log_softmax + nll_loss", _torch_loop(
    loss_fn=lambda logits, y: F.nll_loss(F.log_softmax(logits, dim=1), y)))
right("torch_train_epoch", "CrossEntropyLoss, tensors summed, set_to_none", _torch_class_loss)


# ==============================================================================================
# replace_head (chapter 6)
# ==============================================================================================
def _head(model, n_classes):
    conv = tnn.Conv2d(model.classifier[1].in_channels, n_classes, kernel_size=1)
    tnn.init.normal_(conv.weight, mean=0.0, std=0.01)
    tnn.init.zeros_(conv.bias)
    model.classifier[1] = conv
    return model


def _head_with(layer=None, init=True, ret=True, fixed=None, after=None):
    def replace_head(model, n_classes):
        n = fixed or n_classes
        conv = layer(n) if layer else tnn.Conv2d(512, n, kernel_size=1)
        if init:
            tnn.init.normal_(conv.weight, mean=0.0, std=0.01)
            if conv.bias is not None:
                tnn.init.zeros_(conv.bias)
        model.classifier[1] = conv
        if after:
            after(model, conv)
        return model if ret else None
    return replace_head


def _head_data(model, n_classes):
    conv = tnn.Conv2d(512, n_classes, (1, 1))
    with torch.no_grad():
        conv.weight.normal_(0, 0.01)
        conv.bias.zero_()
    model.classifier._modules["1"] = conv
    return model


def _head_rebuilt_without_dropout(model, n_classes):
    conv = tnn.Conv2d(512, n_classes, 1)
    tnn.init.normal_(conv.weight, std=0.01)
    tnn.init.zeros_(conv.bias)
    model.classifier = tnn.Sequential(conv, tnn.ReLU(inplace=True), tnn.AdaptiveAvgPool2d(1))
    return model


def _head_rebuilt(model, n_classes):
    conv = tnn.Conv2d(512, n_classes, 1)
    tnn.init.normal_(conv.weight, std=0.01)
    tnn.init.zeros_(conv.bias)
    model.classifier = tnn.Sequential(tnn.Dropout(p=0.5), conv, tnn.ReLU(inplace=True), tnn.AdaptiveAvgPool2d(1))
    return model


def _head_new_network(model, n_classes):
    torch.manual_seed(0)
    return tm.squeezenet(n_classes)


def _head_freeze(model, conv):
    for p in model.parameters():
        p.requires_grad = False


def _head_frozen(model, conv):
    for p in conv.parameters():
        p.requires_grad = False


def _head_relabel(model, n_classes):
    model.classifier[1].out_channels = n_classes
    return model


def _linear(n):
    layer = tnn.Linear(512, n)
    return layer


wrong("replace_head", "no return", _head_with(ret=False))
wrong("replace_head", "PyTorch's default initialisation", _head_with(init=False))
wrong("replace_head", "n_classes ignored (always 10)", _head_with(fixed=10))
wrong("replace_head", "a 3x3 head", _head_with(layer=lambda n: tnn.Conv2d(512, n, kernel_size=3, padding=1)))
wrong("replace_head", "freezes the whole network", _head_with(after=_head_freeze))
wrong("replace_head", "an nn.Linear head", _head_with(layer=_linear))
wrong("replace_head", "the head frozen", _head_with(after=_head_frozen))
wrong("replace_head", "a new network", _head_new_network)
wrong("replace_head", "classifier rebuilt without its dropout", _head_rebuilt_without_dropout)
wrong("replace_head", "out_channels relabelled", _head_relabel)
wrong("replace_head", "no bias", _head_with(layer=lambda n: tnn.Conv2d(512, n, 1, bias=False)))
wrong("replace_head", "the book's own tm.replace_head", tm.replace_head)
right("replace_head", "plain", _head)
right("replace_head", "weight.normal_ under no_grad, _modules", _head_data)
right("replace_head", "the classifier rebuilt with the same layout", _head_rebuilt)


# ==============================================================================================
# SmallCNN (chapter 6, an nn.Module)
# ==============================================================================================
def _cnn(pre="normalize", pool=None, order="bn relu", conv_bias=False, bn=True, drop=0.25, drop_at="start",
         hidden_relu=True, n_fixed=None, padding=1, softmax=False):
    """A reader's SmallCNN, with one thing changed."""
    class SmallCNN(tnn.Module):
        def __init__(self, n_classes=36):
            super().__init__()
            self.preprocess = tm.Normalize([0.0], [0.3], invert=True)
            layers, c_in = [], 1
            for c in (16, 32, 64):
                block = [tnn.Conv2d(c_in, c, 3, padding=padding, bias=conv_bias)]
                block += [tnn.BatchNorm2d(c)] if bn else []
                block.insert(1 if order == "relu bn" else len(block), tnn.ReLU())
                layers += block + [pool() if pool else tnn.MaxPool2d(2)]
                c_in = c
            self.features = tnn.Sequential(*layers)
            head = [tnn.Flatten()] + ([tnn.Dropout(drop)] if drop and drop_at == "start" else [])
            head += [tnn.Linear(1024 if padding else 256, 64)] + ([tnn.ReLU()] if hidden_relu else [])
            head += [tnn.Dropout(drop)] if drop and drop_at == "end" else []
            self.classifier = tnn.Sequential(*head, tnn.Linear(64, n_fixed or n_classes))

        def forward(self, x):
            x = {"normalize": self.preprocess, "raw": lambda v: v, "no_invert": lambda v: v / 0.3}[pre](x)
            out = self.classifier(self.features(x))
            return F.softmax(out, dim=1) if softmax else out
    return SmallCNN


class _CnnInline(tnn.Module):
    """Separate attributes, functional ReLU and pooling, the input transform written out."""
    def __init__(self, n_classes=36):
        super().__init__()
        self.conv1, self.bn1 = tnn.Conv2d(1, 16, 3, padding=1, bias=False), tnn.BatchNorm2d(16)
        self.conv2, self.bn2 = tnn.Conv2d(16, 32, 3, padding=1, bias=False), tnn.BatchNorm2d(32)
        self.conv3, self.bn3 = tnn.Conv2d(32, 64, 3, padding=1, bias=False), tnn.BatchNorm2d(64)
        self.fc1, self.fc2 = tnn.Linear(64 * 4 * 4, 64), tnn.Linear(64, n_classes)

    def forward(self, x):
        x = (1 - x) / 0.3
        for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)):
            x = F.max_pool2d(F.relu(bn(conv(x))), 2)
        x = F.dropout(x.view(len(x), -1), 0.25, self.training)
        return self.fc2(F.relu(self.fc1(x)))


class _CnnListNotRegistered(tnn.Module):
    """The layers in a plain Python list: not registered, so no parameters."""
    def __init__(self, n_classes=36):
        super().__init__()
        self.layers = [tnn.Conv2d(1, 16, 3, padding=1, bias=False), tnn.BatchNorm2d(16), tnn.ReLU(),
                       tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(16 * 16 * 16, n_classes)]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class _CnnNoSuper(tnn.Module):
    def __init__(self, n_classes=36):
        self.features = tnn.Sequential(tnn.Conv2d(1, 16, 3, padding=1))     # before Module.__init__

    def forward(self, x):
        return self.features(x)


wrong("small_cnn", "no input transform", _cnn(pre="raw"))
wrong("small_cnn", "scaled, not inverted", _cnn(pre="no_invert"))
wrong("small_cnn", "average pooling", _cnn(pool=lambda: tnn.AvgPool2d(2)))
wrong("small_cnn", "ReLU before batch norm", _cnn(order="relu bn"))
wrong("small_cnn", "no ReLU after the hidden layer", _cnn(hidden_relu=False))
wrong("small_cnn", "convolutions with a bias", _cnn(conv_bias=True))
wrong("small_cnn", "no batch norm", _cnn(bn=False))
wrong("small_cnn", "36 classes written in", _cnn(n_fixed=36))
wrong("small_cnn", "no dropout", _cnn(drop=0))
wrong("small_cnn", "dropout 0.5", _cnn(drop=0.5))
wrong("small_cnn", "dropout after the hidden layer", _cnn(drop_at="end"))
wrong("small_cnn", "no padding (sizes 30, 15, 6, 2)", _cnn(padding=0))
wrong("small_cnn", "softmax at the end of forward", _cnn(softmax=True))
wrong("small_cnn", "layers in a Python list", _CnnListNotRegistered)
wrong("small_cnn", "no super().__init__()", _CnnNoSuper)
wrong("small_cnn", "the book's own tm.SmallCNN", tm.SmallCNN)
right("small_cnn", "plain, with Normalize and Sequential", _cnn())
right("small_cnn", "separate layers, F.relu / F.max_pool2d / F.dropout, (1 - x) / 0.3", _CnnInline)
right("small_cnn", "a subclass of the book's class", type("SmallCNN", (tm.SmallCNN,), {}))


# ==============================================================================================
# train_step (chapter 6, PyTorch)
# ==============================================================================================
def _torch_step(order="zero_grad backward step", mode=None, loss_fn=None, returns="ok", sign=1.0,
                zero=lambda model, optimizer: optimizer.zero_grad()):
    def train_step(model, x, y, optimizer):
        if mode == "eval first":
            model.eval()
        logits = model(x)
        loss = sign * (loss_fn(logits, y) if loss_fn else F.cross_entropy(logits, y))
        for op in order.split():
            {"zero_grad": lambda: zero(model, optimizer), "backward": loss.backward, "step": optimizer.step}[op]()
        if mode == "eval after":
            model.eval()
        if returns == "tensor":
            return loss, logits
        if returns == "loss only":
            return loss.item()
        if returns == "after step":
            return F.cross_entropy(model(x), y).item(), logits
        if returns == "logits after":
            return loss.item(), model(x)
        return loss.item(), logits
    return train_step


def _torch_step_module_loss(model, x, y, optimizer):
    criterion = tnn.CrossEntropyLoss()
    optimizer.zero_grad(set_to_none=False)
    logits = model(x)
    loss = criterion(logits, y)
    loss.backward()
    optimizer.step()
    return float(loss.detach()), logits


wrong("torch_train_step", "no zero_grad", _torch_step(order="backward step"))
wrong("torch_train_step", "step before backward", _torch_step(order="zero_grad step backward"))
wrong("torch_train_step", "zero_grad between backward and step", _torch_step(order="backward zero_grad step"))
wrong("torch_train_step", "no step", _torch_step(order="zero_grad backward"))
wrong("torch_train_step", "model.eval() first", _torch_step(mode="eval first"))
wrong("torch_train_step", "model.eval() at the end", _torch_step(mode="eval after"))
wrong("torch_train_step", "softmax before cross_entropy", _torch_step(
    loss_fn=lambda logits, y: F.cross_entropy(F.softmax(logits, dim=1), y)))
wrong("torch_train_step", "summed loss", _torch_step(loss_fn=lambda logits, y: F.cross_entropy(logits, y,
                                                                                                reduction="sum")))
wrong("torch_train_step", "nll_loss on raw logits", _torch_step(loss_fn=lambda logits, y: F.nll_loss(logits, y)))
wrong("torch_train_step", "gradient ascent", _torch_step(sign=-1.0))
wrong("torch_train_step", "returns the loss tensor", _torch_step(returns="tensor"))
wrong("torch_train_step", "returns the loss only", _torch_step(returns="loss only"))
wrong("torch_train_step", "the loss recomputed after the step", _torch_step(returns="after step"))
wrong("torch_train_step", "the logits recomputed after the step", _torch_step(returns="logits after"))
wrong("torch_train_step", "the book's own tm.train_step", tm.train_step)
right("torch_train_step", "plain", _torch_step())
right("torch_train_step", "zero_grad after step", _torch_step(order="backward step zero_grad"))
right("torch_train_step", "model.zero_grad()", _torch_step(zero=lambda model, optimizer: model.zero_grad()))
right("torch_train_step", "CrossEntropyLoss, set_to_none=False, float(loss.detach())", _torch_step_module_loss)
right("torch_train_step", "log_softmax + nll_loss", _torch_step(
    loss_fn=lambda logits, y: F.nll_loss(F.log_softmax(logits, dim=1), y)))


# ==============================================================================================
# running them
# ==============================================================================================
CHECKS = {name: getattr(checks, "check_" + name) for name in {c for c, _, _ in WRONG + RIGHT}}


def outcome(check: str, fn: Callable) -> str:
    """'caught' (CheckFailed), 'passed', or 'crashed: <exception>' (a raw exception escaped the check)."""
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            CHECKS[check](fn)
    except CheckFailed:
        return "caught"
    except Exception as e:  # noqa: BLE001 - the point is to see what escapes
        return f"crashed: {type(e).__name__}: {str(e)[:80]}"
    return "passed"


def _id(entry):
    return f"{entry[0]}-{entry[1]}"


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_lists_are_long_enough():
    per_check = {c: sum(1 for w in WRONG if w[0] == c) for c in CHECKS}
    assert len(WRONG) >= 150 and len(RIGHT) >= 40, (len(WRONG), len(RIGHT))
    assert min(per_check.values()) >= 5, per_check
    assert all(any(r[0] == c for r in RIGHT) for c in CHECKS)


@pytest.mark.parametrize("entry", WRONG, ids=_id)
def test_a_wrong_answer_is_caught(entry):
    check, label, fn = entry
    with pytest.raises(CheckFailed) as err:
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            CHECKS[check](fn)
    assert len(str(err.value)) > 40, f"{label}: a message too short to teach: {err.value}"


@pytest.mark.parametrize("entry", RIGHT, ids=_id)
def test_a_right_answer_is_accepted(entry, capsys):
    check, label, fn = entry
    CHECKS[check](fn)
    assert capsys.readouterr().out.startswith("\u2714")


def main() -> int:
    import collections

    torch.set_num_threads(1)
    caught, rejected = collections.Counter(), collections.Counter()
    for check, label, fn in WRONG:
        r = outcome(check, fn)
        if r == "caught":
            caught[check] += 1
        else:
            print(f"  wrong answer not caught: {check} / {label}: {r}")
    for check, label, fn in RIGHT:
        r = outcome(check, fn)
        if r != "passed":
            rejected[check] += 1
            print(f"  right answer rejected: {check} / {label}: {r}")
    n_wrong = collections.Counter(c for c, _, _ in WRONG)
    n_right = collections.Counter(c for c, _, _ in RIGHT)
    print(f"\n{'check':24s} {'wrong caught':>14s} {'right rejected':>16s}")
    for c in sorted(CHECKS):
        print(f"{c:24s} {caught[c]:>6d} of {n_wrong[c]:<5d} {rejected[c]:>8d} of {n_right[c]:<5d}")
    print(f"{'total':24s} {sum(caught.values()):>6d} of {len(WRONG):<5d} {sum(rejected.values()):>8d} of "
          f"{len(RIGHT):<5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
