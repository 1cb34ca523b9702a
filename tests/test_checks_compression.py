"""Tests of helpers.checks.compression: every check passes the book's function (printing one ✔ line),
fails plausible wrong versions with a message that names the mistake, and says "not written yet"
for the student stub."""
import functools
import time

import numpy as np
import pytest

from helpers import checks, nn
from helpers import compression as C
from helpers.checks import CheckFailed
from helpers.checks import compression as cc


def as_answer(f):
    """The book's function handed in as a reader's answer (a check refuses the book's own function object)."""
    @functools.wraps(f)
    def answer(*args, **kwargs):
        return f(*args, **kwargs)
    return answer


REFERENCE = {
    "check_autoencoder_forward": C.autoencoder_forward,
    "check_autoencoder_backward": C.autoencoder_backward,
    "check_autoencoder_epoch": C.train_autoencoder_epoch,
    "check_momentum_step": nn.momentum_step,
    "check_pca_by_svd": C.pca_by_svd,
}


def test_every_public_check_is_exported_and_tested():
    assert sorted(cc.__all__) == sorted(REFERENCE)
    for name in cc.__all__:
        assert getattr(checks, name) is getattr(cc, name)      # reachable as checks.check_...


@pytest.mark.parametrize("check", sorted(REFERENCE))
def test_the_books_function_passes_fast_with_one_line(check, capsys):
    t0 = time.perf_counter()
    getattr(checks, check)(as_answer(REFERENCE[check]))
    assert time.perf_counter() - t0 < 1.0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("\u2714 ")


@pytest.mark.parametrize("check", sorted(REFERENCE))
def test_a_stub_is_not_written_yet(check):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        getattr(checks, check)(stub)


def test_passing_a_result_instead_of_the_function():
    with pytest.raises(CheckFailed, match="expected a function"):
        checks.check_pca_by_svd(C.pca_by_svd(np.eye(3), 1))


# ---------------------------------------------------------------------------------------------
# momentum_step
# ---------------------------------------------------------------------------------------------
def _keys(params):
    return [k for k in list(params) if not k.startswith(("grad_", "m_")) and ("grad_" + k) in params]


def momentum_plus_lr(params, lr, mu=0.9):
    for k in _keys(params):
        m = params.setdefault("m_" + k, np.zeros_like(params[k]))
        m *= mu
        m += lr * params["grad_" + k]
        params[k] += m


def momentum_no_memory(params, lr, mu=0.9):
    for k in _keys(params):
        m = mu * np.zeros_like(params[k]) - lr * params["grad_" + k]
        params[k] += m


def momentum_w_first(params, lr, mu=0.9):
    for k in _keys(params):
        m = params.setdefault("m_" + k, np.zeros_like(params[k]))
        params[k] += m
        params["m_" + k] = mu * m - lr * params["grad_" + k]


def momentum_fixed_mu(params, lr, mu=0.9):
    for k in _keys(params):
        params["m_" + k] = 0.9 * params.get("m_" + k, 0) - lr * params["grad_" + k]
        params[k] += params["m_" + k]


def momentum_weights_only(params, lr, mu=0.9):
    for k in _keys(params):
        if k.startswith("W"):
            params["m_" + k] = mu * params.get("m_" + k, 0) - lr * params["grad_" + k]
            params[k] += params["m_" + k]


def momentum_no_init(params, lr, mu=0.9):
    for k in _keys(params):
        params["m_" + k] = mu * params["m_" + k] - lr * params["grad_" + k]
        params[k] += params["m_" + k]


def momentum_grows_dict_in_loop(params, lr, mu=0.9):
    for k in params:
        if k[0] in "Wb":
            params["m_" + k] = mu * params.get("m_" + k, 0) - lr * params["grad_" + k]
            params[k] += params["m_" + k]


def momentum_returns_new_dict(params, lr, mu=0.9):
    return {k: (params[k] - lr * params["grad_" + k] if k in _keys(params) else v) for k, v in params.items()}


def momentum_aliases_gradient(params, lr, mu=0.9):
    for k in _keys(params):
        m = params.setdefault("m_" + k, params["grad_" + k])     # M *is* the gradient array
        m *= mu
        m -= lr * params["grad_" + k]
        params[k] += m


