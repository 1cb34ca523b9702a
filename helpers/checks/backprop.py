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

from typing import Any, Callable

import numpy as np

from .. import nn
from ._core import CheckFailed, call, expect_close, expect_shape, passed

__all__ = ["check_sigmoid", "check_initialize_weights", "check_forward", "check_softmax",
           "check_compute_loss_and_acc", "check_backwards", "check_get_random_batches", "check_train_epoch",
           "check_numerical_gradient"]


def _call(fn: Callable, *args: Any, name: str, hint: str = "", **kwargs: Any) -> Any:
    """:func:`call` with numpy's overflow warnings silenced (the checks judge the values) and a
    hint added to the message when the reader's function crashed on a shape mismatch."""
    try:
        with np.errstate(all="ignore"):
            return call(fn, *args, name=name, **kwargs)
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
    """sigmoid(x) elementwise, shape kept, right at x = 0, +-2, ..., and finite at x = +-1000."""
    x = np.array([[-3.0, -1.0, 0.0, 0.5, 2.0], [4.0, -0.25, 1.5, -6.0, 10.0]])
    got = expect_shape("sigmoid", _call(sigmoid, x.copy(), name="sigmoid"), x.shape,
                       "sigmoid(x) for x of shape (2, 5) (elementwise: same shape)")
    expected = nn.sigmoid(x)
    if _same(got, 1 - expected):
        raise CheckFailed(f"sigmoid: sigmoid(2) should be {expected[0, 4]:.4f} (the sigmoid rises from 0 to 1), "
                          f"but yours gives {float(got[0, 4]):.4f}, which is sigmoid(-2). Check the sign: "
                          "1 / (1 + exp(-x)).")
    expect_close("sigmoid", got, expected, what="sigmoid(x)", rtol=1e-7, atol=1e-12,
                 hint="The sigmoid is 1 / (1 + exp(-x)); sigmoid(0) = 0.5.")
    big = np.array([-1000.0, -50.0, 50.0, 1000.0])
    got_big = expect_shape("sigmoid", _call(sigmoid, big.copy(), name="sigmoid"), big.shape,
                           "sigmoid of [-1000, -50, 50, 1000]")
    expect_close("sigmoid", got_big, nn.sigmoid(big), what="sigmoid of the large inputs [-1000, -50, 50, 1000]",
                 rtol=1e-7, atol=1e-12,
                 hint="For large |x| one of exp(x), exp(-x) overflows to inf. 1 / (1 + exp(-x)) is still right "
                      "(1 / inf = 0), but exp(x) / (1 + exp(x)) gives inf / inf = NaN.")
    passed("sigmoid", "right on 10 values in [-6, 10] and at +-1000 (no NaN), shape (2, 5) kept")


def check_initialize_weights(initialize_weights: Callable) -> None:
    """Xavier uniform W (in_size, out_size) in +-sqrt(6 / (in + out)), zero biases, stored in params."""
    stats = []
    for n_in, n_out, name in ((300, 200, "layer1"), (3, 5, "")):
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
        a = np.sqrt(6.0 / (n_in + n_out))
        if np.abs(W).max() > a * (1 + 1e-9):
            guess = (" The variance is about 1: that is np.random.randn unscaled." if abs(W.var() - 1) < 0.2 else
                     " Draws from a normal distribution have no bound; use the uniform one." if n_in > 10 else "")
            raise CheckFailed(f"{where}: weights must lie in [-a, a] with a = sqrt(6 / (in_size + out_size)) = "
                              f"{a:.4f}, but the largest |W| is {float(np.abs(W).max()):.4f}.{guess} "
                              "Draw W from the uniform distribution U(-a, a).")
        if n_in > 10:
            target = 2.0 / (n_in + n_out)
            if np.abs(W.mean()) > 0.05 * a:
                raise CheckFailed(f"{where}: the weights should be centred at 0, but their mean is {W.mean():.4f}: "
                                  "draw from U(-a, a), not from U(0, a).")
            if not 0.93 < W.var() / target < 1.07:
                raise CheckFailed(f"{where}: the variance of W is {W.var():.3e}, but Xavier initialization gives "
                                  f"a^2 / 3 = 2 / (in_size + out_size) = {target:.3e} (ratio {W.var() / target:.2f}). "
                                  f"Check the scale: a = sqrt(6 / (in_size + out_size)) = {a:.4f}.")
            if len(np.unique(W)) < W.size // 2:
                raise CheckFailed(f"{where}: many weights are equal ({len(np.unique(W))} different values among "
                                  f"{W.size}); draw each weight at random, or the units stay identical.")
            stats = [W.var(), target, a]
    passed("initialize_weights", f"W (300, 200) uniform in +-{stats[2]:.4f}, variance {stats[0]:.2e} ~ "
                                 f"2/(300+200) = {stats[1]:.1e}, b zeros; also (3, 5) with name ''")


