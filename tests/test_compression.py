"""Tests of helpers.compression: PCA identities, PSNR against scikit-image, the homework's momentum
update and schedule, the teachable forward/backward/epoch against helpers.nn, autoencoder gradients,
the training cache, the conv autoencoder, input errors."""
import os
from pathlib import Path

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from helpers import compression as C
from helpers import config, nn


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A private cache directory (config.data_dir() reads BOOK_DATA_DIR on every call)."""
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    return config.cache_dir()   # tmp_path itself, or tmp_path/seed<N> under BOOK_SEED=N


def small_images(n=60, d=64, seed=0):
    """Rows in [0, 1] with structure (a few smooth blobs), like tiny character images."""
    r = rng(seed)
    basis = r.uniform(0, 1, (4, d))
    return np.clip(r.uniform(0, 1, (n, 4)) @ basis / 2, 0, 1).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# PCA
# ---------------------------------------------------------------------------------------------
def test_pca_error_equals_sum_of_discarded_eigenvalues():
    X = rng(1).standard_normal((200, 30)) @ rng(2).standard_normal((30, 30))  # correlated, float64
    pca = C.fit_pca(X)
    cov_eigs = np.sort(np.linalg.eigvalsh(np.cov(X.T, bias=True)))[::-1]
    np.testing.assert_allclose(pca.eigenvalues, cov_eigs, rtol=1e-9, atol=1e-9)
    for k in range(1, 30):
        p = pca.truncate(k)
        err = np.mean(np.sum((X - p.reconstruct(X)) ** 2, axis=1))
        assert err == pytest.approx(cov_eigs[k:].sum(), rel=1e-9)
        assert err == pytest.approx(p.discarded_variance(), rel=1e-9)
    # all components: exact reconstruction
    np.testing.assert_allclose(pca.reconstruct(X), X, atol=1e-9)


def test_pca_basis_projection_and_codes():
    X = rng(3).standard_normal((80, 20))
    p = C.fit_pca(X, k=5)
    assert p.k == 5 and p.projection.shape == (20, 5) and np.linalg.matrix_rank(p.projection) == 5
    np.testing.assert_allclose(p.components @ p.components.T, np.eye(5), atol=1e-12)
    P = p.projection @ p.projection.T  # the 20x20 projector onto the subspace
    np.testing.assert_allclose(P @ P, P, atol=1e-12)
    Z = p.encode(X)
    assert Z.shape == (80, 5)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-12)                         # codes are centred
    np.testing.assert_allclose(np.var(Z, axis=0), p.eigenvalues[:5], rtol=1e-9)  # variance = eigenvalue
    assert p.n_parameters == 5 * 20 + 20 == C.count_parameters(p)
    assert p.explained_variance_ratio.sum() == pytest.approx(1.0)
    assert C.fit_pca(X.astype(np.float32), 3).components.dtype == np.float32
    assert np.all((p.decode(Z, clip=True) >= 0) & (p.decode(Z, clip=True) <= 1))


def test_pca_by_svd_is_the_eigendecomposition_of_the_covariance():
    X = rng(9).standard_normal((120, 12)) @ rng(10).standard_normal((12, 12))
    mean, components, s = C.pca_by_svd(X, 4)
    assert mean.shape == (12,) and components.shape == (4, 12) and s.shape == (12,)
    np.testing.assert_allclose(mean, X.mean(0))
    w, v = np.linalg.eigh(np.cov(X.T, bias=True))                  # ascending
    np.testing.assert_allclose(s ** 2 / len(X), w[::-1], rtol=1e-9)
    np.testing.assert_allclose(np.abs(components @ v[:, ::-1][:, :4]), np.eye(4), atol=1e-9)  # up to sign
    p = C.fit_pca(X, 4)                                               # fit_pca is pca_by_svd plus checks
    np.testing.assert_array_equal(p.components, components)
    np.testing.assert_array_equal(p.singular_values, s)


def test_homework_parameter_counts():
    ae = C.build_autoencoder(rng=0)
    assert C.count_parameters(ae) == 68_704
    per_layer = {name: ae["W" + name].size + ae["b" + name].size for name, _ in ae["layers"]}
    assert per_layer == {"layer1": 32_800, "hidden": 1_056, "hidden2": 1_056, "output": 33_792}   # chapter 5's sum
    p = C.fit_pca(rng(4).uniform(0, 1, (40, 1024)).astype(np.float32), k=32)
    assert p.n_parameters == 32_768 + 1024
    assert round(C.count_parameters(ae) / p.n_parameters) == 2          # "twice as many parameters"


@pytest.mark.parametrize("mode", ["quick", "full"])
def test_chapter5_trains_the_homework_recipe_in_both_modes(monkeypatch, mode):
    """Chapter 5 states the homework's network and recipe in its text; both modes train exactly that
    (only the epochs differ; the book's full mode has the homework's 100)."""
    monkeypatch.setenv("BOOK_MODE", mode)
    s = C.autoencoder_settings()
    assert s["sizes"] == [1024, 32, 32, 32, 1024] and s["activations"] == ["relu"] * 3 + ["sigmoid"]
    assert (s["momentum"], s["decay"], s["decay_every"], s["batch_size"]) == (0.9, 0.9, 20, 36)
    assert [name for name, _ in C.build_autoencoder(rng=0)["layers"]] == ["layer1", "hidden", "hidden2", "output"]
    assert mode == "quick" or s["epochs"] == 100


# ---------------------------------------------------------------------------------------------
# PSNR
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(7, 1024), (5, 32, 32), (1024,), (16, 16)])
def test_psnr_matches_scikit_image(shape):
    r = rng(5)
    a = r.uniform(0, 1, shape).astype(np.float32)
    b = np.clip(a + r.normal(0, 0.1, shape), 0, 1).astype(np.float32)
    rows_a = a.reshape(1, -1) if a.ndim == 1 else a.reshape(len(a), -1)
    rows_b = b.reshape(rows_a.shape)
    expected = [peak_signal_noise_ratio(x, y, data_range=1) for x, y in zip(rows_a, rows_b)]
    np.testing.assert_allclose(C.psnr_per_image(a, b), expected, rtol=1e-5)
    assert C.psnr(a, b) == pytest.approx(np.mean(expected), rel=1e-5)
    assert C.psnr(a, b, data_range=2) == pytest.approx(np.mean(expected) + 20 * np.log10(2), rel=1e-5)


def test_psnr_known_values():
    a = np.zeros((2, 4))
    b = np.full((2, 4), 0.1)                       # MSE 0.01 -> 20 dB
    assert C.psnr(a, b) == pytest.approx(20.0)
    assert C.psnr_per_image(a, a)[0] == np.inf     # exact copy


# ---------------------------------------------------------------------------------------------
# momentum and the learning-rate schedule, as the homework states them
# ---------------------------------------------------------------------------------------------
def test_momentum_step_matches_hand_computation():
    params = {"Wx": np.array([1.0, -2.0]), "grad_Wx": np.array([0.5, 1.0])}
    nn.momentum_step(params, lr=0.1, mu=0.9)          # M = -0.1 * g = [-0.05, -0.1]
    np.testing.assert_allclose(params["m_Wx"], [-0.05, -0.1])
    np.testing.assert_allclose(params["Wx"], [0.95, -2.1])
    params["grad_Wx"] = np.array([1.0, -1.0])         # M = 0.9 M - 0.1 g = [-0.145, 0.01]
    nn.momentum_step(params, lr=0.1, mu=0.9)
    np.testing.assert_allclose(params["m_Wx"], [-0.145, 0.01])
    np.testing.assert_allclose(params["Wx"], [0.805, -2.09])


def test_momentum_with_a_constant_gradient_approaches_ten_plain_steps():
    """Chapter 5's one-parameter check: steps 1, 1.9, ..., (1 - 0.9**t) / 0.1 -> 10 (its momentum exercise)."""
    toy = {"Wx": np.zeros(1), "grad_Wx": np.ones(1)}
    steps = []
    for _ in range(60):
        nn.momentum_step(toy, lr=1.0, mu=0.9)
        steps.append(-toy["m_Wx"][0])
    assert steps[0] == 1.0 and steps[1] == pytest.approx(1.9, abs=1e-12)
    assert steps[-1] == pytest.approx((1 - 0.9 ** 60) / 0.1, abs=1e-9) and abs(steps[-1] - 10) < 0.02


