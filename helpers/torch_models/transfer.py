"""Chapter 6's transfer-learning experiments: does what a network learned on one task help on another?

The source task: 36 generated character classes, many images. The target task: real MNIST
handwriting, 10 digit classes, only a few labelled images per class. Helpers, in the order the
chapter meets them:

- :func:`train_same_batches`: chapter 3's SGD in PyTorch, batch for batch;
- :func:`mnist_target_task`, :func:`labelled_subset`: the target task;
- :func:`digits_cnn`: a CNN trained on all target labels;
- :func:`finetune_backbone`: the pretrained SqueezeNet (ImageNet weights when present locally, else
  the character-pretrained one);
- :func:`adapt`: one linear probe / fine-tune / from-scratch run (:data:`FT_STRATEGIES`,
  :data:`FT_SETTINGS`), the probe on :func:`backbone_features`;
- :func:`finetune_experiment`: all runs, cached.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import config
from .checkpoints import fingerprint, pretrained_squeezenet, train_or_load
from .models import (N_CLASSES, MLP, SmallCNN, SqueezeNetClassifier, imagenet_weights_file, replace_head,
                     squeezenet)
from .training import (_HISTORY_KEYS, _make_optimizer, _model_dtype, _threads, _train_mode, as_tensors, evaluate,
                       random_affine, train, train_epoch)

__all__ = [
    "train_same_batches", "MNIST_HELD_OUT_PER_CLASS", "mnist_target_task", "labelled_subset",
    "DIGITS_CNN_SETTINGS", "digits_cnn", "finetune_backbone", "FT_STRATEGIES", "FT_SETTINGS",
    "backbone_features", "adapt", "FT_VERSION", "finetune_experiment",
]


def train_same_batches(model: MLP, X: np.ndarray, Y: np.ndarray, X_valid: np.ndarray | None = None,
                       Y_valid: np.ndarray | None = None, *, epochs: int, lr: float, batch_size: int = 32,
                       rng: np.random.Generator) -> dict:
    """Chapter 3's training (``helpers.nn.fit`` with cross-entropy and plain SGD) run in PyTorch,
    batch for batch.

    X: (N, 1024), Y: (N, 36) one-hot, as ``helpers.nn.fit`` takes them (validation likewise).
    Each epoch draws its batches with ``helpers.nn.get_random_batches(..., rng)``, exactly as
    ``nn.fit`` does, so the same ``rng`` state gives the same batches in the same order; each batch
    takes one step ``W -= lr * grad`` of the loss *summed* over the batch, the gradient coming from
    autograd instead of ``nn.backwards``. Computes in the model's dtype. Returns the history with
    ``nn.fit``'s keys (``epoch``, ``lr``, ``train_loss``/``valid_loss`` per example,
    ``train_acc``/``valid_acc``, ``seconds``), the training numbers averaged over the epoch's batches
    as they were trained.
    """
    from .. import nn as npnn

    dtype = _model_dtype(model)
    X, Y = np.asarray(X), np.asarray(Y)
    if X.ndim != 2 or Y.shape != (len(X), model.output.out_features):
        raise ValueError(f"train_same_batches: X must be (N, {model.layer1.in_features}) and Y (N, "
                         f"{model.output.out_features}) one-hot; got {X.shape} and {Y.shape}")
    x, y = torch.as_tensor(X).to(dtype), torch.as_tensor(Y.argmax(1))
    params = list(model.parameters())
    has_valid = X_valid is not None and Y_valid is not None
    history: dict[str, list] = {k: [] for k in _HISTORY_KEYS}
    idx = np.arange(len(X))
    elapsed = 0.0
    torch.set_num_threads(_threads(None))
    model.train()
    for e in range(int(epochs)):
        t0 = time.perf_counter()
        total = correct = 0.0
        for b, _ in npnn.get_random_batches(idx, idx, batch_size, rng):
            b = torch.as_tensor(b)
            logits = model(x[b])
            loss = F.cross_entropy(logits, y[b], reduction="sum")
            model.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
            total += float(loss.detach())
            correct += float((logits.argmax(1) == y[b]).sum())
        elapsed += time.perf_counter() - t0
        va_loss = va_acc = float("nan")
        if has_valid:
            va_loss, va_acc, _ = evaluate(model, (np.asarray(X_valid).reshape(len(X_valid), -1),
                                                  np.asarray(Y_valid)))
        for k, v in zip(_HISTORY_KEYS, (e + 1, lr, total / len(X), correct / len(X), va_loss, va_acc, elapsed)):
            history[k].append(v)
    model.eval()
    return history


MNIST_HELD_OUT_PER_CLASS = 200   # of the 500 MNIST digits per class; the other 300 are the labelled pool


def mnist_target_task(seed: int = 0):
    """The chapter-6 target task: the 5,000 real MNIST digits (``helpers.data.load_mnist_digits``)
    as a 10-class problem, split once per class (seeded) into a labelled **pool** (300 per class,
    where the few training labels come from) and a **held-out** set (200 per class, never trained
    on). Returns ``(pool, held_out)``, CharacterSets with images ``(N, 32, 32)`` float32 ink dark in
    [0, 1] and labels ``(N,)`` int64 **0-9** (the digit itself, not NIST36's 26-35)."""
    from .. import data

    mnist = data.load_mnist_digits()
    rng = np.random.default_rng(seed)
    pool_idx, held_idx = [], []
    for d in range(10):
        idx = rng.permutation(np.flatnonzero(mnist.labels == 26 + d))
        held_idx.append(idx[:MNIST_HELD_OUT_PER_CLASS])
        pool_idx.append(idx[MNIST_HELD_OUT_PER_CLASS:])

    def part(index: list[np.ndarray], split: str):
        index = np.sort(np.concatenate(index))
        return data.CharacterSet(mnist.images[index], mnist.labels[index] - 26, mnist.source, split, None)

    return part(pool_idx, "mnist-pool"), part(held_idx, "mnist-held-out")


def labelled_subset(pool: Any, k: int, seed: int = 0, n_classes: int | None = None):
    """``k`` labelled images per class drawn from ``pool`` (a CharacterSet), in class order.

    For one ``seed`` the subsets are nested: the images of ``k = 1`` are among those of ``k = 5``,
    and so on, so a sweep over ``k`` adds labels rather than drawing new sets. Raises if a class has
    fewer than ``k`` images. Returns a CharacterSet of ``k * n_classes`` images."""
    labels = np.asarray(pool.labels)
    n_classes = int(labels.max()) + 1 if n_classes is None else n_classes
    if int(k) != k or k < 1:
        raise ValueError(f"labelled_subset: k must be a positive integer (labels per class), got {k!r}")
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(n_classes):
        idx = np.flatnonzero(labels == c)
        if len(idx) < k:
            raise ValueError(f"labelled_subset: class {c} has only {len(idx)} images in the pool; k={k} is too many")
        chosen.append(rng.permutation(idx)[:int(k)])
    return pool.subset(np.concatenate(chosen))


DIGITS_CNN_SETTINGS = dict(lr=2e-3, batch_size=64, optimizer="adam", weight_decay=1e-4, augment=True, seed=0)


def digits_cnn(progress: bool = True, force: bool = False) -> tuple[SmallCNN, dict]:
    """The homework's "CNN on digits": a :class:`SmallCNN` for 10 classes trained on the whole MNIST
    pool of :func:`mnist_target_task` (3,000 real digits, all labels) and validated on its held-out
    digits, ``budget('digits_cnn_epochs')`` epochs with :data:`DIGITS_CNN_SETTINGS`; cached by
    :func:`train_or_load`. Returns ``(model, history)``; the model predicts digits 0-9."""
    pool, held_out = mnist_target_task()
    s = dict(DIGITS_CNN_SETTINGS, epochs=int(config.budget("digits_cnn_epochs")), data=fingerprint(pool, held_out))

    def fit(model: nn.Module) -> dict:
        return train(model, pool, held_out, epochs=s["epochs"], lr=s["lr"], batch_size=s["batch_size"],
                     optimizer=s["optimizer"], weight_decay=s["weight_decay"], seed=s["seed"],
                     augment=random_affine() if s["augment"] else None, progress=progress, name="SmallCNN (digits)")

    return train_or_load("cnn_digits", lambda: SmallCNN(n_classes=10), fit, s, force=force, verbose=progress)


def finetune_backbone(source: str = "auto", progress: bool = True,
                      hub_dir: str | os.PathLike | None = None) -> tuple[SqueezeNetClassifier, str]:
    """The pretrained SqueezeNet 1.1 that chapter 6 adapts, and a description of its weights.

    source: ``'imagenet'`` (torchvision's ImageNet weights, only if already in the local torch hub
    cache: :func:`imagenet_weights_file`; else ValueError), ``'characters'``
    (:func:`pretrained_squeezenet`: trained on the generated character set, cached) or ``'auto'``
    (ImageNet when the file is there, else characters). The model is grayscale 32x32
    (:class:`SqueezeNetClassifier`); its classifier is whatever the source had (36 character
    classes, or a fresh head for ImageNet): :func:`adapt` replaces it.
    """
    if source not in ("auto", "imagenet", "characters"):
        raise ValueError(f"finetune_backbone: source must be 'auto', 'imagenet' or 'characters', got {source!r}")
    if source in ("auto", "imagenet"):
        path = imagenet_weights_file(hub_dir)
        if path.is_file():
            model = squeezenet(N_CLASSES, weights="imagenet", hub_dir=hub_dir, verbose=progress)
            return model, model.weights_source
        if source == "imagenet":
            raise ValueError(f"finetune_backbone: ImageNet weights not found at {path}; copy torchvision's "
                             f"{path.name} there or use source='characters'")
    model, history = pretrained_squeezenet(progress=progress)
    acc = history.get("valid_acc", [float("nan")])[-1]
    n = len(history.get("epoch", []))
    return model, (f"pretrained on the generated characters ({n} epoch{'' if n == 1 else 's'}, "
                   f"validation accuracy {100 * acc:.1f}%)")


FT_STRATEGIES = ("probe", "finetune", "scratch", "scratch_cnn")
# One budget for all strategies: the same labelled images, steps, batch size, optimizer and
# schedule (Adam, one-cycle: SqueezeNet has no batch norm and needs the warm-up from scratch), no
# augmentation; only the peak learning rate differs (each the best of a small sweep at 1, 10 and
# 50 labels per class: probe 1e-3/3e-3/1e-2, fine-tune 3e-4/1e-3, SqueezeNet from scratch
# 3e-4/1e-3/2e-3, small CNN 1e-3/3e-3/1e-2). head_bias: the new SqueezeNet classifier's biases
# start there instead of 0. Its output passes a ReLU, and a class whose channel starts negative
# on all its training images gets no gradient and is never predicted (with 0, 2 of 5 one-label
# probe runs lost a class that way; with 1.0, none).
FT_SETTINGS = dict(batch_size=32, optimizer="adam", schedule="onecycle", weight_decay=0.0, augment=False,
                   head_bias=1.0, lr={"probe": 1e-3, "finetune": 3e-4, "scratch": 1e-3, "scratch_cnn": 3e-3})


class _Head(nn.Module):
    """SqueezeNet's classifier on precomputed feature maps ``(N, 512, h, w)``: a linear probe
    trains only this, so the frozen backbone runs once per image instead of once per step."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(f), 1)


@torch.no_grad()
def backbone_features(model: SqueezeNetClassifier, data: Any, batch_size: int = 100) -> torch.Tensor:
    """What a SqueezeNet's classifier sees: the feature maps ``(N, 512, h, w)`` (``(N, 512, 3, 3)`` for
    32x32 input with the stride-1 stem), computed in eval mode without gradients, for images in any
    :func:`as_tensors` form. A linear probe trains on these (the backbone then runs once per image)."""
    x, _ = as_tensors(data)
    model.eval()
    return torch.cat([model.features(model.preprocess(x[s:s + batch_size])) for s in range(0, len(x), batch_size)])


def _fit_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float, batch_size: int,
               optimizer: str = "adam", schedule: str = "onecycle", weight_decay: float = 0.0,
               augment: Callable | None = None, seed: int = 0,
               on_step: Callable[[int], None] | None = None) -> list[float]:
    """``steps`` mini-batch steps of cross-entropy on (x, y) (:func:`~helpers.torch_models.training.train_epoch`
    over :func:`_step_batches`); ``on_step(step)`` after each step (and for step 0).
    Returns the training loss of every step."""
    config.seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    torch.set_num_threads(_threads(None))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(optimizer, params, lr, 0.9, weight_decay)
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, steps), pct_start=0.3)
             if schedule == "onecycle" else None)
    losses: list[float] = []

    def after_step(loss: torch.Tensor) -> None:
        losses.append(float(loss.detach()))
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"adapt: the loss became {losses[-1]} at step {len(losses)}; "
                                     "lower the learning rate")
        if on_step is not None:
            on_step(len(losses))
        _train_mode(model)  # (evaluating in on_step left the model in eval mode, or all in train mode)

    if on_step is not None:
        on_step(0)
    _train_mode(model)
    torch.set_flush_denormal(True)
    try:
        if steps > 0:
            batches = _step_batches(x, y, int(steps), min(int(batch_size), len(x)), gen, augment)
            train_epoch(model, batches, opt, scheduler=sched, on_step=after_step)
    finally:
        torch.set_flush_denormal(False)
    model.eval()
    return losses


def _step_batches(x: torch.Tensor, y: torch.Tensor, steps: int, batch_size: int, gen: torch.Generator,
                  augment: Callable | None = None):
    """``steps`` batches of ``batch_size`` images in epochs of seeded random order: a new order is
    drawn when fewer than ``batch_size`` images of the current one are left (those are skipped)."""
    n = len(x)
    order, pos = torch.randperm(n, generator=gen), 0
    for _ in range(steps):
        if pos + batch_size > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        yield (x[idx] if augment is None else augment(x[idx], gen)), y[idx]


def _curve_steps(steps: int, points: int = 6) -> list[int]:
    return sorted({int(round(s)) for s in np.linspace(0, steps, points)})


def adapt(strategy: str, backbone: SqueezeNetClassifier, train_set: Any, eval_set: Any, *, steps: int,
          n_classes: int = 10, lr: float | None = None, batch_size: int | None = None, seed: int = 0,
          curve_set: Any = None, curve_points: int = 6, features: dict | None = None,
          head_bias: float | None = None) -> dict:
    """One run on the target task; ``backbone`` is not changed.

    strategy: ``'probe'`` (linear probe: the backbone frozen, only a new ``n_classes`` head trained,
    on :func:`backbone_features`), ``'finetune'`` (a copy of the backbone with a new head, every
    weight trained), ``'scratch'`` (the same SqueezeNet 1.1 from a random initialisation, every
    weight trained) or ``'scratch_cnn'`` (a :class:`SmallCNN` from scratch). Each gets the same
    budget: ``steps`` Adam steps of ``batch_size`` images from ``train_set`` (``(N, 32, 32)`` images,
    labels ``0..n_classes-1``), one-cycle schedule; lr and batch size default to :data:`FT_SETTINGS`.
    The new head is drawn with seed ``seed`` (so probe and fine-tune start from the same head), its
    biases set to ``head_bias`` (default ``FT_SETTINGS['head_bias']``; SqueezeNet only).

    Returns ``{'strategy', 'acc' (on eval_set), 'curve_steps', 'curve_acc' (accuracy on curve_set,
    default eval_set, at ``curve_points`` steps from 0 to steps), 'loss' (per step),
    'never_predicted' (classes the final model predicts for no image of eval_set), 'seconds',
    'n_train', 'lr'}``.
    ``features``: optional ``{'train': ..., 'eval': ..., 'curve': ...}`` feature maps of the
    backbone for the probe (computed here when missing).
    """
    if strategy not in FT_STRATEGIES:
        raise ValueError(f"adapt: strategy must be one of {FT_STRATEGIES}, got {strategy!r}")
    lr = FT_SETTINGS["lr"][strategy] if lr is None else lr
    batch_size = FT_SETTINGS["batch_size"] if batch_size is None else batch_size
    curve_set = eval_set if curve_set is None else curve_set
    t0 = time.perf_counter()
    x, y = as_tensors(train_set)
    if strategy == "scratch_cnn":
        config.seed_everything(seed)
        model: nn.Module = SmallCNN(n_classes)
    elif strategy == "scratch":
        config.seed_everything(seed)
        model = SqueezeNetClassifier(n_classes, backbone.in_channels, backbone.small_input)
    else:
        model = copy.deepcopy(backbone).cpu()
        config.seed_everything(seed)
        replace_head(model, n_classes)
    head_bias = FT_SETTINGS["head_bias"] if head_bias is None else head_bias
    if isinstance(model, SqueezeNetClassifier):
        with torch.no_grad():
            model.classifier[1].bias.fill_(head_bias)
    if strategy == "probe":  # train the head on the frozen backbone's feature maps
        features = dict(features or {})
        for key, d in (("train", train_set), ("eval", eval_set), ("curve", curve_set)):
            if key not in features:
                features[key] = backbone_features(model, d)
        head = _Head(model.classifier)
        x = features["train"]
        ev, cv = (features["eval"], as_tensors(eval_set)[1]), (features["curve"], as_tensors(curve_set)[1])
        trained = head
    else:
        ev, cv = eval_set, curve_set
        trained = model
    at = _curve_steps(steps, curve_points)
    curve: list[float] = []

    def on_step(step: int) -> None:
        if step in at:
            curve.append(evaluate(trained, cv, batch_size=100)[1])

    s = FT_SETTINGS
    losses = _fit_steps(trained, x, y, steps=steps, lr=lr, batch_size=batch_size, optimizer=s["optimizer"],
                        schedule=s["schedule"], weight_decay=s["weight_decay"],
                        augment=random_affine() if s["augment"] else None, seed=seed, on_step=on_step)
    _, acc, pred = evaluate(trained, ev, batch_size=100)
    return dict(strategy=strategy, acc=acc, curve_steps=at, curve_acc=curve, loss=losses,
                never_predicted=int(n_classes - len(np.unique(pred))), seconds=time.perf_counter() - t0,
                n_train=len(y), lr=lr)


FT_VERSION = 2  # bump when adapt/finetune_experiment change what they compute (part of the cache key)


def finetune_experiment(labels_per_class: list[int] | None = None, seeds: int | None = None,
                        steps: int | None = None, source: str = "auto", progress: bool = True,
                        force: bool = False) -> dict:
    """Linear probe, full fine-tune and from-scratch training on the MNIST target task, for each
    number of labels per class and each seed; cached.

    Defaults: budgets ``ft_labels_per_class`` (e.g. 1, 5, 10, 50), ``ft_seeds`` (labelled subsets
    and heads per setting), ``ft_steps``; every run is evaluated on the first
    ``budget('ft_eval_per_class')`` held-out digits per class (curves on the first
    ``budget('ft_curve_per_class')``). The backbone is :func:`finetune_backbone` ``(source)``.
    Results are stored as JSON in ``data_dir()/torch/finetune-<mode>-<hash>.json`` (the hash covers
    the settings, the backbone's weights and the data) and reloaded instead of recomputed.

    Returns ``{'runs': [adapt results + 'k', 'seed'], 'table': {strategy: {k: mean accuracy}},
    'std': {strategy: {k: std over seeds}}, 'labels_per_class', 'seeds', 'steps', 'backbone'
    (description), 'settings', 'seconds', 'path', 'cached'}`` (k keys are ints).
    """
    ks = [int(k) for k in (config.budget("ft_labels_per_class") if labels_per_class is None else labels_per_class)]
    n_seeds = int(config.budget("ft_seeds") if seeds is None else seeds)
    steps = int(config.budget("ft_steps") if steps is None else steps)
    backbone, description = finetune_backbone(source, progress=progress)
    pool, held_out = mnist_target_task()
    per_eval, per_curve = int(config.budget("ft_eval_per_class")), int(config.budget("ft_curve_per_class"))
    eval_set = labelled_subset(held_out, per_eval, seed=1)
    curve_set = labelled_subset(eval_set, per_curve, seed=2)
    weights = hashlib.sha1(b"".join(v.detach().cpu().numpy().tobytes()
                                    for v in backbone.state_dict().values())).hexdigest()[:12]
    settings = dict(FT_SETTINGS, version=FT_VERSION, ks=ks, seeds=n_seeds, steps=steps, backbone=weights,
                    data=fingerprint(pool, eval_set, curve_set))
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    path = config.data_dir() / "torch" / f"finetune-{config.mode()}-{key}.json"
    if path.is_file() and not force:
        try:
            result = json.loads(path.read_text())
            result["table"] = {s: {int(k): v for k, v in t.items()} for s, t in result["table"].items()}
            result["std"] = {s: {int(k): v for k, v in t.items()} for s, t in result["std"].items()}
        except (ValueError, KeyError) as exc:
            if progress:
                print(f"finetune_experiment: could not read {path.name} ({exc}); running again")
        else:
            if progress:
                print(f"finetune_experiment: loaded the results from {path} (delete it to run again)")
            return dict(result, path=str(path), cached=True)
    t0 = time.perf_counter()
    feats_eval, feats_curve = backbone_features(backbone, eval_set), backbone_features(backbone, curve_set)
    runs = []
    for seed in range(n_seeds):
        for k in ks:
            train_set = labelled_subset(pool, k, seed=100 + seed)
            feats = dict(train=backbone_features(backbone, train_set), eval=feats_eval, curve=feats_curve)
            line = []
            for strategy in FT_STRATEGIES:
                r = adapt(strategy, backbone, train_set, eval_set, steps=steps, seed=seed, curve_set=curve_set,
                          features=feats)
                runs.append(dict(r, k=k, seed=seed))
                line.append(f"{strategy} {100 * r['acc']:.1f}%")
            if progress:
                print(f"{k:3d} labels/class, subset {seed}: " + ", ".join(line)
                      + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    table = {s: {k: float(np.mean([r["acc"] for r in runs if r["strategy"] == s and r["k"] == k])) for k in ks}
             for s in FT_STRATEGIES}
    std = {s: {k: float(np.std([r["acc"] for r in runs if r["strategy"] == s and r["k"] == k])) for k in ks}
           for s in FT_STRATEGIES}
    result = dict(runs=runs, table=table, std=std, labels_per_class=ks, seeds=n_seeds, steps=steps,
                  backbone=description, settings=settings, n_eval=len(eval_set), n_curve=len(curve_set),
                  seconds=time.perf_counter() - t0)
    with config.atomic_path(path) as tmp:
        tmp.write_text(json.dumps(result))
    return dict(result, path=str(path), cached=False)
