"""Checks for chapters 2-3: the numpy network (sigmoid ... training loop, gradient checker).

Each ``check_<name>(fn)`` runs the reader's ``fn`` on small seeded inputs, compares the result with
the book's :mod:`helpers.nn` or with mathematics (central differences, N ln C, ...), prints one
``✔`` line, or raises :class:`CheckFailed` saying what was expected, what came back and, for the
usual mistakes, what probably went wrong. Signatures follow the homework (and ``helpers.nn``):

- ``sigmoid(x)``, ``softmax(x)`` with x: (N, C) logits
- ``initialize_weights(in_size, out_size, params, name='')``
- ``forward(X, params, name='', activation=sigmoid)`` -> post, saves ``params['cache_'+name]``
- ``backwards(delta, params, name='', activation_deriv=sigmoid_deriv)`` -> dL/dX
- ``compute_loss_and_acc(y, probs)`` -> (summed loss, accuracy)
- ``get_random_batches(X, y, batch_size)`` -> [(xb, yb), ...]
- ``train_epoch(X, Y, params, lr=..., batch_size=..., rng=...)`` -> (loss per example, accuracy)
- ``numerical_gradient(f, param_array)`` -> central differences shaped like param_array
"""
from __future__ import annotations

import contextlib
import inspect
from typing import Any, Callable

import numpy as np

from .. import nn
from ._core import CheckFailed, call, call_unchanged, expect_close, expect_shape, fmt_pair, passed, refuse_reference

__all__ = ["check_sigmoid", "check_initialize_weights", "check_forward", "check_softmax",
           "check_compute_loss_and_acc", "check_backwards", "check_get_random_batches", "check_train_epoch",
           "check_numerical_gradient"]


def _call(fn: Callable, *args: Any, name: str, hint: str = "", unchanged: bool = True, dict_arrays: bool = False,
          **kwargs: Any) -> Any:
    """:func:`call_unchanged` (the array arguments must come back as they went in; with
    ``unchanged=False`` plain :func:`call`) with numpy's overflow warnings silenced (the checks judge
    the values) and a hint added to the message when the reader's function crashed on a shape mismatch."""
    try:
        with np.errstate(all="ignore"):
            if not unchanged:
                return call(fn, *args, name=name, **kwargs)
            return call_unchanged(fn, *args, name=name, dict_arrays=dict_arrays, **kwargs)
    except CheckFailed as e:
        text = str(e)
        if hint and ("broadcast" in text or "matmul" in text or "shapes" in text or "aligned" in text):
            raise CheckFailed(f"{text}\n{hint}") from e.__cause__
        raise


def _same(a: Any, b: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """a and b are arrays of one shape with equal values (False for anything else)."""
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _fmt(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a, dtype=np.float64), precision=4, suppress_small=True, separator=", ")


# --- activations and the layer ---------------------------------------------------------------
def check_sigmoid(sigmoid: Callable) -> None:
    """sigmoid(x) elementwise, shape kept, right at x = 0, +-2, ..., on random arrays of other shapes,
    and finite at x = +-1000; x itself left as it was."""
    refuse_reference(sigmoid, nn.sigmoid, "sigmoid", "nn")
    x = np.array([[-3.0, -1.0, 0.0, 0.5, 2.0], [4.0, -0.25, 1.5, -6.0, 10.0]])
    got = expect_shape("sigmoid", _call(sigmoid, x.copy(), name="sigmoid"), x.shape,
                       "sigmoid(x) for x of shape (2, 5) (elementwise: same shape)")
    expected = nn.sigmoid(x)
    if _same(got, 1 - expected):
        raise CheckFailed(f"sigmoid: sigmoid(2) should be {expected[0, 4]:.4f} (the sigmoid rises from 0 to 1), "
                          f"but yours gives {float(got[0, 4]):.4f}, which is sigmoid(-2). Check the sign of the "
                          "exponent.")
    expect_close("sigmoid", got, expected, what="sigmoid(x)", rtol=1e-7,
                 hint="The sigmoid is 1 / (1 + e^-x), with e = np.e exactly (np.exp); sigmoid(0) = 0.5.")
    r = np.random.default_rng(11)
    for shape in ((7, 3), (4,), (2, 3, 4)):
        xr = r.uniform(-8.0, 8.0, shape)
        got_r = expect_shape("sigmoid", _call(sigmoid, xr.copy(), name="sigmoid"), shape,
                             f"sigmoid(x) for random x of shape {shape} (elementwise: same shape)")
        expect_close("sigmoid", got_r, nn.sigmoid(xr), what=f"sigmoid(x) for random x of shape {shape}",
                     hint="The sigmoid is 1 / (1 + e^-x) for every entry, whatever the shape of x.")
    big = np.array([-1000.0, -50.0, 50.0, 1000.0])
    got_big = expect_shape("sigmoid", _call(sigmoid, big.copy(), name="sigmoid"), big.shape,
                           "sigmoid of [-1000, -50, 50, 1000]")
    expect_close("sigmoid", got_big, nn.sigmoid(big), what="sigmoid of the large inputs [-1000, -50, 50, 1000]",
                 rtol=1e-7,
                 hint="For large |x| one of exp(x), exp(-x) overflows to inf. 1 / (1 + exp(-x)) is still right "
                      "(1 / inf = 0), but exp(x) / (1 + exp(x)) gives inf / inf = NaN.")
    passed("sigmoid", "right on 10 values in [-6, 10], on random arrays of 3 other shapes and at +-1000 (no NaN); "
                      "shapes kept, x left as it was")


