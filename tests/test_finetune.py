"""Tests of the chapter-6 fine-tuning helpers (helpers.torch_models.transfer; tiny data, private cache)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from helpers import config, data, nn
from helpers import torch_models as tm


pytestmark = pytest.mark.usefixtures("torch_cache")  # tests/conftest.py


def _digits(n_per_class=12, n_classes=10, seed=0, split="tiny"):
    """Tiny 32x32 'digits': class c is a dark bar at its own height (ink dark on white), plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    images = np.ones((len(labels), 32, 32), np.float32)
    for i, c in enumerate(labels):
        r = 2 + 3 * c + int(rng.integers(0, 2))
        images[i, r:r + 2, 6:26] = 0.1
    images = np.clip(images + rng.normal(0, 0.1, images.shape).astype(np.float32), 0, 1)
    return data.CharacterSet(images, labels.astype(np.int64), "tiny test digits", split, None)


def test_train_same_batches_reproduces_numpy_fit():
    """Same weights and same rng: the PyTorch run follows helpers.nn.fit batch for batch."""
    rng = np.random.default_rng(0)
    X = rng.random((50, 1024))
    Y = np.eye(36)[rng.integers(0, 36, 50)]
    params = nn.build_mlp([1024, 64, 36], ["sigmoid", "softmax"], np.random.default_rng(1), dtype=np.float64)
    model = tm.MLP.from_params(params)
    h_np = nn.fit(X, Y, params, X[:10], Y[:10], epochs=3, lr=0.05, batch_size=8, rng=np.random.default_rng(2))
    h_pt = tm.train_same_batches(model, X, Y, X[:10], Y[:10], epochs=3, lr=0.05, batch_size=8,
                                 rng=np.random.default_rng(2))
    assert set(h_pt) == set(h_np)
    np.testing.assert_allclose(h_pt["train_loss"], h_np["train_loss"], rtol=1e-10)
    np.testing.assert_allclose(h_pt["train_acc"], h_np["train_acc"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_pt["valid_loss"], h_np["valid_loss"], rtol=1e-5)  # evaluate() runs in float32
    for k in ("Wlayer1", "blayer1", "Woutput", "boutput"):
        w = (model.layer1 if k.endswith("layer1") else model.output)
        got = (w.weight.detach().numpy().T if k.startswith("W") else w.bias.detach().numpy())
        np.testing.assert_allclose(got, params[k], rtol=1e-9, atol=1e-12)
    # a different rng gives different batches, hence a different run
    other = tm.train_same_batches(tm.MLP.from_params(nn.build_mlp([1024, 64, 36], ["sigmoid", "softmax"],
                                                                  np.random.default_rng(1), dtype=np.float64)),
                                  X, Y, epochs=1, lr=0.05, batch_size=8, rng=np.random.default_rng(3))
    assert other["train_loss"][0] != h_pt["train_loss"][0]
    with pytest.raises(ValueError, match="one-hot"):
        tm.train_same_batches(model, X, Y[:, :10], epochs=1, lr=0.1, rng=np.random.default_rng(0))


def test_mnist_target_task_split_is_disjoint_balanced_and_relabelled():
    pool, held = tm.mnist_target_task()
    assert len(pool) == 3000 and len(held) == 2000
    assert np.array_equal(np.bincount(pool.labels), np.full(10, 300))
    assert np.array_equal(np.bincount(held.labels), np.full(10, 200))
    assert pool.images.shape[1:] == (32, 32) and pool.images.dtype == np.float32
    rows = {im.tobytes() for im in pool.images}
    assert not any(im.tobytes() in rows for im in held.images[:300])   # no image in both parts
    again, _ = tm.mnist_target_task()
    np.testing.assert_array_equal(again.images, pool.images)          # seeded: the same split every time


def test_labelled_subset_is_balanced_and_nested():
    pool = _digits(12)
    s1, s5 = tm.labelled_subset(pool, 1, seed=3), tm.labelled_subset(pool, 5, seed=3)
    assert np.array_equal(np.bincount(s5.labels), np.full(10, 5)) and len(s1) == 10
    rows5 = {im.tobytes() for im in s5.images}
    assert all(im.tobytes() in rows5 for im in s1.images)                # nested for one seed
    assert not np.array_equal(tm.labelled_subset(pool, 5, seed=4).images, s5.images)
    with pytest.raises(ValueError, match="only 12 images"):
        tm.labelled_subset(pool, 13)
    with pytest.raises(ValueError, match="positive integer"):
        tm.labelled_subset(pool, 0)


def test_finetune_backbone_falls_back_to_characters_and_says_why(tmp_path, monkeypatch, capsys):
    """No ImageNet file in the hub cache: 'imagenet' is an error naming the file, 'auto' uses the
    character-pretrained network (trained here on tiny data in one quick epoch)."""
    hub = tmp_path / "hub"
    with pytest.raises(ValueError, match="squeezenet1_1-.*pth"):
        tm.finetune_backbone("imagenet", hub_dir=hub)
    with pytest.raises(ValueError, match="source must be"):
        tm.finetune_backbone("flowers")
    tiny = _digits(4, n_classes=36)
    monkeypatch.setattr(data, "load_book_data", lambda split: tiny)
    model, desc = tm.finetune_backbone("auto", hub_dir=hub, progress=False)
    assert isinstance(model, tm.SqueezeNetClassifier) and "letters only" in desc
    assert model.classifier[1].out_channels == 26                       # trained on A-Z, never on a digit
    every, desc_all = tm.finetune_backbone("characters", hub_dir=hub, progress=False)
    assert every.classifier[1].out_channels == 36 and "digits included" in desc_all


def test_letters_backbone_never_sees_a_digit(monkeypatch):
    """letters_squeezenet trains on the letters of the character set only (the digits are dropped)."""
    tiny = _digits(3, n_classes=36)
    seen = []
    real_train = tm.transfer.train

    def spy(model, train_set, valid_set, **kw):
        seen.append((np.asarray(train_set.labels), np.asarray(valid_set.labels)))
        return real_train(model, train_set, valid_set, **kw)
    monkeypatch.setattr(data, "load_book_data", lambda split: tiny)
    monkeypatch.setattr(tm.transfer, "train", spy)
    model, hist = tm.letters_squeezenet(progress=False)
    (tr, va), = seen
    assert tr.max() == va.max() == 25 and len(np.unique(tr)) == 26 and not hist["cached"]
    assert tm.letters_squeezenet(progress=False)[1]["cached"]


def test_zero_label_accuracy_reads_the_digit_outputs():
    """A 36-class network whose digit outputs are the true digit scores 100%; a 26-class one has no digits."""
    ev = _digits(2)

    class Oracle(torch.nn.Module):
        def __init__(self, labels):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.labels = torch.as_tensor(labels)
            self.calls = 0

        def forward(self, x):
            out = torch.zeros(len(x), 36)
            out[:, 0] = 5.0                                           # a letter wins overall ...
            out[torch.arange(len(x)), 26 + self.labels[self.calls:self.calls + len(x)]] = 1.0
            self.calls += len(x)
            return out
    assert tm.zero_label_accuracy(Oracle(ev.labels), ev) == 1.0      # ... but only digit outputs count
    assert tm.zero_label_accuracy(tm.squeezenet(26), ev) is None


def test_finetune_backbone_uses_local_imagenet_weights(tmp_path, capsys):
    """A (fake) ImageNet checkpoint in the hub cache is used by 'auto' instead of the characters."""
    from torchvision.models import squeezenet1_1

    hub = tmp_path / "hub"
    path = tm.imagenet_weights_file(hub)
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(squeezenet1_1(weights=None).state_dict(), path)
    model, desc = tm.finetune_backbone("auto", hub_dir=hub, progress=True)
    assert "ImageNet" in desc and "loaded ImageNet weights" in capsys.readouterr().out
    ref = squeezenet1_1(weights=None)
    ref.load_state_dict(torch.load(path, weights_only=True))
    torch.testing.assert_close(model.features[3].squeeze.weight, ref.features[3].squeeze.weight)


def _backbone(n_classes=10):
    config.seed_everything(0)
    return tm.squeezenet(n_classes)


def test_adapt_probe_changes_only_the_head_and_matches_the_full_model():
    tr, ev = _digits(3, seed=1), _digits(2, seed=2)
    bb = _backbone(36)
    before = {k: v.clone() for k, v in bb.state_dict().items()}
    r = tm.adapt("probe", bb, tr, ev, steps=4, seed=0, curve_points=3)
    assert set(r) >= {"strategy", "acc", "curve_steps", "curve_acc", "loss", "seconds"}
    assert r["curve_steps"] == [0, 2, 4] and len(r["curve_acc"]) == 3 and len(r["loss"]) == 4
    assert 0 <= r["acc"] <= 1
    for k, v in bb.state_dict().items():                       # the backbone passed in is untouched
        torch.testing.assert_close(v.cpu(), before[k].cpu())
    # the probe on precomputed features is the same computation as the full model with a frozen backbone
    feats = tm.backbone_features(bb, ev)
    config.seed_everything(0)
    head = tm.replace_head(tm.squeezenet(36), 10).classifier
    full = tm.replace_head(__import__("copy").deepcopy(bb), 10)
    full.classifier.load_state_dict(head.state_dict())
    full.eval()
    torch.testing.assert_close(tm.transfer._Head(head).eval()(feats).cpu(), full(tm.as_tensors(ev)[0]).cpu(),
                               rtol=1e-4, atol=1e-5)


def test_adapt_strategies_are_reproducible_and_learn_a_separable_task():
    tr, ev = _digits(4, seed=1), _digits(3, seed=2)
    bb = _backbone(36)
    r1 = tm.adapt("finetune", bb, tr, ev, steps=3, seed=0, curve_points=2)
    r2 = tm.adapt("finetune", bb, tr, ev, steps=3, seed=0, curve_points=2)
    assert r1["loss"] == r2["loss"] and r1["acc"] == r2["acc"]
    assert tm.adapt("scratch", bb, tr, ev, steps=2, seed=0, curve_points=2)["strategy"] == "scratch"
    cnn = tm.adapt("scratch_cnn", bb, tr, ev, steps=40, seed=0, lr=1e-2, curve_points=2)
    assert cnn["acc"] >= 0.8 and cnn["curve_acc"][-1] > cnn["curve_acc"][0]
    with pytest.raises(ValueError, match="strategy must be one of"):
        tm.adapt("distill", bb, tr, ev, steps=1)


def test_adapt_stops_early_on_the_validation_set():
    """With valid_set the curve is taken there and the best step's weights are kept (the earliest on ties):
    scoring the kept model on the validation set again gives the best point of the curve."""
    tr, va = _digits(4, seed=1), _digits(3, seed=2)
    bb = _backbone(36)
    r = tm.adapt("scratch_cnn", bb, tr, va, valid_set=va, steps=12, seed=0, lr=3e-2, curve_points=4)
    best = max(r["curve_acc"])
    assert r["valid_acc"] == best and r["acc"] == best
    assert r["best_step"] == r["curve_steps"][r["curve_acc"].index(best)]
    no_stop = tm.adapt("scratch_cnn", bb, tr, va, steps=12, seed=0, lr=3e-2, curve_points=4)
    assert no_stop["best_step"] == 12 and np.isnan(no_stop["valid_acc"])
    assert no_stop["curve_acc"] == r["curve_acc"]                   # the same training, only the kept step differs
    pool, (labelled, valid) = _digits(6), tm.split_pool(_digits(6), 2)
    assert len(valid) == 20 and len(labelled) == 40
    assert not {im.tobytes() for im in valid.images} & {im.tobytes() for im in labelled.images}


def test_finetune_experiment_runs_every_setting_and_caches(monkeypatch):
    pool, held = _digits(6, seed=3, split="pool"), _digits(4, seed=4, split="held")
    monkeypatch.setattr(tm.transfer, "mnist_target_task", lambda seed=0: (pool, held))
    monkeypatch.setattr(tm.transfer, "finetune_backbone",
                        lambda source="auto", progress=True: (_backbone(36), "test backbone"))
    monkeypatch.setitem(config.BUDGETS, "ft_eval_per_class", (4, 4, ""))
    monkeypatch.setitem(config.BUDGETS, "ft_valid_per_class", (2, 2, ""))
    monkeypatch.setattr(tm.transfer, "FT_SELECT_K", 2)
    grid = {"probe": [1e-3, 1e-2], "finetune": [3e-4], "scratch": [1e-3], "scratch_cnn": [1e-3, 1e-2]}
    monkeypatch.setattr(tm.transfer, "FT_LR_GRID", grid)
    r = tm.finetune_experiment(labels_per_class=[1, 2], seeds=2, steps=2, progress=False)
    assert not r["cached"] and r["backbone"] == "test backbone"
    assert len(r["runs"]) == 2 * 2 * len(tm.FT_STRATEGIES)
    assert r["n_valid"] == 20 and r["n_eval"] == 40 and r["zero_label"] is not None   # a 36-class backbone
    for s in tm.FT_STRATEGIES:                     # the chosen lr is the best on the validation digits
        sweep = r["lr_sweep"][s]
        assert [lr for lr, _ in sweep] == grid[s] and r["lr"][s] == max(sweep, key=lambda p: p[1])[0]
        assert all(x["lr"] == r["lr"][s] for x in r["runs"] if x["strategy"] == s)
    assert set(r["table"]) == set(tm.FT_STRATEGIES) and all(set(t) == {1, 2} for t in r["table"].values())
    for s in tm.FT_STRATEGIES:
        for k in (1, 2):
            accs = [x["acc"] for x in r["runs"] if x["strategy"] == s and x["k"] == k]
            assert r["table"][s][k] == pytest.approx(np.mean(accs)) and r["std"][s][k] == pytest.approx(np.std(accs))
    assert all(x["n_train"] == 10 * x["k"] for x in r["runs"])
    again = tm.finetune_experiment(labels_per_class=[1, 2], seeds=2, steps=2, progress=False)
    assert again["cached"] and again["table"] == r["table"] and again["path"] == r["path"]
    json.loads(open(r["path"]).read())                           # a complete JSON file
    other = tm.finetune_experiment(labels_per_class=[1], seeds=1, steps=2, progress=False)
    assert other["path"] != r["path"] and not other["cached"]    # other settings, other file
    digest = tm.transfer.code_digest
    monkeypatch.setattr(tm.transfer, "code_digest", lambda: "edited-code")
    edited = tm.finetune_experiment(labels_per_class=[1, 2], seeds=2, steps=2, progress=False)
    assert edited["path"] != r["path"] and not edited["cached"]  # other training code, other file
    monkeypatch.setattr(tm.transfer, "code_digest", digest)
    two = tm.finetune_experiment(labels_per_class=[1], seeds=1, steps=2, strategies=("probe", "finetune"),
                                 progress=False)
    assert set(two["table"]) == {"probe", "finetune"} and len(two["runs"]) == 2
    with pytest.raises(ValueError, match="strategies must be among"):
        tm.finetune_experiment(labels_per_class=[1], seeds=1, steps=2, strategies=("distill",), progress=False)


@pytest.mark.parametrize("garbage", [b"\x00\xff not json", b"{\"table\": 3}", b"[1, 2]", b""])
def test_a_corrupt_results_file_is_rebuilt_with_a_message(monkeypatch, capsys, garbage):
    pool, held = _digits(6, seed=3, split="pool"), _digits(4, seed=4, split="held")
    monkeypatch.setattr(tm.transfer, "mnist_target_task", lambda seed=0: (pool, held))
    monkeypatch.setattr(tm.transfer, "finetune_backbone",
                        lambda source="auto", progress=True: (_backbone(36), "test backbone"))
    monkeypatch.setitem(config.BUDGETS, "ft_eval_per_class", (2, 2, ""))
    monkeypatch.setitem(config.BUDGETS, "ft_valid_per_class", (2, 2, ""))
    monkeypatch.setattr(tm.transfer, "FT_SELECT_K", 1)
    monkeypatch.setattr(tm.transfer, "FT_LR_GRID", {s: [1e-3] for s in tm.FT_STRATEGIES})
    kw = dict(labels_per_class=[1], seeds=1, steps=1, strategies=("probe",), progress=False)
    first = tm.finetune_experiment(**kw)
    open(first["path"], "wb").write(garbage)
    capsys.readouterr()
    again = tm.finetune_experiment(**kw)
    out = capsys.readouterr().out
    assert not again["cached"] and "could not read the cached results" in out and "running the experiment again" in out
    assert again["table"] == first["table"]
    assert tm.finetune_experiment(**kw)["cached"]                # the file was rewritten whole


def test_digits_cnn_trains_once_then_loads(monkeypatch, capsys):
    pool, held = _digits(6, seed=5, split="pool"), _digits(3, seed=6, split="held")
    monkeypatch.setattr(tm.transfer, "mnist_target_task", lambda seed=0: (pool, held))
    model, hist = tm.digits_cnn(progress=False)
    assert not hist["cached"] and len(hist["epoch"]) == config.budget("digits_cnn_epochs")
    assert tm.predict_proba(model, held.images).shape == (len(held), 10)
    again, hist2 = tm.digits_cnn(progress=False)
    assert hist2["cached"]
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a.cpu(), b.cpu())