def check_forward(forward: Callable) -> None:
    """post = activation(X @ W + b) and the cache (X, pre, post), on three random layers."""
    r = np.random.default_rng(0)
    cases = [((5, 4, 3), None, "layer1"), ((2, 6, 7), nn.tanh, "hidden"), ((3, 5, 2), nn.softmax, "output")]
    for (N, D, M), act, name in cases:
        X, W, b = r.standard_normal((N, D)), 0.5 * r.standard_normal((D, M)), r.standard_normal(M)
        params = {"W" + name: W.copy(), "b" + name: b.copy()}
        args = (X.copy(), params, name) if act is None else (X.copy(), params, name, act)
        act_name = "sigmoid (the default)" if act is None else act.__name__
        act = nn.sigmoid if act is None else act
        got = _call(forward, *args, name="forward",
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
        expect_close("forward", got, post, what=f"the output of {where}", rtol=1e-7, atol=1e-10)
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
                         rtol=1e-7, atol=1e-10, hint="The cache is (X, pre, post) in that order, with "
                                                    "pre = X @ W + b and post = activation(pre).")
    passed("forward", "(5, 4) -> (5, 3), bias, activation and cache right on 3 random layers")


def check_softmax(softmax: Callable) -> None:
    """Rows that sum to 1, equal to the book's softmax, and no NaN for logits of +-1000."""
    x = 2 * np.random.default_rng(1).standard_normal((4, 6))
    keepdims = "Use keepdims=True, so that the row maxima and sums have shape (N, 1) and broadcast over the row."
    got = expect_shape("softmax", _call(softmax, x.copy(), name="softmax", hint=keepdims), x.shape,
                       "softmax(x) for logits x of shape (4, 6)")
    rows, cols = got.sum(axis=1), got.sum(axis=0)
    if np.allclose(cols, 1) and not np.allclose(rows, 1):
        raise CheckFailed(f"softmax: the columns of the result sum to 1 and the rows to {_fmt(rows)}. Normalize over "
                          "axis=1: each row is one example and must become a distribution over its classes.")
    if np.all(np.isfinite(got)) and not np.allclose(rows, 1):
        raise CheckFailed(f"softmax: every row must sum to 1, but the row sums are {_fmt(rows)}. Divide exp(x) by "
                          "the sum over its row.")
    expect_close("softmax", got, nn.softmax(x), what="softmax(x) of random logits (4, 6)", rtol=1e-7, atol=1e-12)
    big = np.array([[1000.0, 999.0, 998.0, 0.0], [-1000.0, -1001.0, -1002.0, -1003.0], [0.0, 1.0, 2.0, 3.0]])
    got = expect_shape("softmax", _call(softmax, big.copy(), name="softmax", hint=keepdims), big.shape,
                       "softmax of large logits (3, 4)")
    bad = [i for i in range(len(big)) if not np.all(np.isfinite(got[i]))]
    if bad:
        i = bad[0]
        why = ("the row with the largest logits is fine but this one is not, so the maximum of the whole array was "
               "subtracted: subtract each row's own maximum, x.max(axis=1, keepdims=True)." if 0 not in bad else
               "exp(1000) overflows to inf and exp(-1000) underflows to 0, so the division gives inf/inf or 0/0 = "
               "NaN. Subtract each row's maximum before exp (softmax(x - c) = softmax(x)): the largest exponent "
               "is then exp(0) = 1.")
        raise CheckFailed(f"softmax is not stable for large inputs: for the row {_fmt(big[i])} it returned "
                          f"{_fmt(got[i])}; {why}")
    expect_close("softmax", got, nn.softmax(big), what="softmax of the large logits", rtol=1e-7, atol=1e-12)
    passed("softmax", "rows sum to 1 and match on random (4, 6) logits; stable for logits of +-1000")