def check_initialize_weights(initialize_weights: Callable) -> None:
    """Xavier uniform W (in_size, out_size) in +-sqrt(6 / (in + out)), zero biases, stored in params;
    a new draw on every call."""
    refuse_reference(initialize_weights, nn.initialize_weights, "initialize_weights", "nn")
    stats, draws = [], []
    for n_in, n_out, name in ((300, 200, "layer1"), (3, 5, ""), (1024, 36, "output"), (300, 200, "layer1")):
        params: dict = {}
        _call(initialize_weights, n_in, n_out, params, name, name="initialize_weights")
        where = f"initialize_weights({n_in}, {n_out}, params, {name!r})"
        for key in ("W" + name, "b" + name):
            if key not in params:
                raise CheckFailed(f"{where}: params has no key {key!r} afterwards (it holds {sorted(params)}). Store "
                                  "the weights in the dict you are given, as params['W' + name], and the biases as "
                                  "params['b' + name].")
        W = expect_shape("initialize_weights", params["W" + name], (n_in, n_out),
                         f"params[{'W' + name!r}] (in_size, out_size), so that X @ W maps {n_in} inputs to "
                         f"{n_out} outputs,")
        b = expect_shape("initialize_weights", params["b" + name], (n_out,), f"params[{'b' + name!r}] (one per output)")
        if np.any(b != 0):
            raise CheckFailed(f"{where}: the biases should start at zero, but the largest |b| is "
                              f"{float(np.abs(b).max()):.3g}. Only the weights need randomness to break the symmetry.")
        W = W.astype(np.float64)
        a = np.sqrt(6.0 / (n_in + n_out))
        if np.abs(W).max() > a * (1 + 1e-6):
            z = (W - W.mean()) / max(W.std(), 1e-300)
            kurtosis = float(np.mean(z ** 4) - 3) if W.size > 1000 else None   # uniform -1.2, normal 0
            if abs(W.var() - 1) < 0.2 and kurtosis is not None and abs(kurtosis) < 0.3:
                guess = " The variance is about 1 and the values look normal: that is np.random.randn unscaled."
            elif kurtosis is not None and abs(kurtosis) < 0.3:
                guess = (" The values look normally distributed (a bell, with no bound): use the uniform "
                         "distribution, which never leaves [-a, a].")
            elif kurtosis is not None and abs(kurtosis + 1.2) < 0.3:
                guess = (f" The values look uniform, but in [-{float(np.abs(W).max()):.4g}, "
                         f"{float(np.abs(W).max()):.4g}]: check the bound's formula, "
                         "a = sqrt(6 / (in_size + out_size)), both sizes added.")
            else:
                guess = ""
            raise CheckFailed(f"{where}: weights must lie in [-a, a] with a = sqrt(6 / (in_size + out_size)) = "
                              f"{a:.4f}, but the largest |W| is {float(np.abs(W).max()):.4f}.{guess} "
                              "Draw W from the uniform distribution U(-a, a).")
        if n_in > 10:
            target = 2.0 / (n_in + n_out)
            if len(np.unique(W)) < W.size // 2:
                raise CheckFailed(f"{where}: many weights are equal ({len(np.unique(W))} different values among "
                                  f"{W.size}); draw each weight at random, or the units stay identical.")
            if np.abs(W.mean()) > 0.05 * a:
                raise CheckFailed(f"{where}: the weights should be centred at 0, but their mean is {W.mean():.4f}: "
                                  "draw from U(-a, a), not from U(0, a).")
            if not 0.93 < W.var() / target < 1.07:
                raise CheckFailed(f"{where}: the variance of W is {W.var():.3e}, but Xavier initialization gives "
                                  f"a^2 / 3 = 2 / (in_size + out_size) = {target:.3e} (ratio {W.var() / target:.2f}). "
                                  f"Check the scale: a = sqrt(6 / (in_size + out_size)) = {a:.4f}.")
            stats = stats or [W.var(), target, a]
        draws.append(W)
    if np.array_equal(draws[0], draws[-1]):
        raise CheckFailed("initialize_weights: two calls with the same sizes gave exactly the same weights: the "
                          "generator is seeded inside the function (np.random.seed(...) or default_rng(seed)). "
                          "Draw from a generator that is not reseeded on every call, or every layer of one size "
                          "starts the same.")
    passed("initialize_weights", f"W (300, 200) uniform in +-{stats[2]:.4f}, variance {stats[0]:.2e} ~ "
                                 f"2/(300+200) = {stats[1]:.1e}, b zeros; also (3, 5) with name '' and (1024, 36); "
                                 "a new draw on every call")


