"""Tests of helpers.torch_models: gradients against numpy, checkpoints, weight loading, training."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import config
from helpers import torch_models as tm



pytestmark = pytest.mark.usefixtures("torch_cache")  # tests/conftest.py


def _numpy_params(rng, hidden="layer1", n_in=1024, n_hidden=64, n_out=36):
    return {
        "W" + hidden: rng.normal(0, 0.05, (n_in, n_hidden)), "b" + hidden: rng.normal(0, 0.1, n_hidden),
        "Woutput": rng.normal(0, 0.3, (n_hidden, n_out)), "boutput": rng.normal(0, 0.1, n_out),
    }


def _numpy_reference(X, Y, p, hidden="layer1"):
    """Summed cross-entropy of the 1024-64-36 sigmoid/softmax MLP and its gradients, by hand."""
    h = 1 / (1 + np.exp(-(X @ p["W" + hidden] + p["b" + hidden])))
    z = h @ p["Woutput"] + p["boutput"]
    e = np.exp(z - z.max(1, keepdims=True))
    probs = e / e.sum(1, keepdims=True)
    loss = -np.sum(Y * np.log(probs))
    dz = probs - Y
    dh = dz @ p["Woutput"].T * h * (1 - h)
    return loss, {"W" + hidden: X.T @ dh, "b" + hidden: dh.sum(0), "Woutput": h.T @ dz, "boutput": dz.sum(0)}


def _torch_grads(model, X, Y):
    model = model.double()
    model.zero_grad()
    logits = model(torch.from_numpy(X))
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(Y.argmax(1)), reduction="sum")
    loss.backward()
    grads = {"Wlayer1": model.layer1.weight.grad.numpy().T, "blayer1": model.layer1.bias.grad.numpy(),
             "Woutput": model.output.weight.grad.numpy().T, "boutput": model.output.bias.grad.numpy()}
    return float(loss.detach()), grads


def test_mlp_autograd_gradients_equal_numpy_backprop():
    rng = np.random.default_rng(0)
    X = rng.random((20, 1024))
    Y = np.eye(36)[rng.integers(0, 36, 20)]
    p = _numpy_params(rng)
    ref_loss, ref = _numpy_reference(X, Y, p)
    loss, grads = _torch_grads(tm.MLP.from_params(p), X, Y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for k in ref:
        assert grads[k].shape == ref[k].shape
        np.testing.assert_allclose(grads[k], ref[k], rtol=1e-9, atol=1e-12)


def test_mlp_autograd_gradients_equal_helpers_nn():
    nn_mod = pytest.importorskip("helpers.nn")
    rng = np.random.default_rng(1)
    params = nn_mod.build_mlp([1024, 64, 36], ["sigmoid", "softmax"], rng, dtype=np.float64)
    X = rng.random((16, 1024))
    Y = np.eye(36)[rng.integers(0, 36, 16)]
    probs = nn_mod.mlp_forward(X, params)
    nn_loss, _ = nn_mod.compute_loss_and_acc(Y, probs)
    nn_mod.mlp_backwards(probs - Y, params)
    loss, grads = _torch_grads(tm.MLP.from_params(params), X, Y)
    assert loss == pytest.approx(nn_loss, rel=1e-12)
    for k in ("Wlayer1", "blayer1", "Woutput", "boutput"):
        assert nn_mod.relative_error(grads[k], params["grad_" + k]) < 1e-12


def test_mlp_params_round_trip_and_numpy_predictions():
    rng = np.random.default_rng(2)
    p = {k: v.astype(np.float32) for k, v in _numpy_params(rng, hidden="layer0").items()}
    model = tm.MLP.from_params(p)  # the homework's 'layer0' name works too
    back = model.to_params(hidden_name="layer0")
    for k in p:
        np.testing.assert_array_equal(back[k], p[k])
    X = rng.random((5, 1024)).astype(np.float32)
    ref = tm.predict_proba(model, X)
    nn_mod = pytest.importorskip("helpers.nn")
    np.testing.assert_allclose(nn_mod.predict(X, back), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="one hidden layer"):
        tm.MLP.from_params({"Wa": p["Wlayer0"]})


def _separable(n_per_class=40, n_classes=4, seed=0):
    """Tiny 32x32 'characters': class c is a dark bar at its own place, plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    images = np.ones((len(labels), 32, 32), np.float32)
    for i, c in enumerate(labels):
        r = 4 + 7 * c + rng.integers(-1, 2)
        images[i, r:r + 3, 6:26] = 0.1
    images = np.clip(images + rng.normal(0, 0.15, images.shape).astype(np.float32), 0, 1)
    return images, labels