def test_forward_backward_match_helpers_nn():
    X = small_images(n=6, d=16).astype(np.float64)
    params = C.build_autoencoder([16, 5, 3, 5, 16], C.AE_ACTIVATIONS, rng=6, dtype=np.float64)
    out = C.autoencoder_forward(X, params)
    assert out.shape == X.shape and np.all((out > 0) & (out < 1))
    np.testing.assert_array_equal(out, nn.mlp_forward(X, params))
    C.autoencoder_backward(2 * (out - X), params)
    grads = {k: params[k].copy() for k in params if k.startswith("grad_")}
    assert len(grads) == 8
    loss = C.autoencoder_loss(X, params)                             # helpers.nn's forward and backward
    assert loss == pytest.approx(np.sum((out - X) ** 2), rel=1e-12)
    for k, g in grads.items():
        np.testing.assert_array_equal(params[k], g)


def test_epoch_matches_helpers_nn_train_epoch():
    """train_autoencoder_epoch is helpers.nn.train_epoch_general with squared error and momentum, draw for draw."""
    X = small_images(n=50, d=32)
    a = C.build_autoencoder([32, 8, 4, 8, 32], C.AE_ACTIVATIONS, rng=7)
    b = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in a.items()}
    ra, rb = rng(8), rng(8)
    for lr in (1e-3, 5e-4):
        la = C.train_autoencoder_epoch(X, a, lr, batch_size=9, momentum=0.9, rng=ra)
        lb, _ = nn.train_epoch_general(X, X, b, lr=lr, batch_size=9, rng=rb, loss="squared_error", momentum=0.9)
        assert la == lb
    for k in a:
        if k[0] in "Wbm":
            np.testing.assert_array_equal(a[k], b[k])