def check_forward(forward: Callable) -> None:
    """post = activation(X @ W + b) and the cache (X, pre, post), on three random layers; X, W and b
    left as they were."""
    refuse_reference(forward, nn.forward, "forward", "nn")
    r = np.random.default_rng(0)
    cases = [((5, 4, 3), None, "layer1"), ((2, 6, 7), nn.tanh, "hidden"), ((3, 5, 2), nn.softmax, "output")]
    for (N, D, M), act, name in cases:
        X, W, b = r.standard_normal((N, D)), 0.5 * r.standard_normal((D, M)), r.standard_normal(M)
        params = {"W" + name: W.copy(), "b" + name: b.copy()}
        args = (X.copy(), params, name) if act is None else (X.copy(), params, name, act)
        act_name = "sigmoid (the default)" if act is None else act.__name__
        act = nn.sigmoid if act is None else act
        got = _call(forward, *args, name="forward", dict_arrays=True,
                    hint="X @ W multiplies (N, D) by (D, M); the bias (M,) is added to every row.")
        where = f"forward(X {X.shape}, params with W{name} {W.shape}, {name!r}, {act_name})"
        got = expect_shape("forward", got, (N, M), f"the output of {where}")
        pre = X @ W + b
        post = act(pre)
        if not np.allclose(b, 0) and _same(got, act(X @ W)):
            raise CheckFailed(f"{where}: the bias is missing. post = activation(X @ W + b), with "
                              f"b = params['b' + name] added to every row.")
        if _same(got, pre):
            raise CheckFailed(f"{where}: returned the pre-activation X @ W + b; apply the activation to it.")
        if act is not nn.sigmoid and _same(got, nn.sigmoid(pre)):
            raise CheckFailed(f"{where}: applied the sigmoid although the activation argument is {act_name}; "
                              "call the `activation` you are given.")
        if not np.allclose(b, 0) and _same(got, act(X @ W) + b):
            raise CheckFailed(f"{where}: the bias was added after the activation; it belongs inside: "
                              "post = activation(X @ W + b).")
        expect_close("forward", got, post, what=f"the output of {where}", rtol=1e-7)
        cache = params.get("cache_" + name)
        if cache is None:
            raise CheckFailed(f"{where}: params has no 'cache_{name}'. Save params['cache_' + name] = "
                              "(X, pre, post): backwards needs them.")
        if not isinstance(cache, (tuple, list)) or len(cache) != 3:
            size = f" of length {len(cache)}" if hasattr(cache, "__len__") else ""
            raise CheckFailed(f"{where}: params['cache_{name}'] should be the tuple (X, pre, post), got "
                              f"{type(cache).__name__}{size}")
        for i, (part, value) in enumerate(zip(("X", "pre", "post"), (X, pre, post))):
            expect_close("forward", cache[i], value, what=f"the cached {part} (params['cache_{name}'][{i}])",
                         rtol=1e-7, hint="The cache is (X, pre, post) in that order, with "
                                                    "pre = X @ W + b and post = activation(pre).")
    passed("forward", "(5, 4) -> (5, 3), bias, activation and cache right on 3 random layers")


_BIG = np.array([[1000.0, 999.0, 998.0, 0.0], [-1000.0, -1001.0, -1002.0, -1003.0], [0.0, 1.0, 2.0, 3.0]])
_OVERFLOW = np.array([[0.0, 2000.0], [-2000.0, 0.0], [5.0, -5.0]])


def check_softmax(softmax: Callable) -> None:
    """Rows that sum to 1, equal to the book's softmax on random logits of several sizes, no NaN for
    logits of +-1000 and for rows such as [0, 2000]; x left as it was."""
    refuse_reference(softmax, nn.softmax, "softmax", "nn")
    keepdims = "Use keepdims=True, so that the row maxima and sums have shape (N, 1) and broadcast over the row."
    r = np.random.default_rng(1)
    for n, c in ((4, 6), (7, 3), (2, 10)):
        x = 2 * r.standard_normal((n, c))
        what = f"softmax(x) for random logits x of shape ({n}, {c})"
        got = expect_shape("softmax", _call(softmax, x.copy(), name="softmax", hint=keepdims), x.shape, what)
        got = got.astype(np.float64)
        rows, cols = got.sum(axis=1), got.sum(axis=0)
        if np.allclose(cols, 1) and not np.allclose(rows, 1):
            raise CheckFailed(f"softmax: the columns of the result sum to 1 and the rows to {_fmt(rows)}. Normalize "
                              "over axis=1: each row is one example and must become a distribution over its classes.")
        if np.all(np.isfinite(got)) and not np.allclose(rows, 1, rtol=1e-4):
            raise CheckFailed(f"softmax: every row must sum to 1, but the row sums are {_fmt(rows)}. Divide exp(x) "
                              "by the sum over its own row.")
        if np.all(np.isfinite(got)) and _same(got, nn.softmax(-x)):
            raise CheckFailed("softmax: your result is the softmax of -x: the largest logit should get the largest "
                              "probability; exponentiate x itself (after subtracting the row's maximum).")
        expect_close("softmax", got, nn.softmax(x), what=what, rtol=1e-7)
    for big, label in ((_BIG, "large logits (3, 4)"), (_OVERFLOW, "the rows [0, 2000], [-2000, 0], [5, -5]")):
        got = expect_shape("softmax", _call(softmax, big.copy(), name="softmax", hint=keepdims), big.shape,
                           f"softmax of {label}").astype(np.float64)
        bad = [i for i in range(len(big)) if not np.all(np.isfinite(got[i]))]
        if bad:
            i = bad[0]
            if big is _BIG and 0 not in bad:
                why = ("the row with the largest logits is fine but this one is not, so the maximum of the whole "
                       "array was subtracted: subtract each row's own maximum, x.max(axis=1, keepdims=True).")
            elif big is _BIG:
                why = ("exp(1000) overflows to inf and exp(-1000) underflows to 0, so the division gives inf/inf or "
                       "0/0 = NaN. Subtract each row's maximum before exp (softmax(x - c) = softmax(x)): the largest "
                       "exponent is then exp(0) = 1.")
            else:
                why = (f"after your shift an exponent is still as large as {float(np.ptp(big[i])) / 2:g} or more, "
                       "and exp overflows to inf (inf / inf = NaN). Only the row's maximum makes every exponent <= 0: "
                       "subtract x.max(axis=1, keepdims=True), not the mean, the minimum or a constant.")
            raise CheckFailed(f"softmax is not stable for large inputs: for the row {_fmt(big[i])} it returned "
                              f"{_fmt(got[i])}; {why}")
        expect_close("softmax", got, nn.softmax(big), what=f"softmax of {label}", rtol=1e-7)
    passed("softmax", "rows sum to 1 and match on random logits of 3 sizes; stable for logits of +-1000 and "
                      "rows like [0, 2000]; x left as it was")