def test_short_training_run_learns_and_is_reproducible(capsys):
    tr, va = _separable(40, seed=0), _separable(15, seed=1)
    results = []
    for _ in range(2):
        config.seed_everything(0)
        model = tm.SmallCNN(n_classes=4)
        before = tm.evaluate(model, va)[1]
        hist = tm.train(model, tr, va, epochs=3, lr=3e-3, batch_size=16, seed=0, progress=True)
        results.append((before, hist))
    (before, hist), (_, hist2) = results
    assert before < 0.5
    assert hist["valid_acc"][-1] >= 0.95 and hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist["train_loss"] == hist2["train_loss"] and hist["valid_acc"] == hist2["valid_acc"]
    assert set(tm.training._HISTORY_KEYS) <= set(hist) and hist["epoch"] == [1, 2, 3]
    assert hist["device"] == str(config.torch_device())  # BOOK_DEVICE, else the GPU when there is one
    out = capsys.readouterr()
    assert "valid acc" in out.out and "SmallCNN" in out.out
    assert out.err == ""  # the static book drops stderr with a warning: nothing may go there


def test_train_sum_reduction_sgd_matches_numpy_sgd_step():
    """One SGD step with the summed loss (reduction='sum', momentum 0) is chapter 3's update."""
    rng = np.random.default_rng(3)
    p = _numpy_params(rng, n_hidden=8, n_out=4)
    X, y = rng.random((6, 1024)), rng.integers(0, 4, 6)
    _, g = _numpy_reference(X, np.eye(4)[y], p)
    model = tm.MLP.from_params(p).double()
    tm.train(model, (X.reshape(6, 32, 32), y), epochs=1, lr=0.01, batch_size=6, optimizer="sgd", momentum=0.0,
             reduction="sum", progress=False)
    new = model.to_params()
    for k in p:
        np.testing.assert_allclose(new[k], (p[k] - 0.01 * g[k]).astype(np.float32), rtol=1e-5, atol=1e-6)


def test_linear_probe_trains_only_the_head():
    config.seed_everything(0)
    model = tm.set_trainable(tm.squeezenet(4), "head")
    frozen = model.features[3].expand3x3.weight.detach().clone()
    head = model.classifier[1].weight.detach().clone()
    assert tm.count_parameters(model, trainable_only=True) == 512 * 4 + 4
    images, labels = _separable(4)
    tm.train(model, (images, labels), epochs=1, batch_size=8, progress=False)
    assert torch.equal(model.features[3].expand3x3.weight.cpu(), frozen)  # (train moved it to the device)
    assert not torch.equal(model.classifier[1].weight.cpu(), head)

    cnn = tm.set_trainable(tm.SmallCNN(4), "head")  # batch-norm statistics of a frozen backbone stay put
    stats = cnn.features[1].running_mean.clone()
    tm.train(cnn, (images, labels), epochs=1, batch_size=8, progress=False)
    assert torch.equal(cnn.features[1].running_mean.cpu(), stats)


def test_onecycle_schedule_and_argument_errors():
    images, labels = _separable(4)
    model = tm.MLP(n_out=4)
    hist = tm.train(model, (images, labels), epochs=3, lr=0.01, batch_size=4, schedule="onecycle", progress=False)
    assert max(hist["lr"]) <= 0.01 and hist["lr"][-1] < 0.1 * max(hist["lr"])  # warm-up, then annealed
    with pytest.raises(ValueError, match="schedule"):
        tm.train(model, (images, labels), schedule="cosine", progress=False)
    with pytest.raises(ValueError, match="optimizer"):
        tm.train(model, (images, labels), optimizer="rmsprop", progress=False)
    with pytest.raises(ValueError, match="pair up"):
        tm.train(model, (images, labels[:-1]), progress=False)
    with pytest.raises(ValueError, match="no trainable"):
        tm.train(model.requires_grad_(False), (images, labels), progress=False)
    assert tm.fingerprint((images, labels)) == tm.fingerprint((images.copy(), labels))
    assert tm.fingerprint((images, labels)) != tm.fingerprint((images, labels[::-1].copy()))