@pytest.mark.parametrize("fn, message", [
    (momentum_plus_lr, r"in step 1, by up to .*\n  step 1: W changed by .*\n  step 2: .*\n  step 3: .*"
                       r"slip: M = mu M \+ lr grad"),
    (momentum_no_memory, r"in step 2 \(step 1 was right\).*M restarted at zero on every call"),
    (momentum_w_first, r"in step 1,.*step 1: W changed by \+0\.000000.*W updated with the old M before M"),
    (momentum_fixed_mu, r"with lr 0\.05, mu 0\.5, .*in step 2 .*mu = 0\.9 whatever mu was passed"),
    (momentum_weights_only, r"params\['ba'\] first differs.*ba, bb never changed"),
    (momentum_no_init, r"raised KeyError: 'm_Wa'\nThe accumulators do not exist before the first step"),
    (momentum_grows_dict_in_loop, r"dictionary changed size.*loop over a list of the keys"),
    (momentum_returns_new_dict, r"Wa, ba, Wb, bb never changed.*in params itself"),
    (momentum_aliases_gradient, r"step 1 changed params\['grad_Wa'\]"),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_momentum_step_catches(fn, message):
    with pytest.raises(CheckFailed, match="(?s)" + message) as err:
        checks.check_momentum_step(fn)
    assert str(err.value).startswith("momentum_step")


def test_momentum_step_reports_consecutive_steps():
    with pytest.raises(CheckFailed) as err:
        checks.check_momentum_step(momentum_no_memory)
    text = str(err.value)
    assert text.count("expected") == 3, text          # steps 1, 2 and 3 side by side
    step1 = [line for line in text.splitlines() if line.strip().startswith("step 1:")][0]
    got, expected = (float(v) for v in step1.replace(",", "").split()[5::2])
    assert got == expected                             # the first step of plain descent is right


# ---------------------------------------------------------------------------------------------
# pca_by_svd
# ---------------------------------------------------------------------------------------------
def _svd(X):
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, s, vt


def pca_not_centred(X, k):
    _, s, vt = np.linalg.svd(X, full_matrices=False)
    return X.mean(axis=0), vt[:k], s


def pca_columns(X, k):
    mean, s, vt = _svd(X)
    return mean, vt[:k].T, s


def pca_smallest(X, k):
    mean, s, vt = _svd(X)
    return mean, vt[-k:], s


def pca_eigh_ascending(X, k):
    mean = X.mean(axis=0)
    w, v = np.linalg.eigh(np.cov((X - mean).T))
    return mean, v[:, :k].T, np.sqrt(np.clip(w[::-1], 0, None) * (len(X) - 1))[:min(X.shape)]


def pca_scaled(X, k):
    mean, s, vt = _svd(X)
    return mean, s[:k, None] * vt[:k], s


def pca_mean_per_image(X, k):
    _, s, vt = _svd(X)
    return X.mean(axis=1), vt[:k], s


def pca_u(X, k):
    mean = X.mean(axis=0)
    u, s, _ = np.linalg.svd(X - mean, full_matrices=False)
    return mean, u, s


def pca_all_rows(X, k):
    mean, s, vt = _svd(X)
    return mean, vt, s


def pca_reversed(X, k):
    mean, s, vt = _svd(X)
    return mean, vt[:k][::-1], s


def pca_k_values(X, k):
    mean, s, vt = _svd(X)
    return mean, vt[:k], s[:k]


def pca_variances(X, k):
    mean, s, vt = _svd(X)
    return mean, vt[:k], s ** 2 / len(X)


def pca_uncentred_values(X, k):
    mean, _, vt = _svd(X)
    return mean, vt[:k], np.linalg.svd(X, compute_uv=False)


def pca_two_things(X, k):
    mean, _, vt = _svd(X)
    return mean, vt[:k]


def pca_eigh_right(X, k):
    """A right answer by another route: the eigenvectors of the scatter matrix, largest first."""
    mean = X.mean(axis=0)
    w, v = np.linalg.eigh((X - mean).T @ (X - mean))
    return mean, -v[:, ::-1][:, :k].T, np.sqrt(np.clip(w[::-1], 0, None))[:min(X.shape)]


@pytest.mark.parametrize("fn, message", [
    (pca_not_centred, r"your 3 components leaves a summed squared error of .*; the best 3-dimensional subspace "
                      r"\(PCA's\) leaves .*% less\. They are the top directions of X itself, not of X - mean"),
    (pca_columns, r"shape \(12, 3\) = \(D, k\); the book's convention is \(k, D\)"),
    (pca_smallest, r"directions of \*least\* variance"),
    (pca_eigh_ascending, r"directions of \*least\* variance.*eigh sorts smallest first"),
    (pca_scaled, r"orthogonal but have lengths .* the singular values: these are rows of S V\^T"),
    (pca_mean_per_image, r"mean has shape \(40,\), one number per image.*X\.mean\(axis=0\)"),
    (pca_u, r"one row per image: that looks like U"),
    (pca_all_rows, r"components has 12 rows .*keep only the first k = 3"),
    (pca_reversed, r"span the right subspace but are not the principal directions in order"),
    (pca_k_values, r"singular_values has 3 entries .*all min\(N, D\) = 12"),
    (pca_variances, r"singular_values .*differs.*These are squares"),
    (pca_uncentred_values, r"singular_values .*differs.*singular values of X itself"),
    (pca_two_things, r"return three things, .* tuple of length 2"),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_pca_by_svd_catches(fn, message):
    with pytest.raises(CheckFailed, match="(?s)" + message):
        checks.check_pca_by_svd(fn)


def test_pca_by_svd_accepts_another_right_route_and_any_signs(capsys):
    checks.check_pca_by_svd(pca_eigh_right)             # eigh instead of svd, every sign flipped
    assert "\u2714 pca_by_svd" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# autoencoder_forward / autoencoder_backward / train_autoencoder_epoch
# ---------------------------------------------------------------------------------------------
def forward_all_sigmoid(X, params):
    h = X
    for name, _ in params["layers"]:
        h = nn.forward(h, params, name, nn.sigmoid)
    return h


def forward_no_return(X, params):
    h = X
    for name, act in params["layers"]:
        h = nn.forward(h, params, name, nn.ACTIVATIONS[act][0])


def forward_no_cache(X, params):
    h = X
    for name, act in params["layers"]:
        h = nn.ACTIVATIONS[act][0](h @ params["W" + name] + params["b" + name])
    return h


def forward_no_bias(X, params):
    h = X
    for name, act in params["layers"]:
        h = nn.ACTIVATIONS[act][0](h @ params["W" + name])
    return h


@pytest.mark.parametrize("fn, message", [
    (forward_all_sigmoid, r"what the network gives with a sigmoid on every layer"),
    (forward_no_return, r"is None; did the function forget to `return` it"),
    (forward_no_cache, r"the output is right, but params has no cache_layer1"),
    (forward_no_bias, r"the network's without its biases"),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_autoencoder_forward_catches(fn, message):
    with pytest.raises(CheckFailed, match="(?s)" + message):
        checks.check_autoencoder_forward(fn)


def backward_first_layer_first(dout, params):
    for name, act in params["layers"]:
        dout = nn.backwards(dout, params, name, nn.ACTIVATIONS[act][1])


def backward_same_dout(dout, params):
    for name, act in reversed(params["layers"]):
        nn.backwards(dout, params, name, nn.ACTIVATIONS[act][1])


def backward_default_derivative(dout, params):
    for name, _ in reversed(params["layers"]):
        dout = nn.backwards(dout, params, name)


def backward_stops_early(dout, params):
    for name, act in list(reversed(params["layers"]))[:3]:
        dout = nn.backwards(dout, params, name, nn.ACTIVATIONS[act][1])


def backward_halves_a_delta(dout, params):
    for name, act in reversed(params["layers"]):
        dout = nn.backwards(dout / 2 if name == "hidden" else dout, params, name, nn.ACTIVATIONS[act][1])


@pytest.mark.parametrize("fn, message", [
    (backward_first_layer_first, r"raised ValueError: .*\nGo through the layers last first"),
    (backward_same_dout, r"raised ValueError: .*\nGo through the layers last first"),
    (backward_default_derivative, r"grad_Whidden2'\] is what the chain rule gives with sigmoid's derivative"),
    (backward_stops_early, r"no 'grad_Wlayer1' after your backward pass"),
    (backward_halves_a_delta, r"params\['grad_Whidden'\] differs.*Layers already right \(from the output back\): "
                              r"output, hidden2"),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_autoencoder_backward_catches(fn, message):
    with pytest.raises(CheckFailed, match="(?s)" + message):
        checks.check_autoencoder_backward(fn)


def epoch_total_loss(X, params, lr, batch_size=36, momentum=0.9, rng=None):
    return C.train_autoencoder_epoch(X, params, lr, batch_size, momentum, rng) * len(X)


def epoch_one_update(X, params, lr, batch_size=36, momentum=0.9, rng=None):
    return C.train_autoencoder_epoch(X, params, lr, len(X), momentum, rng)


def epoch_plain_sgd(X, params, lr, batch_size=36, momentum=0.9, rng=None):
    total = 0.0
    for xb, _ in nn.get_random_batches(X, X, batch_size, rng):
        loss, dout = nn.squared_error(xb, C.autoencoder_forward(xb, params))
        C.autoencoder_backward(dout, params)
        nn.sgd_step(params, lr)
        total += loss
    return total / len(X)


def epoch_no_return(X, params, lr, batch_size=36, momentum=0.9, rng=None):
    C.train_autoencoder_epoch(X, params, lr, batch_size, momentum, rng)


@pytest.mark.parametrize("fn, message", [
    (epoch_total_loss, r"returned loss .* That is the total, not divided by the number of images"),
    (epoch_one_update, r"3 batches of 2 identical rows.*one update from the whole set; it should make one per "
                       r"mini-batch \(3 here\)"),
    (epoch_plain_sgd, r"after epoch 2 .*plain gradient descent"),
    (epoch_no_return, r"returned None; it should return the epoch's loss"),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_autoencoder_epoch_catches(fn, message):
    with pytest.raises(CheckFailed, match="(?s)" + message):
        checks.check_autoencoder_epoch(fn)