def check_compute_loss_and_acc(compute_loss_and_acc: Callable) -> None:
    """Cross-entropy summed over the batch and the accuracy, on batches of several sizes and numbers of
    classes; N ln C for uniform probabilities; y and probs left as they were."""
    refuse_reference(compute_loss_and_acc, nn.compute_loss_and_acc, "compute_loss_and_acc", "nn")
    r = np.random.default_rng(2)
    tol = 1e-5                               # float32 probabilities, or log(p + 1e-9), are right answers
    for N, C in ((8, 5), (13, 10), (6, 2)):
        labels = r.integers(0, C, N)
        y = np.eye(C)[labels]
        logits = 1.5 * r.standard_normal((N, C))
        logits[:3] -= 5 * (1 - y[:3])            # the first three examples are classified right for sure,
        logits[3, labels[3]] -= 6                # the fourth wrong (p of its class ~1e-4, not ~1e-6)
        probs = nn.softmax(logits)
        want_loss, want_acc = nn.compute_loss_and_acc(y, probs)
        loss, acc = _two_numbers(compute_loss_and_acc, y, probs, "compute_loss_and_acc(y, probs)")
        where = f"compute_loss_and_acc on a batch of {N} examples with {C} classes"
        if np.isclose(loss, want_loss / N, rtol=tol):
            raise CheckFailed(f"{where}: the loss is {loss:.6g}, the *mean* over the batch; the book (like the "
                              f"homework) uses the sum, -sum_n log p[n, true class] = {want_loss:.6g}. Do not "
                              "divide by N.")
        if np.isclose(loss, -want_loss, rtol=tol):
            raise CheckFailed(f"{where}: the loss is {loss:.6g}, negative; cross-entropy is -sum log p = "
                              f"{want_loss:.6g} (log p <= 0, so the loss is >= 0).")
        if np.isclose(loss, -np.sum(np.log(probs)), rtol=tol):
            raise CheckFailed(f"{where}: the loss sums log p over every class; only the true class counts "
                              "(y is one-hot: multiply by it, or pick the true class's column).")
        if np.isclose(loss, want_loss / np.log(10), rtol=tol):
            raise CheckFailed(f"{where}: the loss is {loss:.6g}, the cross-entropy in base 10 (np.log10); it uses "
                              f"the natural logarithm, np.log: {want_loss:.6g}.")
        if not np.isclose(loss, want_loss, rtol=tol, atol=1e-9):
            e, g = fmt_pair(want_loss, loss)
            raise CheckFailed(f"{where}: the loss should be -sum_n log probs[n, true class] = {e}, got {g}.")
        if np.isclose(acc, want_acc * N) and N * want_acc != want_acc:
            raise CheckFailed(f"{where}: the accuracy is {acc:g}, a count; return the fraction of examples whose "
                              f"largest probability is the true class ({want_acc:g}).")
        if want_acc > 0 and np.isclose(acc, 100 * want_acc):
            raise CheckFailed(f"{where}: the accuracy is {acc:g}, a percentage; return the fraction, "
                              f"{want_acc:g} (between 0 and 1).")
        if not np.isclose(acc, want_acc, rtol=0, atol=1e-6):
            raise CheckFailed(f"{where}: the accuracy should be {want_acc:g} ({int(round(want_acc * N))} of {N} "
                              f"examples have their largest probability on the true class), got {acc:g}. Compare "
                              "the class of each row: probs.argmax(axis=1) with y.argmax(axis=1).")
        uniform = np.full((N, C), 1.0 / C)
        loss_u, _ = _two_numbers(compute_loss_and_acc, y, uniform, "compute_loss_and_acc(y, uniform probabilities)")
        if not np.isclose(loss_u, N * np.log(C), rtol=tol):
            raise CheckFailed(f"compute_loss_and_acc: with every probability 1/{C} the loss must be N ln C = "
                              f"{N} ln {C} = {N * np.log(C):.6g} (where an untrained network starts), got "
                              f"{loss_u:.6g}.")
    passed("compute_loss_and_acc", "summed cross-entropy and accuracy right on batches of 8, 13 and 6 examples with "
                                   "5, 10 and 2 classes; uniform 1/C gives N ln C; y and probs left as they were")


def _two_numbers(fn: Callable, y: np.ndarray, probs: np.ndarray, what: str) -> tuple[float, float]:
    out = _call(fn, y.copy(), probs.copy(), name="compute_loss_and_acc")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"{what} should return two numbers, (loss, acc); got {type(out).__name__}"
                          + (f" of length {len(out)}" if hasattr(out, "__len__") else ""))
    try:
        return float(out[0]), float(out[1])
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} should return two numbers, (loss, acc); got ({type(out[0]).__name__}, "
                          f"{type(out[1]).__name__}); a loss or an accuracy is one number for the batch") from None