def test_train_autoencoder_is_the_epoch_loop():
    X = small_images(n=40, d=16)
    a = C.build_autoencoder([16, 6, 3, 6, 16], C.AE_ACTIVATIONS, rng=3)
    b = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in a.items()}
    h = C.train_autoencoder(a, X, epochs=5, lr=1e-3, batch_size=8, decay_every=2, rng=4)
    r = rng(4)
    losses = [C.train_autoencoder_epoch(X, b, 1e-3 * 0.9 ** (e // 2), 8, 0.9, r) for e in range(5)]
    assert h["train_loss"] == losses and np.isnan(h["valid_loss"]).all()
    np.testing.assert_array_equal(a["Woutput"], b["Woutput"])


def test_train_autoencoder_first_step_and_schedule():
    X = small_images(n=12, d=16).astype(np.float64)
    params = C.build_autoencoder([16, 6, 3, 6, 16], C.AE_ACTIVATIONS, rng=1, dtype=np.float64)
    before = {k: params[k].copy() for k in params if k[0] in "Wb"}
    C.autoencoder_loss(X, params)                     # the gradient of the whole (single) batch
    grads = {k: params["grad_" + k].copy() for k in before}
    h = C.train_autoencoder(params, X, epochs=1, lr=1e-3, batch_size=len(X), rng=0)
    for k in before:                                  # zero accumulators: W_1 = W_0 - lr * grad
        np.testing.assert_allclose(params[k], before[k] - 1e-3 * grads[k], rtol=1e-12, atol=1e-15)
    h = C.train_autoencoder(params, X, epochs=45, lr=1.0e-4, batch_size=4, rng=0)
    np.testing.assert_allclose(h["lr"], [1e-4 * 0.9 ** (e // 20) for e in range(45)])
    assert h["epoch"] == list(range(1, 46)) and h["valid_psnr"] == []


def test_training_lowers_the_loss_and_keeps_snapshots():
    X = small_images(n=120, d=64)
    params = C.build_autoencoder([64, 16, 8, 16, 64], C.AE_ACTIVATIONS, rng=0)
    h = C.train_autoencoder(params, X, X[:30], epochs=20, lr=3e-3, batch_size=12, rng=0,
                            snapshot_epochs=[0, 5, 20], X_snapshot=X[:3])
    assert h["train_loss"][-1] < 0.5 * h["train_loss"][0]
    assert h["valid_psnr"][-1] > h["valid_psnr0"] and len(h["valid_psnr"]) == 20
    assert sorted(h["snapshots"]) == [0, 5, 20] and h["snapshots"][5].shape == (3, 64)
    np.testing.assert_allclose(h["snapshots"][20], C.reconstruct(params, X[:3]), rtol=1e-6)
    out = C.reconstruct(params, X[:30])            # validation numbers are those of the final network
    assert h["valid_loss"][-1] == pytest.approx(np.sum((out - X[:30]) ** 2) / 30, rel=1e-5)
    assert h["valid_psnr"][-1] == pytest.approx(C.psnr(X[:30], out), rel=1e-6)


# ---------------------------------------------------------------------------------------------
# gradient checks (float64)
# ---------------------------------------------------------------------------------------------
def test_small_autoencoder_full_gradient_check():
    X = small_images(n=5, d=20).astype(np.float64)
    params = C.build_autoencoder([20, 6, 4, 6, 20], C.AE_ACTIVATIONS, rng=2, dtype=np.float64)
    for name, _ in params["layers"]:
        params["b" + name] = rng(3).uniform(0.05, 0.2, params["b" + name].shape)  # keep ReLUs off their kink
    errors = C.sampled_gradient_check(lambda: C.autoencoder_loss(X, params), params, n_per_array=None)
    assert len(errors) == 8 and max(errors.values()) < 1e-6, errors
    # the sampled check agrees with helpers.nn's full one
    full = nn.gradient_check(lambda: C.autoencoder_loss(X, params), params)
    assert max(full.values()) < 1e-6


def test_homework_autoencoder_sampled_gradient_check():
    X = small_images(n=4, d=1024).astype(np.float64)
    params = C.build_autoencoder(rng=4, dtype=np.float64)
    errors = C.sampled_gradient_check(lambda: C.autoencoder_loss(X, params), params, n_per_array=25, rng=0)
    assert set(errors) == {p + n for n in C.AE_LAYER_NAMES for p in "Wb"}
    assert max(errors.values()) < 1e-6, errors


def test_gradient_check_detects_a_wrong_gradient():
    X = small_images(n=4, d=12).astype(np.float64)
    params = C.build_autoencoder([12, 5, 3, 5, 12], C.AE_ACTIVATIONS, rng=5, dtype=np.float64)

    def wrong():
        loss = C.autoencoder_loss(X, params)
        params["grad_Woutput"] *= 1.01
        return loss

    assert C.sampled_gradient_check(wrong, params, n_per_array=None)["Woutput"] > 1e-3


# ---------------------------------------------------------------------------------------------
# the cache
# ---------------------------------------------------------------------------------------------
def test_cache_round_trip(data_dir):
    X = small_images(n=48, d=64)
    s = dict(sizes=[64, 8, 4, 8, 64], epochs=3, lr=1e-3, batch_size=12)
    p1, h1 = C.train_or_load_autoencoder(X, X[:10], settings=s, snapshot_epochs=[0, 3], X_snapshot=X[:2],
                                         verbose=False)
    assert not h1["cached"] and os.path.isfile(h1["path"]) and str(data_dir) in h1["path"]
    p2, h2 = C.train_or_load_autoencoder(X, X[:10], settings=s, snapshot_epochs=[0, 3], X_snapshot=X[:2],
                                         verbose=False)
    assert h2["cached"] and h2["path"] == h1["path"]
    assert p2["layers"] == p1["layers"]
    for name, _ in p1["layers"]:
        np.testing.assert_array_equal(p2["W" + name], p1["W" + name])
        np.testing.assert_array_equal(p2["b" + name], p1["b" + name])
    for k in ("epoch", "lr", "train_loss", "valid_loss", "valid_psnr", "seconds"):
        np.testing.assert_allclose(h2[k], h1[k])
    np.testing.assert_array_equal(h2["snapshots"][3], h1["snapshots"][3])
    assert h2["valid_psnr0"] == pytest.approx(h1["valid_psnr0"])
    np.testing.assert_allclose(C.reconstruct(p2, X), C.reconstruct(p1, X))
    # other settings or other data: another file; no temporary files left behind
    _, h3 = C.train_or_load_autoencoder(X, X[:10], settings=dict(s, lr=2e-3), verbose=False)
    _, h4 = C.train_or_load_autoencoder(X[1:], X[:10], settings=s, verbose=False)
    assert len({h1["path"], h3["path"], h4["path"]}) == 3
    assert not [f for f in (data_dir / "autoencoders").iterdir() if ".tmp" in f.name]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_damaged_cache_file_is_rebuilt_with_a_message(data_dir, capsys, damage):
    """A cached autoencoder that cannot be read is trained again and overwritten: one printed line
    that names the file, no warning, no traceback."""
    import warnings

    X = small_images(n=24, d=16)
    s = dict(sizes=[16, 4, 2, 4, 16], epochs=2, lr=1e-3, batch_size=8)
    p1, h1 = C.train_or_load_autoencoder(X, X[:6], settings=s, verbose=False)
    good = open(h1["path"], "rb").read()
    with open(h1["path"], "wb") as fh:
        fh.write({"garbage": b"not an npz at all" * 10, "truncated": good[: len(good) // 2], "empty": b""}[damage])
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p2, h2 = C.train_or_load_autoencoder(X, X[:6], settings=s, verbose=False)
    out = capsys.readouterr().out
    assert "cannot read the cached autoencoder" in out and os.path.basename(h1["path"]) in out
    assert "training it again" in out and "Traceback" not in out
    assert not h2["cached"] and h2["path"] == h1["path"]
    np.testing.assert_array_equal(p2["Woutput"], p1["Woutput"])      # same seed, same network
    _, h3 = C.train_or_load_autoencoder(X, X[:6], settings=s, verbose=False)
    assert h3["cached"]                                               # the rebuilt file is good again


def test_cache_key_covers_the_training_code(data_dir, monkeypatch):
    """Editing the code that trains the network (here helpers.nn.momentum_step) changes the file
    name, so a stale network is never loaded; so does any change of the digest itself."""
    from helpers.compression import cache

    X = small_images(n=24, d=16)
    s = C.autoencoder_settings(sizes=[16, 4, 2, 4, 16], epochs=1, lr=1e-3, batch_size=8)
    path = C.autoencoder_cache_path(s, X, None, None, [])
    assert C.autoencoder_cache_path(s, X, None, None, []) == path          # deterministic
    sources = C.code_sources()
    for name in ("helpers.nn.momentum_step", "helpers.nn.forward", "helpers.nn.backwards", "helpers.nn.relu",
                 "helpers.compression.autoencoder.train_autoencoder_epoch", "helpers.compression.autoencoder."
                 "autoencoder_forward", "helpers.nn.squared_error", "helpers.nn.get_random_batches"):
        assert name in sources, f"{name} is not part of the cache key"
    assert "helpers.compression.cache.train_or_load_autoencoder" not in sources   # caching is not training

    def momentum_step(params, lr, mu=0.9):   # an edited update rule (Nesterov-like): other networks
        for k in [k for k in list(params) if "grad_" + k in params]:
            m = params.setdefault("m_" + k, np.zeros_like(params[k]))
            m *= mu
            m -= lr * params["grad_" + k]
            params[k] += mu * m - lr * params["grad_" + k]

    digest = C.code_digest()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nn, "momentum_step", momentum_step)
        assert C.code_digest() != digest
        assert C.autoencoder_cache_path(s, X, None, None, []) != path
    assert C.code_digest() == digest and C.autoencoder_cache_path(s, X, None, None, []) == path
    monkeypatch.setattr(cache, "code_digest", lambda *roots: "0123456789ab")
    assert C.autoencoder_cache_path(s, X, None, None, []) != path


def test_a_network_cached_by_other_code_is_retrained(data_dir, capsys, monkeypatch):
    """Even under the same file name, a file whose recorded code digest differs is not used."""
    from helpers.compression import cache

    X = small_images(n=24, d=16)
    s = dict(sizes=[16, 4, 2, 4, 16], epochs=1, lr=1e-3, batch_size=8)
    _, h1 = C.train_or_load_autoencoder(X, settings=s, verbose=False)
    real = cache.code_digest()
    monkeypatch.setattr(cache, "autoencoder_cache_path", lambda *a: Path(h1["path"]))   # same name ...
    monkeypatch.setattr(cache, "code_digest", lambda *roots: "other" + real[5:])          # ... other code
    _, h2 = C.train_or_load_autoencoder(X, settings=s, verbose=False)
    assert not h2["cached"] and "other settings or other training code" in capsys.readouterr().out


def test_bottleneck_sweep(data_dir):
    X = small_images(n=48, d=64)
    pca = C.fit_pca(X, k=8)
    rows = C.bottleneck_sweep(X, X[:12], [2, 8], pca, hidden=8,
                              settings=dict(sizes=[64, 8, 8, 8, 64], epochs=2, lr=1e-3, batch_size=12),
                              verbose=False)
    assert [r["k"] for r in rows] == [2, 8]
    assert rows[0]["pca_params"] == 2 * 64 + 64 and rows[1]["ae_params"] == C.count_parameters(
        C.build_autoencoder([64, 8, 8, 8, 64]))
    assert rows[0]["pca_psnr"] < rows[1]["pca_psnr"] and len(rows[0]["ae_curve"]) == 2
    with pytest.raises(ValueError, match="widths"):
        C.bottleneck_sweep(X, X, [16], pca)


def test_first_epoch_above():
    assert C.first_epoch_above([1, 2, 3, 4], 2.5) == 3
    assert C.first_epoch_above([3, 1, 3, 4], 2.5) == 3      # must stay above
    assert C.first_epoch_above([3, 4], 2.5) == 1
    assert C.first_epoch_above([3, 2], 2.5) is None and C.first_epoch_above([], 0) is None


def test_dead_units():
    params = C.build_autoencoder([4, 3, 2, 3, 4], C.AE_ACTIVATIONS, rng=0, dtype=np.float64)
    params["blayer1"][:] = [-100, 0, 0]     # unit 0 of layer1 never fires on inputs in [0, 1]
    params["Wlayer1"][:, 0] = 0
    out = C.dead_units(params, rng(1).uniform(0, 1, (50, 4)))
    assert set(out) == {"layer1", "hidden", "hidden2"} and out["layer1"] >= 1


# ---------------------------------------------------------------------------------------------
# the convolutional autoencoder
# ---------------------------------------------------------------------------------------------
def test_conv_autoencoder_shapes_and_training(data_dir):
    torch = pytest.importorskip("torch")
    m = C.conv_autoencoder(code=32, channels=8)
    assert C.count_parameters(m) == 49_593
    x = torch.rand(3, 1, 32, 32)
    assert m.encoder(x).shape == (3, 32) and m(x).shape == (3, 1, 32, 32)
    X = np.clip(rng(0).uniform(0, 1, (64, 1024)), 0, 1).astype(np.float32)
    m1, h1 = C.train_or_load_conv_autoencoder(X, X[:16], code=4, channels=2, epochs=2, batch_size=16,
                                              verbose=False)
    assert not h1["cached"] and len(h1["valid_psnr"]) == 2 and h1["train_loss"][-1] < h1["train_loss"][0]
    m2, h2 = C.train_or_load_conv_autoencoder(X, X[:16], code=4, channels=2, epochs=2, batch_size=16,
                                              verbose=False)
    assert h2["cached"] and h2["valid_psnr"] == h1["valid_psnr"]
    np.testing.assert_allclose(C.conv_reconstruct(m2, X), C.conv_reconstruct(m1, X), atol=1e-6)
    assert C.conv_reconstruct(m1, X.reshape(-1, 32, 32)).shape == (64, 1024)


# ---------------------------------------------------------------------------------------------
# clear errors for bad input
# ---------------------------------------------------------------------------------------------
def test_bad_input_errors():
    X = rng(0).uniform(0, 1, (10, 16))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        C.fit_pca(X[0])
    for k in (0, 11, 2.5, True):
        with pytest.raises(ValueError, match=r"k must be an integer in \[1, 10\]"):
            C.fit_pca(X, k)
    with pytest.raises(ValueError, match="NaN"):
        C.fit_pca(np.full((3, 4), np.nan))
    p = C.fit_pca(X, 4)
    with pytest.raises(ValueError, match=r"expected \(N, 16\)"):
        p.encode(X[:, :8])
    with pytest.raises(ValueError, match=r"expected \(N, 4\)"):
        p.decode(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"\[1, 4\]"):
        p.truncate(5)
    with pytest.raises(ValueError, match="same shape"):
        C.psnr(X, X[:5])
    with pytest.raises(ValueError, match="data_range"):
        C.psnr(X, X, data_range=0)
    with pytest.raises(ValueError, match="start and end"):
        C.build_autoencoder([16, 4, 8])
    with pytest.raises(ValueError, match="activations"):
        C.build_autoencoder([16, 4, 16], ["relu"])
    ae = C.build_autoencoder([16, 4, 4, 4, 16], rng=0)
    with pytest.raises(ValueError, match=r"\(N, 16\)"):
        C.reconstruct(ae, X[:, :8])
    with pytest.raises(ValueError, match="epochs"):
        C.train_autoencoder(ae, X, epochs=-1, lr=1e-3)
    with pytest.raises(ValueError, match="lr"):
        C.train_autoencoder(ae, X, epochs=1, lr=0)
    with pytest.raises(ValueError, match="snapshot"):
        C.train_autoencoder(ae, X, epochs=2, lr=1e-3, snapshot_epochs=[5], X_snapshot=X[:2])
    with pytest.raises(ValueError, match="NaN"):
        C.train_autoencoder(ae, np.full((4, 16), np.nan), epochs=1, lr=1e-3)
    with pytest.raises(ValueError, match="unknown settings"):
        C.autoencoder_settings(epoch=3)
    with pytest.raises(ValueError, match="float64"):
        C.sampled_gradient_check(lambda: C.autoencoder_loss(X, ae), ae)
    with pytest.raises(ValueError, match=r"\(N, 1024\)"):
        C.conv_reconstruct(C.conv_autoencoder(), np.zeros((2, 100)))
    with pytest.raises(TypeError, match="params dict"):
        C.count_parameters(3)


def test_pca_psnr_by_k_matches_direct_reconstruction():
    X = small_images(n=50, d=64, seed=7) + rng(8).uniform(0, 0.05, (50, 64)).astype(np.float32)
    pca = C.fit_pca(X[:40])
    curve = C.pca_psnr_by_k(pca.truncate(20), X[40:])
    assert curve.shape == (20,)
    for k in (1, 5, 20):
        assert curve[k - 1] == pytest.approx(C.psnr(X[40:], pca.truncate(k).reconstruct(X[40:])), rel=1e-4)


def test_image_rows():
    import matplotlib
    matplotlib.use("Agg")
    fig = C.image_rows([("a", np.zeros((3, 1024))), ("b", np.ones((3, 32, 32)))], col_titles=list("xyz"), title="t")
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="same number"):
        C.image_rows([("a", np.zeros((3, 1024))), ("b", np.ones((2, 1024)))])


# ---------------------------------------------------------------------------------------------
# subspaces, the linear autoencoder, principal components as images
# ---------------------------------------------------------------------------------------------
def test_subspace_overlap_and_projection_error():
    q = np.linalg.qr(rng(11).standard_normal((12, 12)))[0].T          # 12 orthonormal rows
    assert C.subspace_overlap(q[:3], q[:3]) == pytest.approx(1.0)
    assert C.subspace_overlap(q[:3], rng(12).standard_normal((3, 3)) @ q[:3]) == pytest.approx(1.0)  # any basis
    assert C.subspace_overlap(q[:3], q[3:6]) == pytest.approx(0.0, abs=1e-12)
    assert C.subspace_overlap(q[:2], q[:4]) == pytest.approx(1.0)     # inside a larger subspace
    assert C.subspace_overlap(q[:2], np.r_[q[:1], q[5:6]]) == pytest.approx(0.5)
    X = rng(13).standard_normal((300, 12)) * 0.8 ** np.arange(12) @ q + 5.0
    pca = C.fit_pca(X)
    for k in (1, 4, 8):
        p = pca.truncate(k)
        assert C.projection_error(X, p.components, p.mean) == pytest.approx(p.discarded_variance(), rel=1e-9)
        worse = C.projection_error(X, rng(k).standard_normal((k, 12)), p.mean)
        assert worse > p.discarded_variance()                          # PCA's subspace is the optimum


def test_linear_autoencoder_finds_pcas_subspace():
    X = small_images(n=200, d=32, seed=3) + rng(4).uniform(0, 0.05, (200, 32)).astype(np.float32)
    pca = C.fit_pca(X).truncate(3)
    # 60 epochs: at 40 one start in eight (BOOK_SEED 2) was still at overlap 0.981; at 60 all eight > 0.9997
    out = C.linear_autoencoder_study(X, pca, epochs=60, lr=3e-3, batch_size=20)
    assert out["epoch"] == list(range(1, 61)) and len(out["overlap"]) == len(out["error_ratio"]) == 60
    assert out["random_overlap"] == 3 / 32
    assert min([out["error_ratio0"]] + out["error_ratio"]) >= 1 - 1e-6   # never better than PCA (the theorem)
    assert out["overlap"][-1] > 0.99 > out["overlap0"] and out["error_ratio"][-1] < min(1.1, out["error_ratio0"] / 10)


def test_component_images_fix_the_sign_and_map_to_gray():
    V = np.array([[0.0, 0.6, -0.8], [0.5, -0.1, 0.2], [0.0, 0.0, 0.0]])
    imgs, signs = C.component_images(V)
    np.testing.assert_array_equal(signs, [1, -1, 1])                   # strongest entry made negative
    np.testing.assert_allclose(imgs[0], [0.5, 0.875, 0.0])
    np.testing.assert_allclose(imgs[1], [0.0, 0.6, 0.3])
    np.testing.assert_allclose(imgs[2], [0.5, 0.5, 0.5])                # a zero row stays mid-gray
    assert imgs.dtype == np.float32 and imgs.min() >= 0 and imgs.max() <= 1


def test_conv_autoencoder_is_what_the_further_page_says():
    """The Going-further page describes the convolutional autoencoder (three strided 3x3 convolutions,
    1 -> 8 -> 16 -> 32 channels, 32 -> 4 pixels, a *linear* code) and says that its control's code
    passes a ReLU: the sentence about the confound rests on these two facts."""
    torch = pytest.importorskip("torch")
    m = C.conv_autoencoder(code=32, channels=8)
    convs = [layer for layer in m.encoder if isinstance(layer, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (1, 8, (3, 3), (2, 2)), (8, 16, (3, 3), (2, 2)), (16, 32, (3, 3), (2, 2))]
    assert tuple(m.encoder[:6](torch.zeros(1, 1, 32, 32)).shape) == (1, 32, 4, 4)
    assert isinstance(m.encoder[-1], torch.nn.Linear)                       # the code: no activation
    control = C.dense_torch_autoencoder()
    assert isinstance(control.encoder[-1], torch.nn.ReLU)                    # the control's code: after a ReLU
    assert C.count_parameters(m) < C.count_parameters(control) == C.count_parameters(C.build_autoencoder())


def test_dense_torch_control(data_dir):
    torch = pytest.importorskip("torch")
    m = C.dense_torch_autoencoder()
    assert C.count_parameters(m) == 68_704 == C.count_parameters(C.build_autoencoder())
    x = torch.rand(3, 1, 32, 32)
    assert m(x).shape == (3, 1, 32, 32) and m.encoder(x).shape == (3, 32)
    X = rng(0).uniform(0, 1, (32, 1024)).astype(np.float32)
    kw = dict(code=4, epochs=1, batch_size=16, verbose=False)
    _, hd = C.train_or_load_conv_autoencoder(X, X[:8], arch="dense", **kw)
    _, hc = C.train_or_load_conv_autoencoder(X, X[:8], arch="conv", channels=2, **kw)
    assert hd["checkpoint"] != hc["checkpoint"] and not hd["cached"]
    assert hd["settings"] == dict(hc["settings"], arch="dense", channels=8)
    with pytest.raises(ValueError, match="arch"):
        C.train_or_load_conv_autoencoder(X, arch="mlp")
