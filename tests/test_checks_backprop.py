"""helpers.checks.backprop: every check passes on the book's functions and on a reader's plain
answer, and fails with a message that teaches on plausible wrong versions."""
import functools
import math

import numpy as np
import pytest

from helpers import checks, nn
from helpers.checks import CheckFailed


def as_answer(f):
    """The book's function handed in as a reader's answer (a check refuses the book's own function object)."""
    @functools.wraps(f)
    def answer(*args, **kwargs):
        return f(*args, **kwargs)
    return answer


CHECKED = ["sigmoid", "initialize_weights", "forward", "softmax", "compute_loss_and_acc", "backwards",
           "get_random_batches", "train_epoch", "numerical_gradient"]


def check(name):
    return getattr(checks, "check_" + name)


def test_every_check_is_exported():
    assert set(checks.backprop.__all__) == {"check_" + n for n in CHECKED}


@pytest.mark.parametrize("name", CHECKED)
def test_passes_on_the_book_reference(name, capsys):
    check(name)(as_answer(getattr(nn, name)))
    out = capsys.readouterr().out
    assert out.startswith(f"\u2714 {name}:") and out.count("\n") == 1


@pytest.mark.parametrize("name", CHECKED)
def test_a_stub_is_not_written_yet(name):
    def stub(*args, **kwargs):
        raise NotImplementedError()
    stub.__name__ = name
    with pytest.raises(CheckFailed, match=f"{name} is not written yet"):
        check(name)(stub)


def test_passing_a_result_instead_of_the_function():
    with pytest.raises(CheckFailed, match="expected a function"):
        checks.check_sigmoid(nn.sigmoid(np.zeros(3)))


# ---------------------------------------------------------------------------------------------
# plain answers, as a reader writes them (and as the chapters' solution cells do): they pass
# ---------------------------------------------------------------------------------------------
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def initialize_weights(in_size, out_size, params, name=""):
    a = np.sqrt(6 / (in_size + out_size))
    params["W" + name] = np.random.uniform(-a, a, (in_size, out_size))
    params["b" + name] = np.zeros(out_size)


def forward(X, params, name="", activation=nn.sigmoid):
    pre = X @ params["W" + name] + params["b" + name]
    post = activation(pre)
    params["cache_" + name] = (X, pre, post)
    return post


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def compute_loss_and_acc(y, probs):
    loss = -np.sum(y * np.log(probs))
    acc = np.mean(probs.argmax(axis=1) == y.argmax(axis=1))
    return loss, acc