def check_backwards(backwards: Callable) -> None:
    """grad_W, grad_b and dL/dX of one layer against central differences, for two activations; delta
    and the cache left as they were."""
    refuse_reference(backwards, nn.backwards, "backwards", "nn")
    r = np.random.default_rng(3)
    N, D, M = 5, 4, 3
    shapes = ("grad_W = X.T @ delta_pre is (D, N) @ (N, M) -> (D, M); dL/dX = delta_pre @ W.T is "
              "(N, M) @ (M, D) -> (N, D).")
    for act, deriv, name in ((nn.sigmoid, nn.sigmoid_deriv, "layer1"), (nn.tanh, nn.tanh_deriv, "hidden")):
        X, W, b = r.standard_normal((N, D)), r.standard_normal((D, M)), r.standard_normal(M)
        delta = r.standard_normal((N, M))    # dJ/d(post) for J = sum(delta * post)
        params = {"W" + name: W.copy(), "b" + name: b.copy()}
        nn.forward(X, params, name, act)     # the book's forward fills the cache
        mine = {"W" + name: W.copy(), "b" + name: b.copy(),
                "cache_" + name: tuple(a.copy() for a in params["cache_" + name])}
        dX = _call(backwards, delta.copy(), mine, name, deriv, name="backwards", hint=shapes, dict_arrays=True)
        where = f"backwards(delta {delta.shape}, params, {name!r}, {deriv.__name__}) for W {W.shape}"
        for key in ("grad_W" + name, "grad_b" + name):
            if key not in mine:
                raise CheckFailed(f"{where}: params has no {key!r} afterwards; store the gradients as "
                                  "params['grad_W' + name] and params['grad_b' + name].")
        gW = expect_shape("backwards", mine["grad_W" + name], (D, M), f"params['grad_W{name}'] (like W, (D, M))")
        gb = expect_shape("backwards", mine["grad_b" + name], (M,), f"params['grad_b{name}'] (like b, (M,))")
        dX = expect_shape("backwards", dX, (N, D), "the returned dL/dX (like X, (N, D))")

        def J() -> float:
            return float(np.sum(delta * act(X @ W + b)))
        num = {"W": nn.numerical_gradient(J, W), "b": nn.numerical_gradient(J, b), "X": nn.numerical_gradient(J, X)}
        post = params["cache_" + name][2]
        pre = params["cache_" + name][1]
        if _same(gW, X.T @ delta):
            raise CheckFailed(f"{where}: grad_W equals X.T @ delta, without the activation's slope. First "
                              "delta_pre = delta * activation_deriv(post), then grad_W = X.T @ delta_pre.")
        if deriv is not nn.sigmoid_deriv and _same(gW, X.T @ (delta * nn.sigmoid_deriv(post))):
            raise CheckFailed(f"{where}: grad_W is what the sigmoid's slope post * (1 - post) gives, but this layer's "
                              f"activation is {act.__name__}: use the activation_deriv you are given, "
                              "delta_pre = delta * activation_deriv(post), not a slope written in.")
        if _same(gW, X.T @ (delta * deriv(pre))):
            raise CheckFailed(f"{where}: the activation derivative was applied to pre; in this book it takes the "
                              "layer's output, activation_deriv(post) (sigmoid' = post * (1 - post)).")
        if _same(gb, delta.sum(axis=0)) or _same(dX, delta @ W.T):
            which = "grad_b" if _same(gb, delta.sum(axis=0)) else "dL/dX"
            raise CheckFailed(f"{where}: {which} is computed from delta, without the activation's slope. Use "
                              "delta_pre = delta * activation_deriv(post) for all three gradients.")
        if _same(gb, num["b"] / N):
            raise CheckFailed(f"{where}: grad_b is the mean of delta_pre over the batch; it is the sum "
                              "(the loss is summed over the batch): delta_pre.sum(axis=0).")
        hint = ("The expected values are central differences (J(w + eps) - J(w - eps)) / (2 eps) of "
                "J = sum(delta * forward(X)), one entry at a time.")
        expect_close("backwards", gW, num["W"], what=f"params['grad_W{name}'] (dJ/dW)", rtol=1e-6, atol=1e-8, hint=hint)
        expect_close("backwards", gb, num["b"], what=f"params['grad_b{name}'] (dJ/db)", rtol=1e-6, atol=1e-8, hint=hint)
        expect_close("backwards", dX, num["X"], what="the returned dJ/dX", rtol=1e-6, atol=1e-8,
                     hint=hint + " dJ/dX = delta_pre @ W.T.")
    passed("backwards", "grad_W (4, 3), grad_b (3,) and dL/dX (5, 4) agree with central differences, for sigmoid "
                        "and tanh layers")


