"""Tests of helpers.nn: gradients, softmax properties, the toy sanity run, updates, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from helpers import nn

TOL = 1e-7  # relative error of analytic vs numerical gradients in float64


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# activations and their derivatives
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "linear"])
def test_activation_derivative_matches_central_differences(name):
    f, df = nn.ACTIVATIONS[name]
    x = rng().uniform(-4, 4, size=200)
    x = x[np.abs(x) > 1e-3]  # stay off relu's kink
    eps = 1e-6
    numeric = (f(x + eps) - f(x - eps)) / (2 * eps)
    np.testing.assert_allclose(df(f(x)), numeric, rtol=1e-7, atol=1e-9)


def test_sigmoid_identities_and_no_overflow():
    x = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(nn.tanh(x), 2 * nn.sigmoid(2 * x) - 1, atol=1e-15)
    assert nn.sigmoid_deriv(nn.sigmoid(x)).max() == pytest.approx(0.25)
    import warnings
    with warnings.catch_warnings():  # exp(-x) overflows to inf for x << 0: no warning, no NaN, the limit 0
        warnings.simplefilter("error")
        for dt in (np.float32, np.float64):
            s = nn.sigmoid(np.array([-1e4, -100, 0, 100, 1e4], dtype=dt))
            assert s.dtype == dt and s[0] == 0 and s[-1] == 1 and s[2] == 0.5


# ---------------------------------------------------------------------------------------------
# gradient checks (float64, relative error < 1e-7)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu", "linear"])
def test_dense_layer_gradients(act):
    r = rng(1)
    X = r.standard_normal((6, 5))
    T = r.standard_normal((6, 4))
    params = nn.initialize_weights(5, 4, {}, "L", rng=r)
    params["bL"] = r.standard_normal(4)  # non-zero biases so every path is exercised

    def loss_fn():
        out = nn.forward_checked(X, params, "L", act)        # activations by name: the checked wrappers
        loss, grad = nn.squared_error(T, out)
        params["grad_X"] = nn.backwards_checked(grad, params, "L", act)
        return loss

    errors = nn.gradient_check(loss_fn, params, keys=["WL", "bL"])
    assert set(errors) == {"WL", "bL"}
    assert max(errors.values()) < TOL, errors
    # and the gradient with respect to the input
    loss_fn()
    analytic = params["grad_X"].copy()  # loss_fn overwrites it while X is perturbed
    numeric = nn.numerical_gradient(loss_fn, X)
    assert nn.relative_error(analytic, numeric) < TOL


def test_softmax_cross_entropy_gradient_is_probs_minus_y():
    r = rng(2)
    X = r.standard_normal((7, 3))
    Y = np.eye(5)[r.integers(0, 5, 7)]
    params = nn.initialize_weights(3, 5, {}, "output", rng=r)

    def loss_fn():
        probs = nn.forward(X, params, "output", nn.softmax)
        nn.backwards(probs - Y, params, "output", nn.linear_deriv)
        return nn.compute_loss_and_acc(Y, probs)[0]

    errors = nn.gradient_check(loss_fn, params)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("loss,acts", [
    ("cross_entropy", ["sigmoid", "tanh", "relu", "softmax"]),
    ("squared_error", ["relu", "linear", "tanh", "sigmoid"]),
])
def test_whole_mlp_gradients(loss, acts):
    r = rng(3)
    params = nn.build_mlp([4, 6, 5, 5, 3], acts, r, dtype=np.float64)
    for name, _ in params["layers"]:
        params["b" + name] += 0.1 * r.standard_normal(params["b" + name].shape)
    X = r.standard_normal((8, 4))
    Y = np.eye(3)[r.integers(0, 3, 8)] if loss == "cross_entropy" else r.random((8, 3))

    def loss_fn():
        out = nn.mlp_forward(X, params)
        value, _, delta = nn._loss(loss, Y, out)
        nn.mlp_backwards(delta, params)
        return value

    errors = nn.gradient_check(loss_fn, params)
    assert len(errors) == 8  # W and b of four layers
    assert max(errors.values()) < TOL, errors


def test_squared_error_gradient():
    r = rng(4)
    Y, out = r.standard_normal((5, 3)), r.standard_normal((5, 3))
    loss, grad = nn.squared_error(Y, out)
    assert loss == pytest.approx(np.sum((out - Y) ** 2))
    numeric = nn.numerical_gradient(lambda: nn.squared_error(Y, out)[0], out)
    assert nn.relative_error(grad, numeric) < TOL


def test_gradient_check_detects_a_wrong_gradient():
    r = rng(5)
    X, T = r.standard_normal((4, 3)), r.standard_normal((4, 2))
    params = nn.initialize_weights(3, 2, {}, "L", rng=r)

    def wrong():
        out = nn.forward(X, params, "L", nn.sigmoid)
        nn.backwards(nn.squared_error(T, out)[1], params, "L", nn.linear_deriv)  # forgot sigmoid'
        return nn.squared_error(T, out)[0]

    assert min(nn.gradient_check(wrong, params).values()) > 1e-2


def test_agrees_with_pytorch_autograd():
    torch = pytest.importorskip("torch")
    r = rng(6)
    params = nn.build_mlp([10, 7, 4], ["sigmoid", "softmax"], r, dtype=np.float64)
    X = r.standard_normal((9, 10))
    Y = np.eye(4)[r.integers(0, 4, 9)]
    probs = nn.mlp_forward(X, params)
    loss, _ = nn.compute_loss_and_acc(Y, probs)
    nn.mlp_backwards(probs - Y, params)
    t = {k: torch.tensor(params[k], requires_grad=True) for k in ("Wlayer1", "blayer1", "Woutput", "boutput")}
    h = torch.sigmoid(torch.tensor(X) @ t["Wlayer1"] + t["blayer1"])
    logits = h @ t["Woutput"] + t["boutput"]
    tl = torch.nn.functional.cross_entropy(logits, torch.tensor(Y.argmax(1)), reduction="sum")
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    for k, v in t.items():
        np.testing.assert_allclose(params["grad_" + k], v.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# softmax properties
# ---------------------------------------------------------------------------------------------
logits = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 8)),
                elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False))


@settings(max_examples=200, deadline=None)
@given(x=logits)
def test_softmax_rows_are_distributions(x):
    with np.errstate(over="raise", invalid="raise"):
        p = nn.softmax(x)
    assert p.shape == x.shape and np.isfinite(p).all()
    assert (p >= 0).all() and (p <= 1).all()
    # the row maximum gets the largest probability, and it is in (0, 1]
    assert (p.max(axis=1) > 0).all()
    assert (p[np.arange(len(x)), x.argmax(axis=1)] == p.max(axis=1)).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


@settings(max_examples=200, deadline=None)
@given(x=logits, c=st.floats(-1e3, 1e3))
def test_softmax_invariant_to_adding_a_constant(x, c):
    np.testing.assert_allclose(nn.softmax(x + c), nn.softmax(x), rtol=1e-6, atol=1e-9)


def test_softmax_extremes_and_float32():
    p = nn.softmax(np.array([[1e4, 0.0, -1e4], [5.0, 5.0, 5.0]]))
    np.testing.assert_array_equal(p[0], [1.0, 0.0, 0.0])  # far-below entries underflow to exactly 0
    np.testing.assert_allclose(p[1], 1 / 3)
    p32 = nn.softmax(np.ones((2, 4), np.float32))
    assert p32.dtype == np.float32


# ---------------------------------------------------------------------------------------------
# initialization
# ---------------------------------------------------------------------------------------------
def test_xavier_uniform_variance_bounds_and_zero_bias():
    params = nn.initialize_weights(400, 600, {}, "layer1", rng=rng(7))
    W, b = params["Wlayer1"], params["blayer1"]
    assert W.shape == (400, 600) and b.shape == (600,) and not b.any()
    a = np.sqrt(6 / 1000)
    assert np.abs(W).max() <= a
    assert W.var() == pytest.approx(2 / 1000, rel=0.02)
    p32 = nn.init_layer(3, 2, {}, "x", rng=rng(0), dtype=np.float32, scale=0.5)
    assert p32["Wx"].dtype == np.float32 and np.abs(p32["Wx"]).max() <= 0.5 * np.sqrt(6 / 5)


# ---------------------------------------------------------------------------------------------
# the homework's toy sanity run
# ---------------------------------------------------------------------------------------------
def test_toy_loss_at_init_is_about_40_ln_4():
    chance = 40 * np.log(4)
    losses = []
    for seed in range(20):
        r = rng(seed)
        X, Y = nn.toy_problem(r)
        params = nn.build_mlp([2, 25, 4], ["sigmoid", "softmax"], r, dtype=np.float64)
        loss, acc = nn.compute_loss_and_acc(Y, nn.predict(X, params))
        assert 0.9 * chance < loss < 1.5 * chance
        losses.append(loss)
    # on average within 20%: the output weights' random column sums shift each class's logit
    assert abs(np.mean(losses) / chance - 1) < 0.2
    # with tiny weights every class gets probability 1/4 and the loss is exactly 40 ln 4
    X, Y = nn.toy_problem(rng(0))
    tiny = nn.build_mlp([2, 25, 4], ["sigmoid", "softmax"], rng(0), dtype=np.float64, scale=1e-6)
    assert nn.compute_loss_and_acc(Y, nn.predict(X, tiny))[0] == pytest.approx(chance, rel=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_toy_training_run(seed):
    """Homework settings: 25 sigmoid hidden units, 500 passes, lr 1e-3, batch 5, summed loss."""
    r = rng(seed)
    X, Y = nn.toy_problem(r)
    assert X.shape == (40, 2) and Y.shape == (40, 4)
    params = nn.build_mlp([2, 25, 4], ["sigmoid", "softmax"], r, dtype=np.float64)
    hist = nn.fit(X, Y, params, epochs=500, lr=1e-3, batch_size=5, rng=r)
    loss, acc = nn.compute_loss_and_acc(Y, nn.predict(X, params))
    assert loss < 35 and acc > 0.75, (loss, acc)
    assert hist["train_loss"][-1] < hist["train_loss"][0]


# ---------------------------------------------------------------------------------------------
# batches and updates
# ---------------------------------------------------------------------------------------------
def test_get_random_batches_covers_every_row_once():
    X = np.arange(23 * 2).reshape(23, 2)
    y = np.arange(23)
    batches = nn.get_random_batches(X, y, 5, rng(0))
    assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen) == list(range(23)) and not np.array_equal(seen, np.arange(23))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)  # rows stay paired


def test_sgd_step():
    params = {"Wa": np.array([[1.0, 2.0]]), "grad_Wa": np.array([[0.5, -1.0]]), "cache_a": None}
    nn.sgd_step(params, 0.1)
    np.testing.assert_allclose(params["Wa"], [[0.95, 2.1]])


def test_momentum_matches_the_formula_by_hand():
    params = {"Wa": np.array([1.0, -2.0]), "ba": np.array([0.0]),
              "grad_Wa": np.array([0.5, 1.0]), "grad_ba": np.array([2.0])}
    nn.momentum_step(params, lr=0.1, mu=0.9)
    # M = 0.9 * 0 - 0.1 * g = [-0.05, -0.1]; W = [0.95, -2.1]; b: M = -0.2, b = -0.2
    np.testing.assert_allclose(params["m_Wa"], [-0.05, -0.1])
    np.testing.assert_allclose(params["Wa"], [0.95, -2.1])
    np.testing.assert_allclose(params["ba"], [-0.2])
    params["grad_Wa"] = np.array([1.0, 0.0])
    params["grad_ba"] = np.array([0.0])
    nn.momentum_step(params, lr=0.1, mu=0.9)
    # M = 0.9 * [-0.05, -0.1] - 0.1 * [1, 0] = [-0.145, -0.09]; W = [0.805, -2.19]
    np.testing.assert_allclose(params["m_Wa"], [-0.145, -0.09])
    np.testing.assert_allclose(params["Wa"], [0.805, -2.19])
    np.testing.assert_allclose(params["ba"], [-0.2 - 0.18])  # M = 0.9 * -0.2 = -0.18


def test_lr_decay():
    assert [nn.lr_decay(1.0, e) for e in (0, 19, 20, 39, 40)] == pytest.approx([1, 1, 0.9, 0.9, 0.81])
    assert nn.lr_decay(0.5, 100, every=0) == 0.5


# ---------------------------------------------------------------------------------------------
# the float32 trainer
# ---------------------------------------------------------------------------------------------
def test_fit_float32_learns_and_reports_history():
    r = rng(8)
    X, Y = nn.toy_problem(r, n_per_class=50)
    Xv, Yv = nn.toy_problem(r, n_per_class=20)
    params = nn.build_mlp([2, 16, 4], ["tanh", "softmax"], r)
    snaps = []
    hist = nn.fit(X, Y, params, Xv, Yv, epochs=30, lr=0.05, batch_size=32, momentum=0.9, decay=0.5,
                  decay_every=10, rng=r, on_epoch=lambda e, h: snaps.append(e))
    assert params["Wlayer1"].dtype == np.float32 and params["m_Wlayer1"].dtype == np.float32
    assert set(hist) == {"epoch", "lr", "train_loss", "train_acc", "valid_loss", "valid_acc", "seconds"}
    assert all(len(v) == 30 for v in hist.values()) and snaps == list(range(1, 31))
    assert hist["lr"][0] == 0.05 and hist["lr"][-1] == pytest.approx(0.0125)
    assert hist["valid_acc"][-1] > 0.85 and hist["valid_loss"][-1] < hist["valid_loss"][0]
    probs = nn.predict(Xv, params)
    assert probs.dtype == np.float32 and probs.shape == (80, 4)
    np.testing.assert_allclose(probs, nn.mlp_forward(Xv.astype(np.float32), params), rtol=1e-5)


def test_fit_autoencoder_squared_error():
    r = rng(9)
    X = r.random((64, 8))
    params = nn.build_mlp([8, 4, 8], ["relu", "sigmoid"], r)
    hist = nn.fit(X, X, params, epochs=40, lr=0.01, batch_size=16, loss="squared_error", momentum=0.9, rng=r)
    assert np.isnan(hist["train_acc"]).all()
    assert hist["train_loss"][-1] < 0.7 * hist["train_loss"][0]


# ---------------------------------------------------------------------------------------------
# clear errors
# ---------------------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors():
    params = nn.initialize_weights(3, 2, {}, "L", rng=rng(0))
    # the teaching functions check nothing; their *_checked wrappers give the clear errors
    with pytest.raises(ValueError, match=r"X has shape \(3,\).*\(N, 3\)"):
        nn.forward_checked(np.ones(3), params, "L")
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        nn.forward_checked(np.ones((4, 5)), params, "L")
    with pytest.raises(ValueError, match="1 NaN/inf"):
        nn.forward_checked(np.array([[1.0, np.nan, 0.0]]), params, "L")
    with pytest.raises(ValueError, match="no cache"):
        nn.backwards_checked(np.ones((1, 2)), {"WM": np.ones((3, 2))}, "M")
    nn.forward_checked(np.ones((4, 3)), params, "L")
    with pytest.raises(ValueError, match="delta has shape"):
        nn.backwards_checked(np.ones((4, 3)), params, "L")
    with pytest.raises(ValueError, match="unknown activation 'selu'"):
        nn.forward_checked(np.ones((4, 3)), params, "L", "selu")
    with pytest.raises(ValueError, match="same"):
        nn.loss_and_acc_checked(np.eye(3), np.ones((3, 4)) / 4)
    with pytest.raises(ValueError, match="NaN"):
        nn.loss_and_acc_checked(np.eye(2), np.array([[np.nan, 1.0], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="positive integers"):
        nn.init_layer(0, 3, {})
    with pytest.raises(ValueError, match="rows"):
        nn.batches_checked(np.ones((4, 2)), np.ones(3), 2)
    with pytest.raises(ValueError, match="activations"):
        nn.build_mlp([4, 3, 2], ["sigmoid"])
    with pytest.raises(ValueError, match="only allowed as the last"):
        nn.build_mlp([4, 3, 2], ["softmax", "linear"])
    mlp = nn.build_mlp([4, 3, 2], ["sigmoid", "sigmoid"], rng(0))
    with pytest.raises(ValueError, match="needs a softmax"):
        nn.fit(np.ones((5, 4)), np.eye(2)[[0, 1, 0, 1, 0]], mlp, epochs=1, lr=0.1)
    with pytest.raises(ValueError, match=r"Y has shape \(5, 3\)"):
        nn.fit(np.ones((5, 4)), np.ones((5, 3)), mlp, epochs=1, lr=0.1, loss="squared_error")
    with pytest.raises(ValueError, match="float64"):
        nn.gradient_check(lambda: 0.0, {"Wa": np.ones(2, np.float32), "grad_Wa": np.ones(2, np.float32)})
    with pytest.raises(ValueError, match="build_mlp"):
        nn.predict(np.ones((2, 3)), params)


def test_divergence_is_reported():
    r = rng(0)
    X, Y = nn.toy_problem(r)
    params = nn.build_mlp([2, 8, 4], ["relu", "linear"], r, dtype=np.float64)
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        with np.errstate(all="ignore"):
            nn.fit(X * 1e3, Y, params, epochs=50, lr=10.0, batch_size=40, loss="squared_error", rng=r)


def test_numerical_gradient_on_sampled_entries():
    rng = np.random.default_rng(5)
    W = rng.standard_normal((4, 3))
    f = lambda: float(np.sum(np.sin(W) * np.arange(12).reshape(4, 3)))
    full = nn.numerical_gradient(f, W)
    picked = np.array([0, 5, 11])
    assert np.allclose(nn.numerical_gradient_at(f, W, entries=picked), full.reshape(-1)[picked])
    assert np.allclose(full, np.cos(W) * np.arange(12).reshape(4, 3), atol=1e-8)


# ---------------------------------------------------------------------------------------------
# the functions the chapters show (literalinclude :pyobject:) stay short and plain
# ---------------------------------------------------------------------------------------------
TAUGHT = ["sigmoid", "initialize_weights", "forward", "softmax", "compute_loss_and_acc", "backwards",
          "get_random_batches", "numerical_gradient", "train_epoch"]


@pytest.mark.parametrize("name", TAUGHT)
def test_taught_functions_are_short_and_plain(name):
    """At most 25 lines with the docstring and no input checking inside: the plumbing lives in
    private helpers (the error tests above still go through them)."""
    import inspect

    source = inspect.getsource(getattr(nn, name))
    assert len(source.splitlines()) <= 25, f"nn.{name} is {len(source.splitlines())} lines"
    assert "raise " not in source and "try:" not in source, f"nn.{name} checks its inputs itself"


def test_checked_wrappers_give_the_teaching_functions_numbers():
    """The wrappers only check, look names up and cast: the numbers are the teaching functions'."""
    r = rng(8)
    p1 = nn.initialize_weights(5, 3, {}, "a", rng=rng(9))
    p2 = nn.init_layer(5, 3, {}, "a", rng=rng(9))
    assert np.array_equal(p1["Wa"], p2["Wa"]) and np.array_equal(p1["ba"], p2["ba"])
    X = r.standard_normal((4, 5))
    assert np.array_equal(nn.forward(X, p1, "a", nn.tanh), nn.forward_checked(X, p2, "a", "tanh"))
    d = r.standard_normal((4, 3))
    assert np.array_equal(nn.backwards(d, p1, "a", nn.tanh_deriv), nn.backwards_checked(d, p2, "a", "tanh"))
    y, probs = np.eye(3)[[0, 2, 1, 1]], nn.softmax(r.standard_normal((4, 3)))
    assert nn.loss_and_acc_checked(y, probs) == tuple(float(v) for v in nn.compute_loss_and_acc(y, probs))
    # a probability of exactly 0 on a wrong class: the teaching formula gives nan (0 * log 0), the wrapper a number
    zero = np.array([[1.0, 0.0], [0.5, 0.5]])
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isnan(nn.compute_loss_and_acc(np.eye(2), zero)[0])
    assert np.isclose(nn.loss_and_acc_checked(np.eye(2), zero)[0], np.log(2))
    b1 = nn.get_random_batches(X, y, 3, rng(1))
    b2 = nn.batches_checked(X, y, 3, rng(1))
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(b1, b2))