def _flowers_layout(root, classes=("daisy", "pansy", "tulip"), per_split=(3, 2, 2), seed=0):
    """A tiny flowers17-style layout: root/{train,val,test}/<class>/image_XXXX.jpg, random RGB images whose
    mean color depends on the class (so the task can be learned)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    number = 0
    for split, n in zip(("train", "val", "test"), per_split):
        for c, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for _ in range(n):
                number += 1
                base = np.zeros(3)
                base[c % 3] = 180
                im = np.clip(base + rng.normal(40, 30, (40, 48, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(im).save(folder / f"image_{number:04d}.jpg")
    return root


def test_flowers17_experiment_on_a_tiny_layout(tmp_path, capsys):
    root, hub = _flowers_layout(tmp_path / "flowers"), tmp_path / "hub"
    assert not tm.flowers17_ready(root, hub_dir=hub)
    with pytest.raises(ValueError, match="ImageNet weights"):
        tm.flowers17_experiment(root, hub_dir=hub, size=32)
    from torchvision.models import squeezenet1_1
    path = tm.imagenet_weights_file(hub)
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(squeezenet1_1(weights=None).state_dict(), path)          # a stand-in for the ImageNet file
    assert tm.flowers17_ready(root, hub_dir=hub) and not tm.flowers17_ready(tmp_path / "none", hub_dir=hub)
    r = tm.flowers17_experiment(root, hub_dir=hub, size=32, epochs=2, progress=True)
    assert set(r["acc"]) == {"finetune", "scratch"} and (r["n_train"], r["n_valid"], r["n_test"]) == (9, 6, 6)
    assert r["classes"] == ["daisy", "pansy", "tulip"] and "ImageNet" in r["backbone"]
    for s in ("finetune", "scratch"):
        assert len(r["valid_acc"][s]) == 2 and r["valid_acc"][s][r["best_epoch"][s] - 1] == max(r["valid_acc"][s])
        assert r["acc"][s] * 6 == pytest.approx(round(r["acc"][s] * 6))  # a fraction of the 6 test photos
    assert "flowers17, finetune: test accuracy" in capsys.readouterr().out