# --- training ----------------------------------------------------------------------------------
def check_get_random_batches(get_random_batches: Callable) -> None:
    """Every example exactly once, in batches of batch_size (the last may be smaller), rows paired,
    a new order on every call, X and y left as they were; where the function takes ``rng``, the order
    comes from it."""
    refuse_reference(get_random_batches, nn.get_random_batches, "get_random_batches", "nn")
    N, B = 23, 5
    X = np.arange(N, dtype=np.float64)[:, None] * np.array([1.0, -1.0, 0.5])   # row i says "example i"
    y = np.eye(N)                                                             # and so does its label
    orders = []
    for n, size in ((N, B), (N, B), (20, 5)):
        batches = _call(get_random_batches, X[:n].copy(), y[:n].copy(), size, name="get_random_batches")
        where = f"get_random_batches(X ({n}, 3), y ({n}, {N}), {size})"
        try:
            batches = list(batches)
            pairs = [(np.asarray(xb), np.asarray(yb)) for xb, yb in batches]
        except (TypeError, ValueError):
            raise CheckFailed(f"{where} should return a list of (xb, yb) pairs, one per batch") from None
        if not pairs:
            raise CheckFailed(f"{where} returned no batches; expected {-(-n // size)}")
        sizes = [len(xb) for xb, _ in pairs]
        for k, (xb, yb) in enumerate(pairs):
            if xb.ndim != 2 or xb.shape[1] != 3 or yb.shape != (len(xb), N):
                raise CheckFailed(f"{where}: batch {k} holds xb {xb.shape} and yb {yb.shape}; expected rows of X "
                                  f"and of y, (k, 3) and (k, {N}), with k <= {size}")
            if not np.array_equal(xb[:, 0], yb.argmax(axis=1)):
                j = int(np.flatnonzero(xb[:, 0] != yb.argmax(axis=1))[0])
                raise CheckFailed(f"{where}: in batch {k} the x of example {int(xb[j, 0])} sits next to the label "
                                  f"of example {int(yb[j].argmax())}: X and y were shuffled separately. Shuffle "
                                  "one index array and use it for both, X[idx] and y[idx].")
        seen = np.concatenate([xb[:, 0] for xb, _ in pairs]).astype(int)
        counts = np.bincount(seen, minlength=n)
        if (counts > 1).any():
            rep = np.flatnonzero(counts > 1)
            raise CheckFailed(f"{where}: example {rep[0]} appears {counts[rep[0]]} times and "
                              f"{int((counts == 0).sum())} examples never appear: the batches were drawn with "
                              "replacement. Shuffle once (a permutation of 0..N-1) and cut it into consecutive slices.")
        if (counts == 0).any():
            missing = np.flatnonzero(counts == 0)
            dropped = (" The last, smaller batch was dropped: keep it." if n % size and len(missing) == n % size
                       else "")
            raise CheckFailed(f"{where}: {len(missing)} of the {n} examples never appear in a batch "
                              f"(e.g. {missing[:5].tolist()}); every example must be used once per epoch.{dropped}")
        if any(s != size for s in sizes[:-1]) or not 0 < sizes[-1] <= size:
            raise CheckFailed(f"{where}: the batch sizes are {sizes}; every batch should have batch_size = {size} "
                              f"rows except the last, which holds the rest ({n} = {n // size} x {size} + {n % size}).")
        if np.array_equal(seen, np.arange(n)):
            raise CheckFailed(f"{where}: the examples come in their original order 0, 1, 2, ...; shuffle them "
                              "(np.random.permutation) so that each epoch sees them in a new random order.")
        orders.append(seen)
    if np.array_equal(orders[0], orders[1]):
        raise CheckFailed("get_random_batches: two calls gave the same order; draw a new permutation on every call "
                          "(do not seed a generator inside the function).")
    if "rng" in _parameters(get_random_batches):
        seeded = []
        for _ in range(2):
            batches = _call(get_random_batches, X.copy(), y.copy(), B, rng=np.random.default_rng(7),
                            name="get_random_batches")
            seeded.append(np.concatenate([np.asarray(xb)[:, 0] for xb, _ in batches]))
        if not np.array_equal(seeded[0], seeded[1]):
            raise CheckFailed("get_random_batches: two calls with generators seeded alike, rng=np.random."
                              "default_rng(7), gave different orders: the order does not come from rng. Draw the "
                              "permutation from the generator you are given (rng.permutation(N)), so that a seeded "
                              "run can be repeated.")
    passed("get_random_batches", "23 examples in batches of 5: sizes [5, 5, 5, 5, 3], each example exactly once, "
                                 "rows paired with labels, a new order on each call; 20 in batches of 5: 4 batches")


def _parameters(fn: Callable) -> list[str]:
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []


class _Recorded(list):
    """The batches of nn.get_random_batches; records the network's weights each time the loop asks
    for the next batch (so that a loop can be compared with the book's step by step)."""

    def __init__(self, batches: list, params: dict, states: list, keys: list[str]):
        super().__init__(batches)
        self.params, self.states, self.keys = params, states, keys

    def __iter__(self):
        for b in list.__iter__(self):
            self.states.append({k: np.array(self.params[k], dtype=np.float64) for k in self.keys})
            yield b


@contextlib.contextmanager
def _recording(params: dict, keys: list[str]):
    """While active, ``nn.get_random_batches`` hands out batches that record ``params`` before each step."""
    states: list = []
    original = nn.get_random_batches

    def recorded(*args: Any, **kwargs: Any) -> list:
        return _Recorded(original(*args, **kwargs), params, states, keys)

    nn.get_random_batches = recorded
    try:
        yield states
    finally:
        nn.get_random_batches = original


_EPOCH_SLIPS = {
    "whole": "each step used the whole data set (X, Y) instead of the batch: inside the loop, the forward pass, "
             "the loss and the backward pass run on xb and yb",
    "mean": "the gradient was averaged over the batch (delta divided by the batch size). The book (like the "
            "homework) sums the loss over the batch, so delta = probs - yb and the step is W -= lr * grad_W",
    "once": "one step per epoch, after the loop: take one step per batch, inside the loop over the batches",
    "uphill": "the weights moved up the gradient; step against it: W -= lr * grad_W",
    "weights": "the biases never moved: update every W and every b (for name, _ in params['layers'])",
    "none": "the weights never changed: after the backward pass, update every parameter, "
            "params[k] -= lr * params['grad_' + k] (nn.sgd_step)",
}


def _epoch_variant(X: np.ndarray, Y: np.ndarray, params: dict, lr: float, batch_size: int,
                   rng: np.random.Generator, slip: str) -> None:
    """One epoch of the book's loop with one of the usual slips (``_EPOCH_SLIPS``), in place."""
    def step(sign: float = 1.0) -> None:
        for name, _ in params["layers"]:
            for p in ("W", "b") if slip != "weights" else ("W",):
                params[p + name] -= sign * lr * params["grad_" + p + name]

    for xb, yb in nn.get_random_batches(X, Y, batch_size, rng):
        xi, yi = (X, Y) if slip == "whole" else (xb, yb)
        probs = nn.mlp_forward(xi, params)
        nn.mlp_backwards((probs - yi) / (len(yi) if slip == "mean" else 1), params)
        if slip not in ("once", "none"):
            step(-1.0 if slip == "uphill" else 1.0)
    if slip == "once":
        step()