def test_squeezenet_shapes_and_head_replacement():
    config.seed_everything(0)
    model = tm.squeezenet(7)
    assert model(torch.rand(3, 1, 32, 32)).shape == (3, 7)
    assert model.features[0].stride == (1, 1) and model.features[0].in_channels == 1
    assert model.features(torch.rand(1, 1, 32, 32)).shape[-2:] == (3, 3)  # spatial extent survives
    tm.replace_head(model, 10)
    assert model(torch.rand(2, 32, 32)).shape == (2, 10)
    rgb = tm.squeezenet(17, in_channels=3, small_input=False)
    assert rgb(torch.rand(2, 3, 64, 64)).shape == (2, 17)


def test_imagenet_weights_loaded_from_local_hub_cache_only(tmp_path, monkeypatch, capsys):
    from torchvision.models import squeezenet1_1

    def no_download(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:
        path = tm.imagenet_weights_file()
        assert path == tmp_path / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth"
        missing = tm.squeezenet(5, weights="imagenet")
        assert "not in the local torch hub cache" in capsys.readouterr().out
        assert missing.weights_source.startswith("random initialisation")

        torch.manual_seed(123)
        fake = squeezenet1_1(weights=None).state_dict()  # a stand-in for the ImageNet file
        path.parent.mkdir(parents=True)
        torch.save(fake, path)
        model = tm.squeezenet(5, weights="imagenet")
        assert "loaded ImageNet weights" in capsys.readouterr().out
        assert model.weights_source.startswith("ImageNet")
        assert torch.equal(model.features[0].weight, fake["features.0.weight"].sum(1, keepdim=True))
        assert torch.equal(model.features[12].expand3x3.weight, fake["features.12.expand3x3.weight"])
        assert model.classifier[1].weight.shape == (5, 512, 1, 1)
        # the gray network on a gray image equals the RGB network on the same image in three channels
        rgb = tm.squeezenet(5, in_channels=3, weights="imagenet", verbose=False)
        rgb.classifier[1].load_state_dict(model.classifier[1].state_dict())
        rgb.preprocess = model.preprocess
        x = torch.rand(2, 1, 32, 32)
        rgb.features[0].stride = (1, 1)
        torch.testing.assert_close(model.eval()(x), rgb.eval()(x.repeat(1, 3, 1, 1)), rtol=1e-4, atol=1e-5)
    finally:
        torch.hub.set_dir(old)


def test_checkpoint_round_trip_and_train_or_load(tmp_path):
    config.seed_everything(0)
    model = tm.SmallCNN(n_classes=4)
    x = torch.rand(5, 1, 32, 32)
    path = tm.save_checkpoint(tmp_path / "m.pt", model, history={"epoch": [1]})
    other = tm.SmallCNN(n_classes=4)
    ckpt = tm.load_checkpoint(path, other)
    assert ckpt["history"] == {"epoch": [1]}
    torch.testing.assert_close(model.eval()(x), other.eval()(x), rtol=0, atol=0)

    data = _separable(10)
    calls = []

    def fit(m):
        calls.append(1)
        return tm.train(m, data, epochs=1, batch_size=8, progress=False)

    settings = {"epochs": 1, "seed": 0}
    m1, h1 = tm.train_or_load("tiny", lambda: tm.SmallCNN(4), fit, settings, verbose=False)
    m2, h2 = tm.train_or_load("tiny", lambda: tm.SmallCNN(4), fit, settings, verbose=False)
    assert len(calls) == 1 and not h1["cached"] and h2["cached"]
    assert h2["train_loss"] == h1["train_loss"] and h1["checkpoint"] == h2["checkpoint"]
    assert str(config.data_dir()) in h1["checkpoint"]
    torch.testing.assert_close(m1(x.to(config.torch_device())).cpu(), m2(x.to(config.torch_device())).cpu(),
                               rtol=0, atol=0)
    _, h3 = tm.train_or_load("tiny", lambda: tm.SmallCNN(4), fit, {"epochs": 1, "seed": 1}, verbose=False)
    assert len(calls) == 2 and h3["checkpoint"] != h1["checkpoint"]
    assert not list((config.cache_dir() / "torch").glob(".*"))  # no temporary files left behind


def test_load_classifier_cnn_trains_once_then_loads(monkeypatch, capsys):
    from helpers import data

    images, labels = _separable(20, n_classes=36)
    fake = data.CharacterSet(images, labels.astype(np.int64), "synthetic bars", "train")
    monkeypatch.setattr(data, "load_book_data", lambda split: fake)
    predict = tm.load_classifier("cnn")
    probs = predict(images[:7])
    assert probs.shape == (7, 36) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    np.testing.assert_allclose(predict(images[:7].reshape(7, 1024)), probs, rtol=1e-5, atol=1e-6)
    assert "loaded the trained model" not in capsys.readouterr().out
    tm.load_classifier("cnn")
    assert "loaded the trained model" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown kind"):
        tm.load_classifier("svm")


def test_random_affine_keeps_shape_and_white_background():
    x = torch.ones(4, 1, 32, 32)
    x[:, :, 12:20, 12:20] = 0
    out = tm.random_affine()(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.all(out[:, :, 0, :] > 0.99)
    assert abs(float(out.mean() - x.mean())) < 0.03


def test_train_epoch_is_plain_sgd_on_the_batches_given():
    """The loop train() runs (train_epoch with options), with torch.optim.SGD and the summed loss, takes
    chapter 3's step on each batch in turn and
    reports the loss per example and the accuracy of the batches as they were trained."""
    rng = np.random.default_rng(4)
    p = _numpy_params(rng, n_hidden=8, n_out=4)
    X, y = rng.random((10, 1024)), rng.integers(0, 4, 10)
    batches = [(torch.from_numpy(X[:6]), torch.from_numpy(y[:6])), (torch.from_numpy(X[6:]), torch.from_numpy(y[6:]))]
    model = tm.MLP.from_params(p)
    loss, acc = tm.training._train_epoch(model, batches, torch.optim.SGD(model.parameters(), lr=0.01),
                                         reduction="sum")
    ref_loss, correct = 0.0, 0
    for rows in (slice(0, 6), slice(6, 10)):
        batch_loss, g = _numpy_reference(X[rows], np.eye(4)[y[rows]], p)
        h = 1 / (1 + np.exp(-(X[rows] @ p["Wlayer1"] + p["blayer1"])))
        correct += int(np.sum((h @ p["Woutput"] + p["boutput"]).argmax(1) == y[rows]))
        ref_loss += batch_loss
        p = {k: p[k] - 0.01 * g[k] for k in p}
    assert loss == pytest.approx(ref_loss / 10, rel=1e-6) and acc == correct / 10
    for k, v in model.to_params().items():
        if k != "layers":
            np.testing.assert_allclose(v, p[k], rtol=1e-5, atol=1e-6)


def test_random_batches_cover_every_image_once_in_a_seeded_order():
    x, y = torch.arange(10.0).reshape(10, 1, 1, 1), torch.arange(10)
    batches = list(tm.random_batches(x, y, 4, torch.Generator().manual_seed(0)))
    assert [len(b) for b, _ in batches] == [4, 4, 2]
    seen = torch.cat([b for _, b in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    assert all(torch.equal(bx.flatten().long(), by) for bx, by in batches)      # images stay with their labels
    again = torch.cat([b for _, b in tm.random_batches(x, y, 4, torch.Generator().manual_seed(0))])
    assert torch.equal(seen, again)


@pytest.mark.parametrize("fn", [tm.train_step, tm.train_epoch, tm.replace_head, tm.SmallCNN])
def test_functions_the_book_shows_stay_short(fn):
    """Chapter 6 shows these (a Your-turn answer or a literalinclude :pyobject:); keep them a page-sized read
    (docstring included)."""
    assert len(inspect.getsource(fn).splitlines()) <= 32, fn.__name__


class _SmallCNNBefore(torch.nn.Module):
    """SmallCNN as the book built it before it became chapter 6's Your-turn answer (a loop over the channel
    counts, in-place ReLUs, a 3-d input accepted in forward): the networks trained with it are the book's
    numbers, so the teaching version must draw and compute exactly the same."""

    def __init__(self, n_classes=36, channels=(16, 32, 64), hidden=64, dropout=0.25):
        super().__init__()
        from torch import nn
        self.preprocess = tm.Normalize([0.0], [0.3], invert=True)
        layers, c_in = [], 1
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        side = 32 // 2 ** len(channels)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in * side * side, hidden),
                                        nn.ReLU(inplace=True), nn.Linear(hidden, n_classes))

    def forward(self, x):
        if x.ndim == 3:
            x = x.unsqueeze(1)
        return self.classifier(self.features(self.preprocess(x)))


@pytest.mark.parametrize("seed, n_classes", [(0, 36), (3, 10)])
def test_small_cnn_teaching_version_is_bit_identical_to_the_trained_one(seed, n_classes):
    """Same seed: the same weights, state-dict keys (the cached checkpoints load), outputs in eval and in
    training mode (dropout), and weights after three Adam steps, to the last bit."""
    nets = []
    for cls in (_SmallCNNBefore, tm.SmallCNN):
        torch.manual_seed(seed)
        nets.append(cls(n_classes))
    before, now = nets
    sb, sn = before.state_dict(), now.state_dict()
    assert list(sb) == list(sn) and all(torch.equal(sb[k], sn[k]) for k in sb)
    assert tm.count_parameters(now) == 1 * 16 * 9 + 16 * 32 * 9 + 32 * 64 * 9 + 2 * (16 + 32 + 64) \
        + 1024 * 64 + 64 + 64 * n_classes + n_classes
    x = torch.rand(6, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, n_classes, (6,), generator=torch.Generator().manual_seed(2))
    before.eval(), now.eval()
    assert torch.equal(before(x), now(x)) and torch.equal(now(x[:, 0]), now(x))     # (N, 32, 32) still works
    for net in nets:
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        torch.manual_seed(7)
        tm.training._train_epoch(net, [(x[:4], y[:4]), (x[4:], y[4:]), (x, y)], opt)
    assert all(torch.equal(before.state_dict()[k], now.state_dict()[k]) for k in sb)


def test_the_loop_the_book_shows_is_the_loop_train_runs():
    """train_epoch (shown in chapter 6, calling the reader's train_step) and the loop train() runs
    (_train_epoch, with frozen batch norm, schedules and progress around it) give the same weights and numbers
    when none of the extras is used."""
    x = torch.rand(10, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 4, (10,), generator=torch.Generator().manual_seed(2))
    out = []
    for loop in (tm.train_epoch, tm.training._train_epoch):
        torch.manual_seed(0)
        net = tm.SmallCNN(4)
        net.eval()
        torch.manual_seed(5)
        numbers = loop(net, [(x[:6], y[:6]), (x[6:], y[6:])], torch.optim.SGD(net.parameters(), lr=0.1))
        out.append((numbers, net.state_dict()))
    (r1, s1), (r2, s2) = out
    assert r1 == r2 and all(torch.equal(s1[k], s2[k]) for k in s1)
    assert isinstance(r1[0], float) and isinstance(r1[1], float)


def test_train_step_takes_one_step_and_returns_a_number_and_the_logits():
    torch.manual_seed(0)
    net = tm.SmallCNN(4)
    x = torch.rand(5, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 3, 0])
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    w = net.classifier[4].weight.detach().clone()
    loss, logits = tm.train_step(net, x, y, opt)
    assert isinstance(loss, float) and logits.shape == (5, 4) and net.training
    assert not torch.equal(w, net.classifier[4].weight)


def _first_weights_seen(fn):
    """Run ``fn()`` and return the weights (CPU copies) of the first network with SqueezeNet's
    ``features.*`` parameters that runs a forward pass: the model as it starts training."""
    seen = []

    def hook(module, inputs):
        if not seen and any(k.startswith("features.") for k in module.state_dict()):
            seen.append({k: v.detach().cpu().clone() for k, v in module.state_dict().items()})

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        fn()
    finally:
        handle.remove()
    assert seen, "no SqueezeNet ran a forward pass"
    return seen[0]


def test_scratch_baseline_starts_from_fresh_weights():
    """Chapter 6 compares fine-tuning with training *from scratch*: the scratch model must start from a
    new random initialisation, not from the pretrained backbone (fine-tuning does start from it)."""
    config.seed_everything(0)
    backbone = tm.squeezenet(36)
    with torch.no_grad():  # "pretrained": weights no seeded initialisation gives
        for p in backbone.parameters():
            p.add_(0.05 * torch.randn_like(p))
    pretrained = {k: v.detach().cpu().clone() for k, v in backbone.state_dict().items()}
    images, labels = _separable(3)
    features = [k for k in pretrained if k.startswith("features.") and k.endswith("weight")]
    assert len(features) >= 8

    def run(strategy):
        return _first_weights_seen(lambda: tm.adapt(strategy, backbone, (images, labels), (images, labels),
                                                    steps=1, n_classes=4, seed=0, curve_points=2))

    tuned, scratch = run("finetune"), run("scratch")
    assert all(torch.equal(tuned[k], pretrained[k]) for k in features)  # fine-tuning starts pretrained
    same = [k for k in features if torch.equal(scratch[k], pretrained[k])]
    assert not same, f"the scratch model starts with the backbone's {same}"
    for k, v in backbone.state_dict().items():  # and adapt leaves the backbone as it was
        assert torch.equal(v.cpu(), pretrained[k]), k


def _tiny_train_or_load(calls, **kw):
    data = _separable(10)

    def fit(m):
        calls.append(1)
        return tm.train(m, data, epochs=1, batch_size=8, progress=False)

    return tm.train_or_load("tiny", lambda: tm.SmallCNN(4), fit, {"epochs": 1, "seed": 0}, verbose=False, **kw)


def _cpu_weights(model):
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("garbage", [b"\x00\xffnot a checkpoint" * 10, b""], ids=["garbage", "empty"])
def test_corrupt_checkpoint_is_retrained_with_a_message(capsys, garbage):
    """Garbage at the checkpoint path: a clear message, the model trained again exactly as the first
    time (same seeded start), the file replaced by a good one; no traceback, no temporary files."""
    calls = []
    first, h1 = _tiny_train_or_load(calls)
    path = Path(h1["checkpoint"])
    path.write_bytes(garbage)
    with pytest.raises(tm.checkpoints.CheckpointError, match=re.escape(f"{path} is not a readable checkpoint")) as err:
        tm.load_checkpoint(path)
    assert "delete it and train again" in str(err.value) and isinstance(err.value, ValueError)
    capsys.readouterr()
    again, h2 = _tiny_train_or_load(calls)
    out = capsys.readouterr()
    assert f"tiny: could not use the checkpoint {path} (is not a readable checkpoint" in out.out
    assert "retraining and overwriting it" in out.out
    assert out.err == "" and "Traceback" not in out.out
    assert len(calls) == 2 and not h2["cached"] and h2["checkpoint"] == h1["checkpoint"]
    assert h2["train_loss"] == h1["train_loss"]
    for k, v in _cpu_weights(first).items():
        torch.testing.assert_close(_cpu_weights(again)[k], v, rtol=0, atol=0)
    _, h3 = _tiny_train_or_load(calls)  # the rewritten file loads
    assert len(calls) == 2 and h3["cached"]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # nothing half-written left


def test_checkpoint_of_another_model_is_retrained(capsys):
    """A readable checkpoint whose weights do not fit the model (same key, other code) is retrained too."""
    calls = []
    _, h1 = _tiny_train_or_load(calls)
    tm.save_checkpoint(h1["checkpoint"], tm.SmallCNN(7))
    _, h2 = _tiny_train_or_load(calls)
    assert len(calls) == 2 and not h2["cached"] and "could not use the checkpoint" in capsys.readouterr().out
    torch.save({"weights": 1}, h1["checkpoint"])
    with pytest.raises(tm.checkpoints.CheckpointError, match="no 'state_dict'"):
        tm.load_checkpoint(h1["checkpoint"])


def test_checkpoint_key_follows_the_training_code(tmp_path, monkeypatch):
    """Checkpoint paths hash the source of models.py, training.py, transfer.py and checkpoints.py: an
    edit to the code that trains a model (a comment is enough) means a new checkpoint."""
    ck = tm.checkpoints
    assert {f.name for f in ck.TRAINING_CODE} == {"models.py", "training.py", "transfer.py", "checkpoints.py"}
    assert all(f.is_file() for f in ck.TRAINING_CODE)
    copies = []
    for f in ck.TRAINING_CODE:
        copies.append(tmp_path / f.name)
        copies[-1].write_bytes(f.read_bytes())
    monkeypatch.setattr(ck, "TRAINING_CODE", tuple(copies))
    model, settings = tm.SmallCNN(4), {"epochs": 1, "seed": 0}
    before, digest = tm.checkpoint_path("tiny", settings, model), ck.code_digest()
    assert tm.checkpoint_path("tiny", settings, model) == before  # stable
    for f in copies:
        original = f.read_bytes()
        f.write_bytes(original + b"\n# an edit\n")
        assert ck.code_digest() != digest, f.name
        assert tm.checkpoint_path("tiny", settings, model) != before, f.name
        f.write_bytes(original)
    assert tm.checkpoint_path("tiny", settings, model) == before