def check_compute_loss_and_acc(compute_loss_and_acc: Callable) -> None:
    """Cross-entropy summed over the batch and the accuracy; N ln C for uniform probabilities."""
    r = np.random.default_rng(2)
    N, C = 8, 5
    labels = r.integers(0, C, N)
    y = np.eye(C)[labels]
    logits = 1.5 * r.standard_normal((N, C))
    logits[:3] -= 5 * (1 - y[:3])            # the first three examples are classified right for sure,
    logits[3, labels[3]] -= 10               # the fourth wrong
    probs = nn.softmax(logits)
    want_loss, want_acc = nn.compute_loss_and_acc(y, probs)
    loss, acc = _two_numbers(compute_loss_and_acc, y, probs, "compute_loss_and_acc(y, probs)")
    where = f"compute_loss_and_acc on a batch of {N} examples with {C} classes"
    if np.isclose(loss, want_loss / N, rtol=1e-6):
        raise CheckFailed(f"{where}: the loss is {loss:.4f}, the *mean* over the batch; the book (like the homework) "
                          f"uses the sum, -sum_n log p[n, true class] = {want_loss:.4f}. Do not divide by N.")
    if np.isclose(loss, -want_loss, rtol=1e-6):
        raise CheckFailed(f"{where}: the loss is {loss:.4f}, negative; cross-entropy is -sum log p = {want_loss:.4f} "
                          "(log p <= 0, so the loss is >= 0).")
    if np.isclose(loss, -np.sum(np.log(probs)), rtol=1e-6):
        raise CheckFailed(f"{where}: the loss sums log p over every class; only the true class counts: "
                          "-sum(y * log(probs)) with one-hot y.")
    if not np.isclose(loss, want_loss, rtol=1e-6, atol=1e-9):
        raise CheckFailed(f"{where}: the loss should be -sum_n log probs[n, true class] = {want_loss:.6f}, got "
                          f"{loss:.6f}.")
    if np.isclose(acc, want_acc * N):
        raise CheckFailed(f"{where}: the accuracy is {acc:g}, a count; return the fraction of examples whose "
                          f"largest probability is the true class ({want_acc:g}).")
    if not np.isclose(acc, want_acc):
        raise CheckFailed(f"{where}: the accuracy should be {want_acc:g} ({int(want_acc * N)} of {N} examples have "
                          f"their largest probability on the true class), got {acc:g}. Compare "
                          "probs.argmax(axis=1) with y.argmax(axis=1).")
    uniform = np.full((N, C), 1.0 / C)
    loss_u, _ = _two_numbers(compute_loss_and_acc, y, uniform, "compute_loss_and_acc(y, uniform probabilities)")
    if not np.isclose(loss_u, N * np.log(C), rtol=1e-6):
        raise CheckFailed(f"compute_loss_and_acc: with every probability 1/{C} the loss must be N ln C = "
                          f"{N} ln {C} = {N * np.log(C):.4f} (where an untrained network starts), got {loss_u:.4f}.")
    passed("compute_loss_and_acc", f"summed cross-entropy {want_loss:.3f} and accuracy {want_acc:g} on a batch of "
                                   f"{N}; uniform 1/{C} gives N ln C = {N * np.log(C):.3f}")


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
    """grad_W, grad_b and dL/dX of one layer against central differences, for two activations."""
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
        dX = _call(backwards, delta.copy(), mine, name, deriv, name="backwards", hint=shapes)
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
        expect_close("backwards", gW, num["W"], what=f"params['grad_W{name}'] (dJ/dW)", rtol=1e-5, atol=1e-7, hint=hint)
        expect_close("backwards", gb, num["b"], what=f"params['grad_b{name}'] (dJ/db)", rtol=1e-5, atol=1e-7, hint=hint)
        expect_close("backwards", dX, num["X"], what="the returned dJ/dX", rtol=1e-5, atol=1e-7,
                     hint=hint + " dJ/dX = delta_pre @ W.T.")
    passed("backwards", "grad_W (4, 3), grad_b (3,) and dL/dX (5, 4) agree with central differences, for sigmoid "
                        "and tanh layers")


