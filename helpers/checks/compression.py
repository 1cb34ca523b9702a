"""Checks for chapter 5: the autoencoder's forward and backward passes, one training epoch, the
homework's momentum update, and PCA by SVD.

Every check builds its own small seeded inputs and computes the right answer its own way (plain
numpy loops for the network, the eigenvectors of the covariance matrix for PCA), so it can grade
the reader's function and prove the book's function right alike:

- :func:`check_autoencoder_forward`   ``autoencoder_forward(X, params) -> out``
- :func:`check_autoencoder_backward`  ``autoencoder_backward(dout, params)`` fills the gradients
- :func:`check_autoencoder_epoch`     ``train_autoencoder_epoch(X, params, lr, batch_size, momentum, rng)``
- :func:`check_momentum_step`         ``momentum_step(params, lr, mu)``: ``M = mu M - lr grad; W += M``
- :func:`check_pca_by_svd`            ``pca_by_svd(X, k) -> (mean, components, singular_values)``
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._core import (CheckFailed, call, call_unchanged, expect_close, expect_shape, fmt_pair, passed, refuse_reference,
                    rtol_for)

__all__ = ["check_autoencoder_forward", "check_autoencoder_backward", "check_autoencoder_epoch",
           "check_momentum_step", "check_pca_by_svd"]

# ----------------------------------------------------------------------------------------------
# A small autoencoder in the homework's params convention, and plain-numpy reference passes
# ----------------------------------------------------------------------------------------------
_SIZES = (10, 6, 3, 6, 10)
_NAMES = ("layer1", "hidden", "hidden2", "output")
_ACTS = ("relu", "relu", "relu", "sigmoid")
_F = {"relu": lambda x: np.maximum(x, 0.0), "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
      "linear": lambda x: x}
_DF = {"relu": lambda y: (y > 0).astype(y.dtype), "sigmoid": lambda y: y * (1.0 - y),
       "linear": lambda y: np.ones_like(y)}


def _small_autoencoder(seed: int = 0) -> dict:
    """A 10-6-3-6-10 autoencoder (ReLU x3, sigmoid) with the homework's layer names, float64,
    positive biases so every ReLU unit fires on some input (no unit is dead, no kink is hit)."""
    r = np.random.default_rng(seed)
    params: dict = {"layers": list(zip(_NAMES, _ACTS))}
    for name, d_in, d_out in zip(_NAMES, _SIZES[:-1], _SIZES[1:]):
        a = np.sqrt(6.0 / (d_in + d_out))
        params["W" + name] = r.uniform(-a, a, (d_in, d_out))
        params["b" + name] = r.uniform(0.05, 0.3, d_out)
    return params


def _images(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 1.0, (n, d))


def _reference_forward(X: np.ndarray, params: dict, acts: Any = None) -> tuple[np.ndarray, list]:
    """Output and per-layer (input, output) of the dense layers; ``acts`` overrides the activations."""
    h, trace = X, []
    for i, (name, act) in enumerate(params["layers"]):
        act = act if acts is None else acts[i]
        out = _F[act](h @ params["W" + name] + params["b" + name])
        trace.append((h, out))
        h = out
    return h, trace


def _reference_backward(dout: np.ndarray, params: dict, trace: list, derivs: Any = None) -> dict:
    """{'grad_W'+name, 'grad_b'+name} by the chain rule, last layer first; ``derivs`` overrides the
    activation derivatives."""
    grads, delta = {}, dout
    for i in reversed(range(len(params["layers"]))):
        name, act = params["layers"][i]
        h_in, h_out = trace[i]
        d_pre = delta * _DF[act if derivs is None else derivs[i]](h_out)
        grads["grad_W" + name] = h_in.T @ d_pre
        grads["grad_b" + name] = d_pre.sum(axis=0)
        delta = d_pre @ params["W" + name].T
    return grads


def _copy_params(params: dict) -> dict:
    return {k: (v.copy() if isinstance(v, np.ndarray) else list(v) if isinstance(v, list) else v)
            for k, v in params.items()}


def _same(a: Any, b: Any, tol: float = 1e-9) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tol * (1.0 + np.abs(b))))


# ----------------------------------------------------------------------------------------------
# autoencoder_forward / autoencoder_backward
# ----------------------------------------------------------------------------------------------
def check_autoencoder_forward(autoencoder_forward: Callable) -> None:
    """``autoencoder_forward(X, params) -> out``: X (N, D) -> out (N, D), the four layers in order
    (ReLU, ReLU, ReLU, sigmoid), each leaving ``params['cache_' + name]`` for the backward pass.

    Graded on a 10-6-3-6-10 network with the homework's layer names and 5 random rows; a wrong
    output is compared with the usual slips (an activation left out or swapped, a bias dropped)."""
    name = "autoencoder_forward"
    from .. import compression

    refuse_reference(autoencoder_forward, compression.autoencoder_forward, name, "C")
    params = _small_autoencoder(0)
    X = _images(5, _SIZES[0], 1)
    expected, _ = _reference_forward(X, params)
    out = call(autoencoder_forward, X.copy(), params, name=name)
    out = expect_shape(name, out, expected.shape, "the output (the reconstructions)")
    if not _same(out, expected, 1e-7):
        slips = {
            "a sigmoid on every layer": ("sigmoid",) * 4,
            "ReLU on the output layer too (the homework's output is a sigmoid, values in (0, 1))": ("relu",) * 4,
            "no activation on the output layer (it should be a sigmoid)": _ACTS[:3] + ("linear",),
            "no activation on the hidden layers (they should be ReLU)": ("linear",) * 3 + ("sigmoid",),
        }
        for what, acts in slips.items():
            if _same(out, _reference_forward(X, params, acts)[0], 1e-7):
                raise CheckFailed(f"{name}: your output is what the network gives with {what}. Use each layer's "
                                  "own activation, the second entry of its (name, activation) pair in "
                                  "params['layers'].")
        no_bias = {k: (np.zeros_like(v) if k.startswith("b") else v) for k, v in params.items()}
        if _same(out, _reference_forward(X, no_bias)[0], 1e-7):
            raise CheckFailed(f"{name}: your output is the network's without its biases; every layer computes "
                              "f(h @ W + b).")
        expect_close(name, out, expected, what="the output", rtol=1e-7, atol=1e-9,
                     hint="Each layer computes h = f(h @ W + b) with the previous layer's output h, in the order of "
                          "params['layers'] (layer1, hidden, hidden2, output).")
    missing = [n for n in _NAMES if ("cache_" + n) not in params]
    if missing:
        raise CheckFailed(f"{name}: the output is right, but params has no {', '.join('cache_' + n for n in missing)}: "
                          "the backward pass needs what each layer saw. Run every layer with helpers.nn.forward "
                          "(it saves params['cache_' + name]).")
    passed(name, f"{X.shape} -> {out.shape}, four layers in order (ReLU x3, sigmoid), caches saved")


def _forward_with_caches(X: np.ndarray, params: dict) -> np.ndarray:
    """Fill params['cache_' + name] the way helpers.nn.forward does, for the backward check."""
    from .. import nn

    h = X
    for name, act in params["layers"]:
        h = nn.forward(h, params, name, nn.ACTIVATIONS[act][0])
    return h


def check_autoencoder_backward(autoencoder_backward: Callable) -> None:
    """``autoencoder_backward(dout, params)``: from ``dout = dL/d(out)`` (N, D) it fills
    ``params['grad_W' + name]`` and ``params['grad_b' + name]`` of every layer, last layer first.

    The caches come from ``helpers.nn.forward`` on a 10-6-3-6-10 network; the expected gradients from
    the chain rule written out in numpy. The first layer (from the output back) whose gradients differ
    is named, with the usual slips (the same dout for every layer, sigmoid's derivative everywhere)."""
    name = "autoencoder_backward"
    from .. import compression

    refuse_reference(autoencoder_backward, compression.autoencoder_backward, name, "C")
    params = _small_autoencoder(2)
    X = _images(5, _SIZES[0], 3)
    out = _forward_with_caches(X, params)
    _, trace = _reference_forward(X, params)
    dout = 2.0 * (out - X)                                  # the summed squared error's gradient
    expected = _reference_backward(dout, params, trace)
    try:
        call(autoencoder_backward, dout.copy(), params, name=name)
    except CheckFailed as e:
        cause = str(e.__cause__)
        if isinstance(e.__cause__, ValueError) and any(m in cause for m in ("delta has shape", "could not be broadcast",
                                                                           "mismatch in its core dimension")):
            raise CheckFailed(f"{e}\nGo through the layers last first (reversed(params['layers'])) and hand each "
                              "layer the delta that backwards returned for the layer after it; only the output "
                              "layer gets dout itself.") from e.__cause__
        raise
    order = [n for n, _ in reversed(params["layers"])]      # output, hidden2, hidden, layer1
    for i, layer in enumerate(order):
        for key in ("grad_W" + layer, "grad_b" + layer):
            if key not in params:
                raise CheckFailed(f"{name}: params has no '{key}' after your backward pass. Go through every "
                                  "layer, the last first (reversed(params['layers'])), with helpers.nn.backwards, "
                                  "which stores the two gradients of a layer.")
            got = expect_shape(name, params[key], expected[key].shape, f"params['{key}']")
            if _same(got, expected[key], 1e-7):
                continue
            if _same(got, _reference_backward(dout, params, trace, derivs=("sigmoid",) * 4)[key], 1e-7):
                raise CheckFailed(f"{name}: params['{key}'] is what the chain rule gives with sigmoid's derivative "
                                  "in every layer, which is helpers.nn.backwards's default: pass each layer's "
                                  "own derivative, backwards(delta, params, name, nn.ACTIVATIONS[activation][1]).")
            right = ", ".join(order[:i]) or "none"
            expect_close(name, got, expected[key], what=f"params['{key}']", rtol=1e-7, atol=1e-9,
                         hint=f"Layers already right (from the output back): {right}. The gradient of a layer "
                              "depends on the delta that the layer after it handed back: backwards(delta, params, "
                              "name, derivative) returns the delta for the layer before.")
    passed(name, f"gradients of all {len(order)} weight and bias pairs right (chain rule in numpy), last layer first")


# ----------------------------------------------------------------------------------------------
# momentum_step
# ----------------------------------------------------------------------------------------------
_MOMENTUM_SHAPES = {"Wa": (3, 4), "ba": (4,), "Wb": (4, 2), "bb": (2,)}

# the homework's update and the slips it is compared with: (M, W, g, lr, mu) -> (M, W)
_UPDATES: dict[str, Callable] = {
    "right": lambda M, W, g, lr, mu: (mu * M - lr * g, W + (mu * M - lr * g)),
    "+lr": lambda M, W, g, lr, mu: (mu * M + lr * g, W + (mu * M + lr * g)),
    "no memory": lambda M, W, g, lr, mu: (-lr * g, W - lr * g),
    "W first": lambda M, W, g, lr, mu: (mu * M - lr * g, W + M),
    "no lr": lambda M, W, g, lr, mu: (mu * M - g, W + (mu * M - g)),
    "mu = 0.9 always": lambda M, W, g, lr, mu: (0.9 * M - lr * g, W + (0.9 * M - lr * g)),
    "mu = 1": lambda M, W, g, lr, mu: (M - lr * g, W + (M - lr * g)),
}
_SLIP_TEXT = {
    "+lr": "M = mu M + lr grad: the step goes up the gradient, the loss grows. It is M = mu M - lr grad",
    "no memory": "M restarted at zero on every call (plain gradient descent, W -= lr grad): keep M in "
                 "params['m_' + key] between calls, starting from zeros the first time",
    "W first": "W updated with the old M before M is updated (so the first step does not move W at all): "
               "update M first, then W += M",
    "no lr": "the learning rate left out: M = mu M - lr grad",
    "mu = 0.9 always": "mu = 0.9 whatever mu was passed: use the argument mu",
    "mu = 1": "M = M - lr grad, without the factor mu on the old M",
}


def _momentum_trajectory(variant: str, W0: dict, grads: list, lr: float, mu: float) -> list[dict]:
    M = {k: np.zeros_like(v) for k, v in W0.items()}
    W = {k: v.copy() for k, v in W0.items()}
    out = []
    for g in grads:
        for k in W:
            M[k], W[k] = _UPDATES[variant](M[k], W[k], g[k], lr, mu)
        out.append({k: v.copy() for k, v in W.items()})
    return out


def _momentum_run(fn: Callable, name: str, seed: int, n_steps: int, lr: float, mu: float) -> None:
    r = np.random.default_rng(seed)
    W0 = {k: r.standard_normal(s) for k, s in _MOMENTUM_SHAPES.items()}
    grads = [{k: r.standard_normal(s) for k, s in _MOMENTUM_SHAPES.items()} for _ in range(n_steps)]
    params: dict = {k: v.copy() for k, v in W0.items()}
    got: list[dict] = []
    for t, g in enumerate(grads):
        for k in g:
            params["grad_" + k] = g[k].copy()
        try:
            call(fn, params, lr, mu, name=name)
        except CheckFailed as e:
            cause = e.__cause__
            if isinstance(cause, KeyError) and "m_" in str(cause):
                raise CheckFailed(f"{e}\nThe accumulators do not exist before the first step: create "
                                  "params['m_' + key] = np.zeros_like(params[key]) when it is missing.") from cause
            if isinstance(cause, RuntimeError) and "changed size" in str(cause):
                raise CheckFailed(f"{e}\nAdding params['m_' + key] while looping over params changes the dict: "
                                  "loop over a list of the keys (for key in list(params): ...).") from cause
            raise
        for k in g:
            if not np.array_equal(params["grad_" + k], g[k]):
                raise CheckFailed(f"{name}: step {t + 1} changed params['grad_{k}']; the update must leave the "
                                  "gradients as they are (is M the same array as the gradient? start it with "
                                  "np.zeros_like, not from the gradient array).")
            if np.shape(params[k]) != W0[k].shape:
                raise CheckFailed(f"{name}: after step {t + 1} params['{k}'] has shape {np.shape(params[k])}; "
                                  f"it should keep its shape {W0[k].shape}.")
        got.append({k: np.array(params[k], dtype=np.float64) for k in W0})
    expected = _momentum_trajectory("right", W0, grads, lr, mu)
    for t in range(n_steps):
        bad = [k for k in W0 if not _same(got[t][k], expected[t][k], 1e-9)]
        if bad:
            _momentum_failure(name, t, bad[0], W0, got, expected, grads, lr, mu)


def _signed_pair(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` as +0.123456, with more decimals where six would show two different numbers alike."""
    for d in range(6, 17):
        sa, sb = f"{a:+.{d}f}", f"{b:+.{d}f}"
        if sa != sb or a == b:
            break
    return sa, sb


def _momentum_failure(name: str, t: int, k: str, W0: dict, got: list, expected: list, grads: list, lr: float,
                      mu: float) -> None:
    """Raise CheckFailed for the first wrong step t (0-based) of params[k], naming the slip whose whole
    trajectory the reader's matches, with the worst entry's change in every step."""
    n_steps = len(grads)
    text = ""
    for variant, slip_text in _SLIP_TEXT.items():
        if variant == "mu = 0.9 always" and mu == 0.9:
            continue
        slip = _momentum_trajectory(variant, W0, grads, lr, mu)
        if all(_same(got[s][j], slip[s][j], 1e-9) for s in range(n_steps) for j in W0):
            text = slip_text
            break
    frozen = [j for j in W0 if all(np.array_equal(got[s][j], W0[j]) for s in range(n_steps))]
    err = np.abs(got[t][k] - expected[t][k])
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    rows = []
    for s in range(n_steps):
        prev_e = W0[k][idx] if s == 0 else expected[s - 1][k][idx]
        prev_g = W0[k][idx] if s == 0 else got[s - 1][k][idx]
        g_step, e_step = _signed_pair(float(got[s][k][idx] - prev_g), float(expected[s][k][idx] - prev_e))
        rows.append(f"  step {s + 1}: W changed by {g_step}, expected {e_step}")
    where = "step 1" if t == 0 else "step 2 (step 1 was right)" if t == 1 else f"step {t + 1} (steps 1-{t} were right)"
    msg = (f"{name}: with lr {lr}, mu {mu}, params['{k}'] first differs from M = mu M - lr grad; W += M in "
           f"{where}, by up to {float(err.max()):.3g}. Entry {tuple(int(i) for i in idx)} of params['{k}'] over "
           f"{n_steps} consecutive steps:\n" + "\n".join(rows))
    if text:
        msg += f"\nYour steps match this slip: {text}."
    elif frozen:
        msg += (f"\n{', '.join(frozen)} never changed: update every array that has a gradient, weights and "
                "biases alike, in params itself (params[key] += M, or params[key] = params[key] + M).")
    else:
        msg += "\nStart M at zero, then every step: M = mu * M - lr * grad, then W += M."
    raise CheckFailed(msg)


def check_momentum_step(momentum_step: Callable) -> None:
    """``momentum_step(params, lr, mu=0.9)``: for every array with a gradient ``params['grad_' + key]``,
    ``M = mu * M - lr * grad; params[key] += M``, in place, M starting at zero on the first call and
    kept between calls (in ``params['m_' + key]``).

    Graded over 3 consecutive steps (lr 0.1, mu 0.9) and 2 more (lr 0.05, mu 0.5) on two weight
    arrays and two bias vectors with random gradients. A wrong trajectory is compared with the usual
    slips: +lr, M not kept between steps, W updated before M, lr or mu left out."""
    name = "momentum_step"
    from .. import nn

    refuse_reference(momentum_step, nn.momentum_step, name, "nn")
    _momentum_run(momentum_step, name, seed=0, n_steps=3, lr=0.1, mu=0.9)
    _momentum_run(momentum_step, name, seed=1, n_steps=2, lr=0.05, mu=0.5)
    passed(name, "weights and biases right over 3 consecutive steps (lr 0.1, mu 0.9) and 2 more (lr 0.05, mu 0.5); "
                 "M kept between steps")


# ----------------------------------------------------------------------------------------------
# train_autoencoder_epoch
# ----------------------------------------------------------------------------------------------
def _epoch_reference(X: np.ndarray, params: dict, lr: float, batch_rows: list, mu: float) -> float:
    """One epoch over the given batches (lists of row indices), updating ``params`` in place; returns the
    summed squared error of the batches (before each batch's update) divided by N."""
    total = 0.0
    for rows in batch_rows:
        xb = X[rows]
        out, trace = _reference_forward(xb, params)
        total += float(np.sum((out - xb) ** 2))
        grads = _reference_backward(2.0 * (out - xb), params, trace)
        for name, _ in params["layers"]:
            for p in "Wb":
                k = p + name
                m = params.get("m_" + k, np.zeros_like(params[k]))
                params["m_" + k] = mu * m - lr * grads["grad_" + k]
                params[k] = params[k] + params["m_" + k]
    return total / len(X)


def _check_epoch_run(fn: Callable, name: str, X: np.ndarray, batch_size: int, lr: float, mu: float,
                     epochs: int, what: str) -> None:
    params = _small_autoencoder(4)
    ref = _copy_params(params)
    n_batches = -(-len(X) // batch_size)
    for e in range(epochs):
        batches = [np.arange(len(X))[i * batch_size:(i + 1) * batch_size] for i in range(n_batches)]
        expected_loss = _epoch_reference(X, ref, lr, batches, mu)
        loss = call(fn, X.copy(), params, lr, batch_size, mu, np.random.default_rng(e), name=name)
        if loss is None or np.ndim(loss) != 0:
            raise CheckFailed(f"{name}: it returned {loss!r}; it should return the epoch's loss, one number "
                              "(the summed squared error of the batches divided by the number of images).")
        for layer in _NAMES:
            for p in "Wb":
                k = p + layer
                if not _same(params[k], ref[k], 1e-7):
                    one_update, no_momentum = _small_autoencoder(4), _small_autoencoder(4)
                    for _ in range(e + 1):
                        _epoch_reference(X, one_update, lr, [np.arange(len(X))], mu)
                        _epoch_reference(X, no_momentum, lr, batches, 0.0)
                    hint = ""
                    if n_batches > 1 and _same(params[k], one_update[k], 1e-7):
                        hint = (f" Your epoch made one update from the whole set; it should make one per "
                                f"mini-batch ({n_batches} here).")
                    elif _same(params[k], no_momentum[k], 1e-7):
                        hint = (" Your weights are those of plain gradient descent (W -= lr grad, no momentum): "
                                "update with the momentum step.")
                    expect_close(name, params[k], ref[k], what=f"params['{k}'] after epoch {e + 1} ({what})",
                                 rtol=1e-7, atol=1e-10,
                                 hint=("Every batch: forward, squared-error gradient 2 (out - x), backward, then "
                                       "the momentum step M = mu M - lr grad; W += M (M kept from batch to batch "
                                       "and from epoch to epoch)." + hint))
        if not np.isclose(float(loss), expected_loss, rtol=1e-7, atol=0):
            total = expected_loss * len(X)
            hint = (" That is the total, not divided by the number of images." if np.isclose(float(loss), total)
                    else " That is the mean per pixel, not the sum per image." if np.isclose(
                        float(loss), expected_loss / X.shape[1]) else "")
            want_s, got_s = fmt_pair(expected_loss, float(loss))
            raise CheckFailed(f"{name}: epoch {e + 1} ({what}) returned loss {got_s}, expected "
                              f"{want_s}: the summed squared error of each batch before its update, "
                              f"added over the batches and divided by N = {len(X)}.{hint}")


def check_autoencoder_epoch(train_autoencoder_epoch: Callable) -> None:
    """``train_autoencoder_epoch(X, params, lr, batch_size, momentum, rng) -> loss``: one pass over X in
    mini-batches, each batch one forward pass, one backward pass of the summed squared error and one
    momentum step; returns the summed squared error of the batches (before their updates) over N.

    Graded so that the batches' random order cannot matter: two epochs with one batch holding all 6
    rows, then two epochs of 3 batches of 2 on 6 copies of one image (every batch the same)."""
    name = "train_autoencoder_epoch"
    X = _images(6, _SIZES[0], 5)
    _check_epoch_run(train_autoencoder_epoch, name, X, batch_size=6, lr=0.05, mu=0.9, epochs=2,
                     what="one batch of all 6 rows")
    _check_epoch_run(train_autoencoder_epoch, name, np.repeat(X[:1], 6, axis=0), batch_size=2, lr=0.05, mu=0.9,
                     epochs=2, what="3 batches of 2 identical rows")
    passed(name, "weights and returned loss right over 2 epochs of 1 batch and 2 epochs of 3 batches (momentum "
                 "kept across batches and epochs)")


# ----------------------------------------------------------------------------------------------
# pca_by_svd
# ----------------------------------------------------------------------------------------------
def _pca_data(n: int, d: int, seed: int) -> np.ndarray:
    """Rows with clearly separated variances along random orthonormal directions, far from the origin
    (a large mean, so that forgetting to centre changes the answer)."""
    r = np.random.default_rng(seed)
    q, _ = np.linalg.qr(r.standard_normal((d, d)))
    scales = 3.0 * 0.7 ** np.arange(d)
    return r.standard_normal((n, d)) * scales @ q.T + r.uniform(2.0, 4.0, d)


def _top_directions(X: np.ndarray, centre: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(directions as rows, largest variance first; eigenvalues of (X - mean)^T (X - mean)), from
    the symmetric eigendecomposition, not from an SVD."""
    Xc = X - X.mean(axis=0) if centre else X
    w, v = np.linalg.eigh(Xc.T @ Xc)
    return v[:, ::-1].T, np.clip(w[::-1], 0, None)


def _subspace_error(Xc: np.ndarray, rows: np.ndarray) -> float:
    """Summed squared distance of the rows of Xc from the span of ``rows`` (orthonormal)."""
    return float(np.sum((Xc - Xc @ rows.T @ rows) ** 2))


def _pca_case(fn: Callable, name: str, X: np.ndarray, k: int) -> None:
    N, D = X.shape
    r = min(N, D)
    V, eig = _top_directions(X)
    s_true = np.sqrt(eig[:r])
    result = call_unchanged(fn, X.copy(), k, name=name)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise CheckFailed(f"{name}: it should return three things, (mean, components, singular_values); it "
                          f"returned {type(result).__name__}"
                          + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "") + ".")
    mean, comps, s = result
    where = f"(X of shape {X.shape}, k = {k})"
    # the mean
    if mean is not None and np.shape(mean) == (N,):
        raise CheckFailed(f"{name}: mean has shape ({N},), one number per image; it should be the average image, "
                          f"({D},): X.mean(axis=0).")
    expect_close(name, mean, X.mean(axis=0), what=f"mean {where}", rtol=1e-8, atol=1e-10,
                 hint="The mean is the average row (image), X.mean(axis=0).")
    # the components: shape, orthonormal rows, the top-k subspace, in order
    if comps is None:
        raise CheckFailed(f"{name}: components is None; did the function forget to return it?")
    tol = 1.0 if rtol_for(np.asarray(comps), np.asarray(s) if s is not None else None) <= 1e-7 else 1e3
    comps = np.asarray(comps, dtype=np.float64)
    if comps.shape == (D, k) and D != k:
        raise CheckFailed(f"{name}: components has shape {comps.shape} = (D, k); the book's convention is (k, D), "
                          "one component per row: the first k rows of V^T (vt[:k]). (The homework's projection "
                          "matrix P, (D, k), is components.T.)")
    if comps.ndim == 2 and comps.shape[1] == D and comps.shape[0] in (r, D) and comps.shape[0] != k:
        raise CheckFailed(f"{name}: components has {comps.shape[0]} rows {where}; keep only the first k = {k} "
                          "rows of V^T.")
    if comps.ndim == 2 and comps.shape == (k, N) and N != D:
        raise CheckFailed(f"{name}: components has shape {comps.shape}, (k, N): one value per image in each row, "
                          "which is U from the SVD (transposed). The principal directions are the rows of V^T (the "
                          "third thing np.linalg.svd returns), the first k of them, (k, D).")
    if comps.ndim == 2 and comps.shape[0] == N and N != k:
        raise CheckFailed(f"{name}: components has shape {comps.shape}, one row per image: that looks like U from "
                          "the SVD. The principal directions are the rows of V^T (the third thing np.linalg.svd "
                          "returns), the first k of them.")
    expect_shape(name, comps, (k, D), f"components {where}")
    gram = comps @ comps.T
    if not np.allclose(gram, np.eye(k), atol=1e-8 * tol):
        norms = np.sqrt(np.diag(gram))
        off = np.abs(gram - np.diag(np.diag(gram))).max()
        if off < 1e-6 * max(1.0, norms.max() ** 2) and np.allclose(norms, s_true[:k], rtol=1e-6):
            raise CheckFailed(f"{name}: the components are orthogonal but have lengths {np.round(norms, 3)}, the "
                              "singular values: these are rows of S V^T. Return the rows of V^T themselves "
                              "(unit length).")
        raise CheckFailed(f"{name}: the components should be orthonormal (components @ components.T = identity) "
                          f"but their lengths are {np.round(norms, 4)} and the largest dot product of two "
                          f"different rows is {off:.3g} {where}. Take them from the SVD of the centred data.")
    Xc = X - X.mean(axis=0)
    err, best = _subspace_error(Xc, comps), float(eig[k:].sum())
    if err > best * (1 + 1e-7 * tol) + 1e-9 * tol * eig.sum():
        Vu, _ = _top_directions(X, centre=False)
        if np.allclose(np.abs(comps @ Vu[:k].T), np.eye(k), atol=1e-6):
            cause = ("they are the top directions of X itself, not of X - mean: centre the data (subtract "
                     "X.mean(axis=0)) before the SVD, or the first direction just points at the mean")
        elif np.allclose(np.abs(comps @ V[r - k:r][::-1].T), np.eye(k), atol=1e-6) or \
                np.allclose(np.abs(comps @ V[r - k:r].T), np.eye(k), atol=1e-6):
            cause = ("they are the directions of *least* variance: np.linalg.svd sorts the singular values "
                     "largest first, so keep vt[:k] (np.linalg.eigh sorts smallest first)")
        else:
            cause = "they are not the top-k principal directions (the first k rows of V^T of the centred data)"
        raise CheckFailed(f"{name}: projecting the centred rows onto your {k} components leaves a summed squared "
                          f"error of {err:.6g} {where}; the best {k}-dimensional subspace (PCA's) leaves {best:.6g}, "
                          f"{(1 - best / err):.1%} less. {cause[0].upper() + cause[1:]}.")
    align = np.abs(np.sum(comps * V[:k], axis=1))
    if not np.allclose(align, 1.0, atol=1e-6 * max(1.0, tol / 10)):
        raise CheckFailed(f"{name}: the {k} components span the right subspace but are not the principal "
                          "directions in order of decreasing variance (row 0 should have the largest): keep the "
                          "first k rows of V^T, in the order np.linalg.svd returns them.")
    # the singular values
    if s is None:
        raise CheckFailed(f"{name}: singular_values is None; did the function forget to return it?")
    s = np.asarray(s, dtype=np.float64)
    if s.shape == (k,) and k != r:
        raise CheckFailed(f"{name}: singular_values has {k} entries {where}; return all min(N, D) = {r} of them "
                          "(the PCA class needs them all for the explained variance).")
    expect_shape(name, s, (r,), f"singular_values {where}")
    atol = 1e-6 * tol * float(s_true[0])  # the smallest can be 0 (N <= D: the centred rows have rank N - 1)
    if not np.allclose(s, s_true, rtol=1e-7 * tol, atol=atol):
        hint = "They are the diagonal of S in X - mean = U S V^T, largest first."
        if np.allclose(s, np.linalg.svd(X, compute_uv=False), rtol=1e-7, atol=atol):
            hint = "These are the singular values of X itself: take the SVD of X - mean."
        elif np.allclose(s, s_true ** 2, rtol=1e-6) or np.allclose(s, s_true ** 2 / N, rtol=1e-6):
            hint = "These are squares (the variances s^2 or s^2 / N); return s itself."
        expect_close(name, s, s_true, what=f"singular_values {where}", rtol=1e-7 * tol, atol=atol, hint=hint)


def check_pca_by_svd(pca_by_svd: Callable) -> None:
    """``pca_by_svd(X, k) -> (mean, components, singular_values)``: mean (D,) the average row,
    components (k, D) the first k rows of V^T in ``X - mean = U S V^T`` (orthonormal, largest variance
    first), singular_values (min(N, D),) the diagonal of S, largest first.

    Graded on a tall (40 x 12, k = 3) and a wide (9 x 16, k = 4) data set with a large mean against the
    eigenvectors of the covariance matrix: the components must leave exactly the smallest possible
    reconstruction error of any k-dimensional subspace (up to each row's sign, which the SVD does not fix)."""
    name = "pca_by_svd"
    from .. import compression

    refuse_reference(pca_by_svd, compression.pca_by_svd, name, "C")
    _pca_case(pca_by_svd, name, _pca_data(40, 12, 0), 3)
    _pca_case(pca_by_svd, name, _pca_data(9, 16, 1), 4)
    passed(name, "mean, k orthonormal components (k, D) in order of variance with the least reconstruction "
                 "error, and every singular value right on 40 x 12 (k = 3) and 9 x 16 (k = 4) data")