def check_train_epoch(train_epoch: Callable) -> None:
    """One SGD step per batch with the summed gradient: an epoch of one batch is exactly one step, and
    three epochs in batches of 7 (the last of 5) follow the book's loop step by step under the same
    ``rng``; the returned loss per example and accuracy match; X and Y left as they were."""
    refuse_reference(train_epoch, nn.train_epoch, "train_epoch", "nn")
    X, Y = nn.toy_problem(np.random.default_rng(0))
    N = len(X)

    def net() -> dict:
        return nn.build_mlp([2, 8, 4], ["sigmoid", "softmax"], np.random.default_rng(1), dtype=np.float64)

    keys = ["Wlayer1", "blayer1", "Woutput", "boutput"]
    start, ref, mine = net(), net(), net()
    want = nn.train_epoch(X, Y, ref, lr=0.01, batch_size=N, rng=np.random.default_rng(5))
    got = _call(train_epoch, X.copy(), Y.copy(), mine, lr=0.01, batch_size=N, rng=np.random.default_rng(5),
                name="train_epoch")
    where = f"train_epoch on {N} examples with batch_size={N} (one batch: one step), lr=0.01"
    if all(np.array_equal(mine[k], start[k]) for k in keys):
        raise CheckFailed(f"{where}: the weights did not change. After backwards, update every parameter: "
                          "params[k] -= lr * params['grad_' + k] for k in W and b of every layer (nn.sgd_step).")
    for k in keys:
        step, want_step = mine[k] - start[k], ref[k] - start[k]
        if _same(step, want_step / N, rtol=1e-4):
            raise CheckFailed(f"{where}: {k} moved by 1/{N} of one SGD step: {_EPOCH_SLIPS['mean']}.")
        if _same(step, -want_step, rtol=1e-4):
            raise CheckFailed(f"{where}: {k} moved up the gradient; step against it: W -= lr * grad_W.")
        if k.startswith("b") and np.array_equal(mine[k], start[k]):
            raise CheckFailed(f"{where}: {_EPOCH_SLIPS['weights']}.")
        expect_close("train_epoch", mine[k], ref[k], what=f"params[{k!r}] after one step", rtol=1e-7,
                     hint="One batch of all examples gives exactly one step W - lr * grad_W, with the gradient of "
                          "the loss summed over the batch (forward, delta = probs - y, backwards, update).")
    loss, acc = _loss_and_acc(got, where)
    if np.isclose(loss, want[0] * N, rtol=1e-6):
        raise CheckFailed(f"{where}: returned the summed loss {loss:.6g}; return it per example, divided by the "
                          f"number of examples: {want[0]:.6g}.")
    if not np.isclose(loss, want[0], rtol=1e-6) or not np.isclose(acc, want[1], atol=1e-9):
        (wl, gl), (wa, ga) = fmt_pair(want[0], loss), fmt_pair(want[1], acc)
        raise CheckFailed(f"{where}: returned ({gl}, {ga}); expected (loss per example, accuracy) = "
                          f"({wl}, {wa}) of the batch before the update.")
    # several batches, several epochs: step by step against the book's loop, the same rng
    epochs, lr, B = 3, 0.05, 7
    ref, mine = net(), net()
    rng_ref, rng_mine = np.random.default_rng(6), np.random.default_rng(6)
    where = (f"train_epoch on {N} examples in batches of {B} (the last of {N % B}), lr={lr}, "
             f"rng=np.random.default_rng(6)")
    for e in range(epochs):
        with _recording(ref, keys) as ref_states:
            want = nn.train_epoch(X, Y, ref, lr=lr, batch_size=B, rng=rng_ref)
        before = {k: mine[k].copy() for k in keys}
        with _recording(mine, keys) as my_states:
            got = _call(train_epoch, X.copy(), Y.copy(), mine, lr=lr, batch_size=B, rng=rng_mine, name="train_epoch")
        ref_states.append({k: ref[k].copy() for k in keys})
        my_states.append({k: np.array(mine[k], dtype=np.float64) for k in keys})
        ep = f"{where}, epoch {e + 1}"
        if not _same_states(my_states[-1], ref_states[-1]):
            _epoch_failure(ep, X, Y, before, my_states, ref_states, keys, lr, B, np.random.default_rng(6), e)
        loss, acc = _loss_and_acc(got, ep)
        if not np.isclose(loss, want[0], rtol=1e-6) or not np.isclose(acc, want[1], atol=1e-9):
            cause = _loss_slip(loss, acc, want, X, Y, ref_states, B, e)
            (wl, gl), (wa, ga) = fmt_pair(want[0], loss), fmt_pair(want[1], acc)
            raise CheckFailed(f"{ep}: the weights are right, but it returned ({gl}, {ga}); expected "
                              f"(loss per example, accuracy) = ({wl}, {wa}). {cause}")
    passed("train_epoch", f"one full-batch epoch = one SGD step, exactly; {epochs} epochs in batches of {B} follow "
                          "the book's loop step by step under the same rng, with the right loss and accuracy")


def _loss_and_acc(got: Any, where: str) -> tuple[float, float]:
    try:
        loss, acc = (float(v) for v in got)
    except (TypeError, ValueError):
        raise CheckFailed(f"{where}: train_epoch should return two numbers, (loss per example, accuracy), got "
                          f"{got!r:.80}") from None
    return loss, acc


def _same_states(a: dict, b: dict) -> bool:
    return all(_same(a[k], b[k], rtol=1e-7, atol=1e-10) for k in a)


def _loss_slip(loss: float, acc: float, want: tuple, X: np.ndarray, Y: np.ndarray, states: list, B: int,
               epoch: int) -> str:
    """Which of the usual ways of adding up an epoch's loss gives ``loss``, as advice."""
    r = np.random.default_rng(6)
    for _ in range(epoch):
        r.permutation(len(X))
    summed = []
    for (xb, yb), st in zip(nn.get_random_batches(X, Y, B, r), states):
        params = {"layers": [("layer1", "sigmoid"), ("output", "softmax")], **st}
        summed.append((nn.compute_loss_and_acc(yb, nn.mlp_forward(xb, params))[0], len(xb)))
    N = len(X)
    if np.isclose(loss, want[0], rtol=1e-6):
        return (f"The accuracy should be the fraction of the {N} examples classified right, added up over the "
                "batches (correct += acc * len(xb)) and divided by N.")
    for value, text in ((want[0] * N, "the summed loss; divide it by the number of examples"),
                        (np.mean([s_ / n for s_, n in summed]), "the mean of the batch means; add up each batch's "
                         "summed loss and divide by N once (the last batch is smaller)"),
                        (summed[-1][0] / summed[-1][1], "the last batch's loss per example; add up the loss of "
                         "every batch"),
                        (summed[-1][0], "the last batch's summed loss; add up the loss of every batch")):
        if np.isclose(loss, value, rtol=1e-6):
            return f"Your loss is {text}."
    return ("Return (total loss / N, correct / N), the totals over the batches as they were before their steps, "
            "the accuracy as a fraction.")