def backwards(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
    X, pre, post = params["cache_" + name]
    delta_pre = delta * activation_deriv(post)
    params["grad_W" + name] = X.T @ delta_pre
    params["grad_b" + name] = delta_pre.sum(axis=0)
    return delta_pre @ params["W" + name].T


def get_random_batches(X, y, batch_size):
    idx = np.random.permutation(len(X))
    return [(X[idx[s:s + batch_size]], y[idx[s:s + batch_size]]) for s in range(0, len(X), batch_size)]


def train_epoch(X, Y, params, lr, batch_size=32, rng=None):
    total_loss, total_acc = 0.0, 0.0
    for xb, yb in nn.get_random_batches(X, Y, batch_size, rng):
        probs = nn.mlp_forward(xb, params)
        loss, acc = nn.compute_loss_and_acc(yb, probs)
        nn.mlp_backwards(probs - yb, params)
        for name, _ in params["layers"]:
            params["W" + name] -= lr * params["grad_W" + name]
            params["b" + name] -= lr * params["grad_b" + name]
        total_loss += loss
        total_acc += acc * len(xb)
    return total_loss / len(X), total_acc / len(X)


def numerical_gradient(f, param_array, eps=1e-6):
    grad = np.zeros_like(param_array)
    for i in np.ndindex(param_array.shape):
        old = param_array[i]
        param_array[i] = old + eps
        up = f()
        param_array[i] = old - eps
        down = f()
        param_array[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


PLAIN = {f.__name__: f for f in (sigmoid, initialize_weights, forward, softmax, compute_loss_and_acc, backwards,
                                 get_random_batches, train_epoch, numerical_gradient)}


@pytest.mark.parametrize("name", CHECKED)
def test_passes_on_a_plain_answer(name, capsys):
    check(name)(PLAIN[name])
    assert capsys.readouterr().out.startswith("\u2714")


def fails(name, fn, match):
    with pytest.raises(CheckFailed, match=match) as err:
        check(name)(fn)
    return str(err.value)


# ---------------------------------------------------------------------------------------------
# wrong versions: each fails, and says why
# ---------------------------------------------------------------------------------------------
def test_sigmoid_mistakes():
    fails("sigmoid", lambda x: 1 / (1 + np.exp(x)), "Check the sign")
    msg = fails("sigmoid", lambda x: np.exp(x) / (1 + np.exp(x)), "NaN")
    assert "inf / inf" in msg
    fails("sigmoid", lambda x: math.exp(-x), "raised TypeError")
    fails("sigmoid", lambda x: 1 / (1 + np.exp(-x.ravel())), "shape")
    fails("sigmoid", lambda x: np.tanh(x), r"at \(")          # lists the entries that differ


def test_initialize_weights_mistakes():
    def randn(i, o, params, name=""):
        params["W" + name], params["b" + name] = np.random.randn(i, o), np.zeros(o)

    def biases(i, o, params, name=""):
        initialize_weights(i, o, params, name)
        params["b" + name] = np.full(o, 0.1)

    def swapped(i, o, params, name=""):
        initialize_weights(o, i, params, name)

    def positive(i, o, params, name=""):
        a = np.sqrt(6 / (i + o))
        params["W" + name], params["b" + name] = np.random.uniform(0, a, (i, o)), np.zeros(o)

    def too_small(i, o, params, name=""):
        a = np.sqrt(1 / (i + o))
        params["W" + name], params["b" + name] = np.random.uniform(-a, a, (i, o)), np.zeros(o)

    def normal(i, o, params, name=""):
        params["W" + name] = np.random.normal(0, np.sqrt(2 / (i + o)), (i, o))
        params["b" + name] = np.zeros(o)

    def new_dict(i, o, params, name=""):
        return initialize_weights(i, o, {}, name)

    assert "randn" in fails("initialize_weights", randn, r"\[-a, a\]")
    fails("initialize_weights", biases, "biases should start at zero")
    fails("initialize_weights", swapped, r"shape \(300, 200\) but has shape \(200, 300\)")
    fails("initialize_weights", positive, "centred at 0")
    fails("initialize_weights", too_small, "variance of W")
    fails("initialize_weights", normal, "uniform")
    fails("initialize_weights", new_dict, "params has no key 'Wlayer1'")


def test_forward_mistakes():
    def no_bias(X, params, name="", activation=nn.sigmoid):
        return forward(X, dict(params, **{"b" + name: 0 * params["b" + name]}), name, activation)

    def no_activation(X, params, name="", activation=nn.sigmoid):
        return forward(X, params, name, nn.linear)

    def always_sigmoid(X, params, name="", activation=nn.sigmoid):
        return forward(X, params, name, nn.sigmoid)

    def no_cache(X, params, name="", activation=nn.sigmoid):
        return activation(X @ params["W" + name] + params["b" + name])

    def cache_order(X, params, name="", activation=nn.sigmoid):
        post = forward(X, params, name, activation)
        X, pre, post = params["cache_" + name]
        params["cache_" + name] = (X, post, pre)
        return post

    def transposed(X, params, name="", activation=nn.sigmoid):
        return activation(X @ params["W" + name].T + params["b" + name])

    fails("forward", no_bias, "bias is missing")
    fails("forward", no_activation, "pre-activation")
    fails("forward", always_sigmoid, "applied the sigmoid")
    fails("forward", no_cache, "no 'cache_layer1'")
    fails("forward", cache_order, "the cached pre")
    assert "(N, D) by (D, M)" in fails("forward", transposed, "raised ValueError")


def test_softmax_mistakes():
    def unstable(x):
        e = np.exp(x)
        return e / e.sum(axis=1, keepdims=True)

    def wrong_axis(x):
        e = np.exp(x - x.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    def global_max(x):
        e = np.exp(x - x.max())
        return e / e.sum(axis=1, keepdims=True)

    def no_keepdims(x):
        e = np.exp(x - x.max(axis=1))
        return e / e.sum(axis=1)

    def not_normalized(x):
        return np.exp(x - x.max(axis=1, keepdims=True))

    msg = fails("softmax", unstable, "not stable for large inputs")
    assert "Subtract each row's maximum" in msg and "1000" in msg
    fails("softmax", wrong_axis, "columns of the result sum to 1")
    fails("softmax", global_max, "maximum of the whole array")
    fails("softmax", no_keepdims, "keepdims=True")
    fails("softmax", not_normalized, "every row must sum to 1")


def test_compute_loss_and_acc_mistakes():
    def mean(y, p):
        loss, acc = compute_loss_and_acc(y, p)
        return loss / len(y), acc

    def negative(y, p):
        loss, acc = compute_loss_and_acc(y, p)
        return -loss, acc

    def all_classes(y, p):
        return -np.sum(np.log(p)), compute_loss_and_acc(y, p)[1]

    def count(y, p):
        loss, acc = compute_loss_and_acc(y, p)
        return loss, acc * len(y)

    def wrong_acc(y, p):
        return compute_loss_and_acc(y, p)[0], np.mean(p.argmax(axis=0) == y.argmax(axis=0))

    fails("compute_loss_and_acc", mean, "the \\*mean\\* over the batch")
    fails("compute_loss_and_acc", negative, "negative")
    fails("compute_loss_and_acc", all_classes, "only the true class counts")
    fails("compute_loss_and_acc", count, "a count")
    fails("compute_loss_and_acc", wrong_acc, "accuracy should be")
    fails("compute_loss_and_acc", lambda y, p: compute_loss_and_acc(y, p)[0], "two numbers")


def test_backwards_mistakes():
    def no_slope(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
        return backwards(delta, params, name, nn.linear_deriv)

    def slope_of_pre(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
        X, pre, post = params["cache_" + name]
        params["cache_" + name] = (X, pre, pre)
        return backwards(delta, params, name, activation_deriv)

    def transposed(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
        dX = backwards(delta, params, name, activation_deriv)
        params["grad_W" + name] = params["grad_W" + name].T
        return dX

    def mean_bias(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
        dX = backwards(delta, params, name, activation_deriv)
        params["grad_b" + name] = params["grad_b" + name] / len(delta)
        return dX

    def dx_untransposed(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
        backwards(delta, params, name, activation_deriv)
        X, pre, post = params["cache_" + name]
        return (delta * activation_deriv(post)) @ params["W" + name]

    def dx_without_slope(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
        backwards(delta, params, name, activation_deriv)
        return delta @ params["W" + name].T

    def not_stored(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
        return backwards(delta, dict(params), name, activation_deriv)

    fails("backwards", no_slope, "without the activation's slope")
    fails("backwards", slope_of_pre, "applied to pre")
    fails("backwards", transposed, r"should have shape \(4, 3\) but has shape \(3, 4\)")
    fails("backwards", mean_bias, "the mean of delta_pre")
    assert "(N, M) @ (M, D)" in fails("backwards", dx_untransposed, "raised ValueError")
    fails("backwards", dx_without_slope, "dL/dX is computed from delta, without the activation's slope")

    def wrong_dx(delta, params, name="", activation_deriv=nn.sigmoid_deriv):
        return 2 * backwards(delta, params, name, activation_deriv)

    msg = fails("backwards", wrong_dx, "central differences")
    assert "dJ/dX" in msg and "expected" in msg and "got" in msg
    fails("backwards", not_stored, "no 'grad_Wlayer1'")


def test_get_random_batches_mistakes():
    def drop_last(X, y, batch_size):
        return get_random_batches(X, y, batch_size)[:len(X) // batch_size]

    def with_replacement(X, y, batch_size):
        idx = np.random.randint(0, len(X), len(X))
        return [(X[idx[s:s + batch_size]], y[idx[s:s + batch_size]]) for s in range(0, len(X), batch_size)]

    def in_order(X, y, batch_size):
        return [(X[s:s + batch_size], y[s:s + batch_size]) for s in range(0, len(X), batch_size)]

    def separately(X, y, batch_size):
        ix, iy = np.random.permutation(len(X)), np.random.permutation(len(X))
        return [(X[ix[s:s + batch_size]], y[iy[s:s + batch_size]]) for s in range(0, len(X), batch_size)]

    def seeded(X, y, batch_size):
        return nn.get_random_batches(X, y, batch_size, np.random.default_rng(0))

    def equal_split(X, y, batch_size):
        idx = np.random.permutation(len(X))
        return [(X[i], y[i]) for i in np.array_split(idx, math.ceil(len(X) / batch_size))]

    fails("get_random_batches", drop_last, "last, smaller batch was dropped")
    fails("get_random_batches", with_replacement, "with replacement")
    fails("get_random_batches", in_order, "original order")
    fails("get_random_batches", separately, "shuffled separately")
    fails("get_random_batches", seeded, "same order")
    fails("get_random_batches", equal_split, r"batch sizes are \[5, 5, 5, 4, 4\]")
    fails("get_random_batches", lambda X, y, b: None, "list of \\(xb, yb\\) pairs")


def test_train_epoch_mistakes():
    def never_updates(X, Y, params, lr, batch_size=32, rng=None):
        for xb, yb in nn.get_random_batches(X, Y, batch_size, rng):
            probs = nn.mlp_forward(xb, params)
            nn.mlp_backwards(probs - yb, params)
        return 1.0, 0.0

    def averaged(X, Y, params, lr, batch_size=32, rng=None):
        for xb, yb in nn.get_random_batches(X, Y, batch_size, rng):
            probs = nn.mlp_forward(xb, params)
            nn.mlp_backwards((probs - yb) / len(xb), params)
            nn.sgd_step(params, lr)
        return 1.0, 0.0

    def once_per_epoch(X, Y, params, lr, batch_size=32, rng=None):
        total, correct = 0.0, 0.0
        for xb, yb in nn.get_random_batches(X, Y, batch_size, rng):
            probs = nn.mlp_forward(xb, params)
            loss, acc = nn.compute_loss_and_acc(yb, probs)
            nn.mlp_backwards(probs - yb, params)
            total, correct = total + loss, correct + acc * len(xb)
        nn.sgd_step(params, lr)
        return total / len(X), correct / len(X)

    def summed_loss(X, Y, params, lr, batch_size=32, rng=None):
        loss, acc = train_epoch(X, Y, params, lr, batch_size, rng)
        return loss * len(X), acc

    def uphill(X, Y, params, lr, batch_size=32, rng=None):
        return train_epoch(X, Y, params, -lr, batch_size, rng)

    fails("train_epoch", never_updates, "did not change")
    fails("train_epoch", averaged, "averaged over the batch")
    msg = fails("train_epoch", once_per_epoch, "one step per batch")
    assert "book's loop" in msg
    fails("train_epoch", summed_loss, "per example")
    fails("train_epoch", uphill, "up the gradient")

    def returns_nothing(X, Y, params, lr, batch_size=32, rng=None):
        train_epoch(X, Y, params, lr, batch_size, rng)

    fails("train_epoch", returns_nothing, "should return two numbers")


def test_numerical_gradient_mistakes():
    # the same wrong answers the answer list grades (tests/test_check_answers.py), here with their messages
    from test_check_answers import _ng_not_restored as not_restored
    from test_check_answers import _ng_one_sided as one_sided

    def on_a_copy(f, p, eps=1e-6):
        return numerical_gradient(f, p.copy(), eps)

    def flat(f, p, eps=1e-6):
        return numerical_gradient(f, p, eps).ravel()

    msg = fails("numerical_gradient", one_sided, "one-sided differences")
    assert "(f(p + eps) - f(p - eps)) / (2 eps)" in msg
    fails("numerical_gradient", not_restored, "param_array was changed")
    fails("numerical_gradient", on_a_copy, "every derivative is 0")
    fails("numerical_gradient", flat, r"shape \(3, 4\)")
    fails("numerical_gradient", lambda f, p, eps=1e-6: numerical_gradient(f, p, 1e-2), "differs from the expected")


def test_checks_are_fast():
    import time
    t = time.perf_counter()
    for name in CHECKED:
        check(name)(as_answer(getattr(nn, name)))
    assert time.perf_counter() - t < 1.0