# --- training ----------------------------------------------------------------------------------
def check_get_random_batches(get_random_batches: Callable) -> None:
    """Every example exactly once, in batches of batch_size (the last may be smaller), rows paired,
    a new order on every call."""
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
    passed("get_random_batches", "23 examples in batches of 5: sizes [5, 5, 5, 5, 3], each example exactly once, "
                                 "rows paired with labels, a new order on each call; 20 in batches of 5: 4 batches")


def check_train_epoch(train_epoch: Callable) -> None:
    """One SGD step per batch with the summed gradient; lowers the loss on the toy problem as fast
    as the book's loop."""
    X, Y = nn.toy_problem(np.random.default_rng(0))
    N = len(X)

    def net() -> dict:
        return nn.build_mlp([2, 8, 4], ["sigmoid", "softmax"], np.random.default_rng(1), dtype=np.float64)

    def loss_of(params: dict) -> float:
        return nn.compute_loss_and_acc(Y, nn.predict(X, params))[0]

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
            raise CheckFailed(f"{where}: {k} moved by 1/{N} of one SGD step: the gradient was averaged over the "
                              "batch. The book (like the homework) sums the loss over the batch, so the step is "
                              "W -= lr * grad_W with delta = probs - y, not divided by the batch size.")
        if _same(step, -want_step, rtol=1e-4):
            raise CheckFailed(f"{where}: {k} moved up the gradient; step against it: W -= lr * grad_W.")
        expect_close("train_epoch", mine[k], ref[k], what=f"params[{k!r}] after one step", rtol=1e-6, atol=1e-10,
                     hint="One batch of all examples gives exactly one step W - lr * grad_W, with the gradient of "
                          "the loss summed over the batch (forward, delta = probs - y, backwards, update).")
    try:
        loss, acc = (float(v) for v in got)
    except (TypeError, ValueError):
        raise CheckFailed(f"{where}: train_epoch should return two numbers, (loss per example, accuracy), got "
                          f"{got!r:.80}") from None
    if np.isclose(loss, want[0] * N, rtol=1e-6):
        raise CheckFailed(f"{where}: returned the summed loss {loss:.4f}; return it per example, divided by the "
                          f"number of examples: {want[0]:.4f}.")
    if not np.isclose(loss, want[0], rtol=1e-6) or not np.isclose(acc, want[1]):
        raise CheckFailed(f"{where}: returned ({loss:.6g}, {acc:.6g}); expected (loss per example, accuracy) = "
                          f"({want[0]:.6g}, {want[1]:.6g}) of the batch before the update.")
    # many small batches: the loss must fall as fast as with the book's loop
    ref, mine = net(), net()
    rng_ref, rng_mine = np.random.default_rng(6), np.random.default_rng(6)
    epochs, lr = 10, 0.02
    for _ in range(epochs):
        nn.train_epoch(X, Y, ref, lr=lr, batch_size=5, rng=rng_ref)
        _call(train_epoch, X.copy(), Y.copy(), mine, lr=lr, batch_size=5, rng=rng_mine, name="train_epoch")
    l0, l_ref, l_mine = loss_of(start), loss_of(ref), loss_of(mine)
    if not np.isfinite(l_mine) or l0 - l_mine < 0.8 * (l0 - l_ref):
        raise CheckFailed(f"train_epoch: {epochs} epochs on the toy problem ({N} examples, batches of 5, lr={lr}) "
                          f"should lower the summed loss from {l0:.2f} to about {l_ref:.2f} (the book's loop), but "
                          f"yours reaches {l_mine:.2f}. Take one step per batch, inside the loop over the batches, "
                          f"not one per epoch.")
    passed("train_epoch", f"one full-batch epoch = one SGD step, exactly; {epochs} epochs in batches of 5 lower the "
                          f"toy loss from {l0:.1f} to {l_mine:.1f} (book: {l_ref:.1f})")


# --- gradient checking -------------------------------------------------------------------------
def check_numerical_gradient(numerical_gradient: Callable) -> None:
    """Central differences of a known function, compared with its exact gradient; param_array restored."""
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
        got = _call(numerical_gradient, f, W, name="numerical_gradient")
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