def _epoch_failure(where: str, X: np.ndarray, Y: np.ndarray, before: dict, mine: list, ref: list, keys: list[str],
                   lr: float, B: int, rng: np.random.Generator, epoch: int) -> None:
    """Raise CheckFailed for a wrong epoch: the step where the weights first part from the book's, and the
    slip whose epoch gives the reader's weights."""
    final = mine[-1]
    found = ""
    for slip, text in _EPOCH_SLIPS.items():
        params = {"layers": [("layer1", "sigmoid"), ("output", "softmax")], **{k: v.copy() for k, v in before.items()}}
        r = np.random.default_rng(6)
        for _ in range(epoch):                     # bring the generator to this epoch
            r.permutation(len(X))
        _epoch_variant(X, Y, params, lr, B, r, slip)
        if _same_states(final, params):
            found = text
            break
    if len(mine) == len(ref):
        first = next(i for i, (m, w) in enumerate(zip(mine, ref)) if not _same_states(m, w))
        diff = max(float(np.max(np.abs(mine[first][k] - ref[first][k]))) for k in keys)
        head = (f"{where}: the weights follow the book's loop for {first} step{'s' if first != 1 else ''} and then "
                f"differ by up to {diff:.3g}")
    elif len(mine) == 1:
        head = (f"{where}: the weights differ from the book's loop under the same rng (your loop does not take its "
                "batches from nn.get_random_batches(X, Y, batch_size, rng), so the steps cannot be compared one by "
                "one)")
        if not found:
            found = ("take the batches from nn.get_random_batches(X, Y, batch_size, rng), with the rng you are given, "
                     "so that a seeded run gives the book's batches in the book's order")
    else:
        head = f"{where}: the loop asked for {len(mine) - 1} batches' worth of steps, the book's {len(ref) - 1}"
    raise CheckFailed(f"{head}: " + (found + "." if found else
                                     "for every batch: probs = nn.mlp_forward(xb, params), delta = probs - yb, "
                                     "nn.mlp_backwards(delta, params), then W -= lr * grad_W for every W and b."))


# --- gradient checking -------------------------------------------------------------------------
def check_numerical_gradient(numerical_gradient: Callable) -> None:
    """Central differences of a known function, compared with its exact gradient; param_array restored."""
    refuse_reference(numerical_gradient, nn.numerical_gradient, "numerical_gradient", "nn")
    r = np.random.default_rng(4)
    results = []
    for shape in ((3, 4), (5,)):
        W0 = r.uniform(-1.0, 1.0, shape)
        A = r.uniform(5.0, 10.0, shape)
        C = W0 + r.uniform(-0.01, 0.01, shape)
        W = W0.copy()

        def f() -> float:                  # f(W) = sum A (W - C)^2 + sum sin W, read from W itself
            return float(np.sum(A * (W - C) ** 2) + np.sum(np.sin(W)))
        exact = 2 * A * (W0 - C) + np.cos(W0)
        got = _call(numerical_gradient, f, W, name="numerical_gradient", unchanged=False)
        where = f"numerical_gradient(f, param_array of shape {shape})"
        changed = np.abs(W - W0) > 1e-12
        if changed.any():
            i = tuple(int(k) for k in np.argwhere(changed)[0])
            raise CheckFailed(f"{where}: param_array was changed: entry {i} is {W[i]:.9f} afterwards instead of "
                              f"{W0[i]:.9f} (off by {W[i] - W0[i]:.2g}). Put every entry back after perturbing it "
                              "(old = p[i]; p[i] = old + eps; ...; p[i] = old), or the later code trains on "
                              "perturbed weights.")
        got = expect_shape("numerical_gradient", got, shape, "the result (shaped like param_array)")
        if np.allclose(got, 0):
            raise CheckFailed(f"{where}: every derivative is 0, so f() never saw the perturbations. Perturb the "
                              "entries of param_array itself, in place (f reads that array), not of a copy.")
        eps = 1e-6
        one_sided = 2 * A * (W0 - C) + A * eps + (np.sin(W0 + eps) - np.sin(W0)) / eps
        if not _same(got, exact, rtol=1e-6, atol=1e-8) and _same(got, one_sided, rtol=0, atol=1e-7):
            err = float(np.abs(got - exact).max())
            raise CheckFailed(f"{where}: these look like one-sided differences (f(p + eps) - f(p)) / eps, off by up "
                              f"to {err:.1e}: their error shrinks only like eps. Use central differences, "
                              "(f(p + eps) - f(p - eps)) / (2 eps), whose error shrinks like eps^2.")
        expect_close("numerical_gradient", got, exact, what=f"the derivatives of f for {where}", rtol=1e-6,
                     atol=1e-8, hint="Expected: the exact gradient of f(W) = sum A (W - C)^2 + sum sin W, which "
                                     "central differences with eps = 1e-6 reproduce to about 1e-9.")
        results.append(float(np.abs(got - exact).max()))
    passed("numerical_gradient", f"central differences match the exact gradient of a known function to "
                                 f"{max(results):.0e} on (3, 4) and (5,) arrays; param_array left unchanged")
