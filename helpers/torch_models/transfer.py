"""Chapter 6's transfer-learning experiments: does what a network learned on one task help on another?

The source task: 36 generated character classes, many images. The target task: real MNIST
handwriting, 10 digit classes, only a few labelled images per class. Helpers, in the order the
chapter meets them:

- :func:`mnist_target_task`, :func:`labelled_subset`: the target task;
- :func:`digits_cnn`: a CNN trained on all target labels;
- :func:`letters_squeezenet`, :func:`finetune_backbone`: the pretrained SqueezeNet (ImageNet weights when
  present locally, else pretrained on the generated letters only, or on all 36 characters);
  :func:`zero_label_accuracy`: the all-characters network's own digit outputs, no digit label used;
- :func:`adapt`: one linear probe / fine-tune / from-scratch run (:data:`FT_STRATEGIES`,
  :data:`FT_SETTINGS`) with early stopping on validation digits (:func:`split_pool`), the probe on
  :func:`backbone_features`;
- :func:`finetune_experiment`: learning rates chosen on the validation digits, then all runs, cached;

Beside them: ``training.train_same_batches`` (chapter 3's SGD in PyTorch), ``checkpoints.mlp_controls``
(the MLP with the CNN's recipe) and ``flowers.py`` (the homework's flowers17 experiment).
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
from torch import nn

from .. import config, parallel
from .checkpoints import code_digest, fingerprint, pretrained_squeezenet, train_or_load
from .models import N_CLASSES, SmallCNN, SqueezeNetClassifier, imagenet_weights_file, replace_head, squeezenet
from .training import (_make_optimizer, _threads, as_tensors, evaluate, predict_proba, random_affine, train,
                       _train_epoch, train_mode)

__all__ = [
    "MNIST_HELD_OUT_PER_CLASS", "mnist_target_task", "labelled_subset",
    "DIGITS_CNN_SETTINGS", "digits_cnn", "LETTERS", "letters_squeezenet", "BACKBONE_SOURCES", "finetune_backbone",
    "CHAPTER6_MODELS", "SHARED_MODELS", "prepare", "zero_label_accuracy", "FT_STRATEGIES", "FT_SETTINGS", "FT_LR_GRID",
    "FT_SELECT_K", "backbone_features",
    "adapt", "split_pool", "FT_VERSION", "finetune_experiment",
]


MNIST_HELD_OUT_PER_CLASS = 200   # of the 500 MNIST digits per class; the other 300 are the labelled pool


def mnist_target_task(seed: int = 0):
    """The chapter-6 target task: the 5,000 real MNIST digits (``helpers.data.load_mnist_digits``)
    as a 10-class problem, split once per class (seeded) into a labelled **pool** (300 per class,
    where the few training labels come from) and a **held-out** set (200 per class, never trained
    on). Returns ``(pool, held_out)``, CharacterSets with images ``(N, 32, 32)`` float32 ink dark in
    [0, 1] and labels ``(N,)`` int64 **0-9** (the digit itself, not NIST36's 26-35)."""
    from .. import data

    mnist = data.load_mnist_digits()
    rng = np.random.default_rng(config.seeded(seed))
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
    rng = np.random.default_rng(config.seeded(seed))
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


LETTERS = 26   # NIST36 classes 0-25 are the letters A-Z


def letters_squeezenet(progress: bool = True, force: bool = False) -> tuple[SqueezeNetClassifier, dict]:
    """SqueezeNet 1.1 (:func:`squeezenet`, 32x32 grayscale) pretrained from scratch on the **letters only**
    of ``load_book_data('train')`` (classes A-Z, validated on the letters of 'valid'): a source task that
    never shows a digit, so adapting it to the MNIST digits is transfer to new classes. Same recipe and
    epochs as :func:`pretrained_squeezenet` (:data:`SQUEEZE_SETTINGS`, ``budget('squeeze_pretrain_epochs')``),
    26 outputs; cached by :func:`train_or_load`."""
    from .. import data
    from .checkpoints import SQUEEZE_SETTINGS

    train_set, valid_set = (data.load_book_data(split) for split in ("train", "valid"))
    train_set, valid_set = (d.subset(d.labels < LETTERS) for d in (train_set, valid_set))
    s = dict(SQUEEZE_SETTINGS, epochs=int(config.budget("squeeze_pretrain_epochs")), source=train_set.source,
             classes="letters", data=fingerprint(train_set, valid_set))

    def fit(model: nn.Module) -> dict:
        return train(model, train_set, valid_set, epochs=s["epochs"], lr=s["lr"], batch_size=s["batch_size"],
                     optimizer=s["optimizer"], schedule=s["schedule"], seed=s["seed"],
                     augment=random_affine() if s["augment"] else None, progress=progress,
                     name="SqueezeNet 1.1 (letters)")

    return train_or_load("squeezenet_letters", lambda: squeezenet(LETTERS), fit, s, force=force, verbose=progress)


BACKBONE_SOURCES = ("auto", "imagenet", "characters", "letters")


def finetune_backbone(source: str = "auto", progress: bool = True,
                      hub_dir: str | os.PathLike | None = None) -> tuple[SqueezeNetClassifier, str]:
    """The pretrained SqueezeNet 1.1 that chapter 6 adapts, and a description of its weights.

    source: ``'imagenet'`` (torchvision's ImageNet weights, only if already in the local torch hub
    cache: :func:`imagenet_weights_file`; else ValueError), ``'characters'``
    (:func:`pretrained_squeezenet`: trained on all 36 generated character classes, digits included),
    ``'letters'`` (:func:`letters_squeezenet`: the 26 letters only, no digit ever seen) or ``'auto'``
    (ImageNet when the file is there, else letters). The model is grayscale 32x32
    (:class:`SqueezeNetClassifier`); its classifier is whatever the source had: :func:`adapt` replaces it.
    """
    if source not in BACKBONE_SOURCES:
        raise ValueError(f"finetune_backbone: source must be one of {BACKBONE_SOURCES}, got {source!r}")
    if source in ("auto", "imagenet"):
        path = imagenet_weights_file(hub_dir)
        if path.is_file():
            model = squeezenet(N_CLASSES, weights="imagenet", hub_dir=hub_dir, verbose=progress)
            return model, model.weights_source
        if source == "imagenet":
            raise ValueError(f"finetune_backbone: ImageNet weights not found at {path}; copy torchvision's "
                             f"{path.name} there or use source='letters' or 'characters'")
    if source == "characters":
        model, history = pretrained_squeezenet(progress=progress)
        what = "all 36 generated characters, digits included"
    else:
        model, history = letters_squeezenet(progress=progress)
        what = "the 26 generated letters only, no digits"
    acc = history.get("valid_acc", [float("nan")])[-1]
    n = len(history.get("epoch", []))
    return model, (f"pretrained on {what} ({n} epoch{'' if n == 1 else 's'}, "
                   f"validation accuracy {100 * acc:.1f}%)")


CHAPTER6_MODELS = ("book_cnn", "pretrained_squeezenet", "letters_squeezenet", "mlp_controls", "digits_cnn")
SHARED_MODELS = CHAPTER6_MODELS + ("chapter3_mlp",)


def _train_named(name: str) -> str:
    """Train (or load) one of :data:`SHARED_MODELS` into the cache (in a worker of :func:`prepare`)."""
    from .. import mlp
    from . import checkpoints

    fn = getattr(checkpoints, name, None) or getattr(mlp, name, None) or globals()[name]
    fn(progress=False)
    return name


def prepare(names: tuple[str, ...] = CHAPTER6_MODELS) -> list[str]:
    """Train the book's shared networks ``names`` (default: those of chapter 6, the one chapter 4 also needs
    first, then longest first; any of
    :data:`SHARED_MODELS`) side by side on all cores (:func:`helpers.parallel.pmap`), into the cache,
    so that the cells that need them load them. Each trains with one thread and its own seed: the
    weights are those of training them one after another. Returns the names (nothing to do for
    those already cached)."""
    unknown = [n for n in names if n not in SHARED_MODELS]
    if unknown:
        raise ValueError(f"prepare: unknown networks {unknown}; choose from {SHARED_MODELS}")
    return parallel.pmap(_train_named, list(names))


def zero_label_accuracy(backbone: nn.Module, eval_set: Any) -> float | None:
    """Accuracy on ``eval_set`` (labels 0-9) of a 36-class character network's own digit outputs
    (classes 26-35: argmax over those ten scores), no digit label used; None when the network does
    not have the 36 NIST36 outputs (the letters-only or ImageNet backbones know no digits)."""
    x, y = as_tensors(eval_set)
    with torch.no_grad():
        scores = torch.as_tensor(predict_proba(backbone, x)).cpu()
    if scores.shape[1] != N_CLASSES:
        return None
    return float((scores[:, LETTERS:].argmax(1) == y).float().mean())


FT_STRATEGIES = ("probe", "finetune", "scratch", "scratch_cnn")
# One budget for all strategies: the same labelled images, steps, batch size, optimizer and
# schedule (Adam, one-cycle: SqueezeNet has no batch norm and needs the warm-up from scratch), no
# augmentation, early stopping on the validation digits. Only the peak learning rate differs: each
# strategy's is chosen from FT_LR_GRID on the validation digits (never on the held-out ones) by
# finetune_experiment; FT_SETTINGS['lr'] is the default of a single adapt() call. head_bias: the new
# SqueezeNet classifier's biases start there instead of 0. Its output passes a ReLU, and a class whose
# channel starts negative on all its training images gets no gradient and is never predicted.
FT_SETTINGS = dict(batch_size=32, optimizer="adam", schedule="onecycle", weight_decay=0.0, augment=False,
                   head_bias=1.0, lr={"probe": 1e-3, "finetune": 3e-4, "scratch": 1e-3, "scratch_cnn": 3e-3})
FT_LR_GRID = {"probe": [1e-3, 3e-3, 1e-2], "finetune": [1e-4, 3e-4, 1e-3], "scratch": [3e-4, 1e-3, 3e-3],
              "scratch_cnn": [1e-3, 3e-3, 1e-2]}
FT_SELECT_K = 10   # labels per class of the learning-rate selection runs (the middle of the study)


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
    32x32 input with the stride-1 stem), computed in eval mode without gradients on the model's device,
    returned on the CPU, for images in any :func:`as_tensors` form. A linear probe trains on these (the
    backbone then runs once per image)."""
    x, _ = as_tensors(data)
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.features(model.preprocess(x[s:s + batch_size].to(device))).cpu()
                      for s in range(0, len(x), batch_size)])


def _fit_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float, batch_size: int,
               optimizer: str = "adam", schedule: str = "onecycle", weight_decay: float = 0.0,
               augment: Callable | None = None, seed: int = 0,
               on_step: Callable[[int], None] | None = None) -> list[float]:
    """``steps`` mini-batch steps of cross-entropy on (x, y) (:func:`~helpers.torch_models.training.train_epoch`,
    as ``_train_epoch``, over :func:`_step_batches`); ``on_step(step)`` after each step (and for step 0).
    Returns the training loss of every step."""
    config.seed_everything(seed)
    gen = config.torch_generator(seed)
    torch.set_num_threads(_threads(None))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(optimizer, params, lr, 0.9, weight_decay)
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, steps), pct_start=0.3)
             if schedule == "onecycle" else None)
    losses: list[float] = []

    def after_step(loss: float) -> None:
        losses.append(float(loss))
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"adapt: the loss became {losses[-1]} at step {len(losses)}; "
                                     "lower the learning rate")
        if on_step is not None:
            on_step(len(losses))
        train_mode(model)  # (evaluating in on_step left the model in eval mode, or all in train mode)

    if on_step is not None:
        on_step(0)
    train_mode(model)
    torch.set_flush_denormal(True)
    try:
        if steps > 0:
            batches = _step_batches(x, y, int(steps), min(int(batch_size), len(x)), gen, augment)
            _train_epoch(model, batches, opt, scheduler=sched, on_step=after_step)
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
          valid_set: Any = None, curve_points: int = 6, features: dict | None = None,
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

    Early stopping: with ``valid_set`` (labelled images that are neither trained on nor reported), the
    model is scored on it at ``curve_points`` steps from 0 to ``steps`` and the weights of the best
    of those steps (the earliest on ties) are kept; ``eval_set`` is scored once, at the end. Without
    ``valid_set`` the curve is taken on ``eval_set`` and the last step is kept.

    Returns ``{'strategy', 'acc' (on eval_set), 'curve_steps', 'curve_acc' (accuracy on valid_set, or
    eval_set, at those steps), 'best_step', 'valid_acc' (at best_step; nan without valid_set), 'loss'
    (per step), 'never_predicted' (classes the final model predicts for no image of eval_set), 'seconds',
    'n_train', 'lr'}``. ``features``: optional ``{'train': ..., 'eval': ..., 'valid': ...}`` feature maps
    of the backbone for the probe (computed here when missing).
    """
    if strategy not in FT_STRATEGIES:
        raise ValueError(f"adapt: strategy must be one of {FT_STRATEGIES}, got {strategy!r}")
    lr = FT_SETTINGS["lr"][strategy] if lr is None else lr
    batch_size = FT_SETTINGS["batch_size"] if batch_size is None else batch_size
    stop_early = valid_set is not None
    curve_set = valid_set if stop_early else eval_set
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
        for key, d in (("train", train_set), ("eval", eval_set), ("valid", curve_set)):
            if key not in features:
                features[key] = backbone_features(model, d)
        trained: nn.Module = _Head(model.classifier)
        x = features["train"]
        ev, cv = (features["eval"], as_tensors(eval_set)[1]), (features["valid"], as_tensors(curve_set)[1])
    else:
        ev, cv, trained = eval_set, curve_set, model
    at = _curve_steps(steps, curve_points)
    curve: list[float] = []
    best: dict[str, Any] = {}

    def on_step(step: int) -> None:
        if step in at:
            curve.append(evaluate(trained, cv, batch_size=100)[1])
            if stop_early and curve[-1] > best.get("acc", -1.0):
                best.update(acc=curve[-1], step=step, state=copy.deepcopy(trained.state_dict()))

    s = FT_SETTINGS
    losses = _fit_steps(trained, x, y, steps=steps, lr=lr, batch_size=batch_size, optimizer=s["optimizer"],
                        schedule=s["schedule"], weight_decay=s["weight_decay"],
                        augment=random_affine() if s["augment"] else None, seed=seed, on_step=on_step)
    if stop_early:
        trained.load_state_dict(best["state"])
    _, acc, pred = evaluate(trained, ev, batch_size=100)
    return dict(strategy=strategy, acc=acc, curve_steps=at, curve_acc=curve,
                best_step=best.get("step", steps), valid_acc=best.get("acc", float("nan")), loss=losses,
                never_predicted=int(n_classes - len(np.unique(pred))), seconds=time.perf_counter() - t0,
                n_train=len(y), lr=lr)


def split_pool(pool: Any, per_class: int, seed: int = 7) -> tuple[Any, Any]:
    """``(labelled, validation)``: ``per_class`` images per class of ``pool`` set aside for choosing
    learning rates and stopping early, and the rest, where the training labels are drawn from."""
    rng = np.random.default_rng(config.seeded(seed))
    valid_idx = np.sort(np.concatenate([rng.permutation(np.flatnonzero(pool.labels == c))[:int(per_class)]
                                        for c in range(int(pool.labels.max()) + 1)]))
    rest = np.setdiff1d(np.arange(len(pool)), valid_idx)
    return pool.subset(rest), pool.subset(valid_idx)


FT_VERSION = 3  # bump when adapt/finetune_experiment change what they compute (part of the cache key)


def _read_results(path, progress: bool) -> dict | None:
    """The cached results at ``path``, or None (with a printed message when the file is unreadable)."""
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
        for key in ("table", "std"):
            result[key] = {s: {int(k): v for k, v in t.items()} for s, t in result[key].items()}
        result["lr"], result["runs"] = dict(result["lr"]), list(result["runs"])
    except Exception as exc:  # garbage, a half-written file, an older format: compute again
        print(f"finetune_experiment: could not read the cached results {path.name} ({type(exc).__name__}: "
              f"{str(exc)[:120]}); running the experiment again and overwriting it")
        return None
    if progress:
        print(f"finetune_experiment: loaded the results from {path} (delete it to run again)")
    return result


def _ft_run(task: tuple) -> dict:
    """One run of :func:`finetune_experiment` (in a worker of :func:`helpers.parallel.pmap`):
    ``(strategy, train_set, seed, lr, scored_on)``, scored on ``'valid'`` (the learning-rate sweep)
    or ``'eval'`` (the study); the backbone, its features and the sets come from the context."""
    strategy, train_set, seed, lr, scored_on = task
    ctx = parallel.context()
    backbone, feats, sets = ctx["backbone"], ctx["feats"], ctx["sets"]
    f = None
    if strategy == "probe":
        f = dict(feats, train=backbone_features(backbone, train_set))
        if scored_on == "valid":
            f["eval"] = feats["valid"]
    return adapt(strategy, backbone, train_set, sets[scored_on], steps=ctx["steps"], seed=seed, lr=lr,
                 valid_set=sets["valid"], features=f)


def finetune_experiment(labels_per_class: list[int] | None = None, seeds: int | None = None,
                        steps: int | None = None, source: str = "auto", strategies: tuple[str, ...] = FT_STRATEGIES,
                        progress: bool = True, force: bool = False) -> dict:
    """Linear probe, full fine-tune and from-scratch training on the MNIST target task, for each
    number of labels per class and each seed; cached.

    The MNIST pool (:func:`mnist_target_task`) is split (:func:`split_pool`) into validation digits
    (``budget('ft_valid_per_class')`` per class) and the labelled digits the training sets are drawn
    from. Each strategy's peak learning rate is chosen from :data:`FT_LR_GRID` by validation accuracy
    of a run with :data:`FT_SELECT_K` labels per class; every run stops early on the validation digits
    (:func:`adapt`). Only then are the runs scored on the first ``budget('ft_eval_per_class')`` held-out
    digits per class, which choose nothing.

    Defaults: budgets ``ft_labels_per_class`` (e.g. 1, 5, 10, 50), ``ft_seeds`` (labelled subsets
    and heads per setting), ``ft_steps``. The backbone is :func:`finetune_backbone` ``(source)``;
    ``strategies`` selects the runs (those from scratch do not depend on the backbone).
    Results are stored as JSON in ``data_dir()/torch/finetune-<mode>-<hash>.json`` (the hash covers
    the settings, the backbone's weights and the data) and reloaded instead of recomputed; an unreadable
    file is reported and recomputed.

    Returns ``{'runs': [adapt results + 'k', 'seed'], 'table': {strategy: {k: mean accuracy}},
    'std': {strategy: {k: std over seeds}}, 'lr': {strategy: chosen lr}, 'lr_sweep': {strategy:
    [[lr, validation accuracy], ...]}, 'zero_label' (:func:`zero_label_accuracy` of the backbone, or
    None), 'labels_per_class', 'seeds', 'steps', 'strategies', 'backbone' (description), 'n_eval',
    'n_valid', 'settings', 'seconds', 'path', 'cached'}`` (k keys are ints).
    """
    ks = [int(k) for k in (config.budget("ft_labels_per_class") if labels_per_class is None else labels_per_class)]
    n_seeds = int(config.budget("ft_seeds") if seeds is None else seeds)
    steps = int(config.budget("ft_steps") if steps is None else steps)
    strategies = tuple(strategies)
    if not strategies or any(st not in FT_STRATEGIES for st in strategies):
        raise ValueError(f"finetune_experiment: strategies must be among {FT_STRATEGIES}, got {strategies!r}")
    backbone, description = finetune_backbone(source, progress=progress)
    pool, held_out = mnist_target_task()
    labelled, valid_set = split_pool(pool, int(config.budget("ft_valid_per_class")))
    eval_set = labelled_subset(held_out, int(config.budget("ft_eval_per_class")), seed=1)
    weights = hashlib.sha1(b"".join(v.detach().cpu().numpy().tobytes()
                                    for v in backbone.state_dict().values())).hexdigest()[:12]
    settings = dict(FT_SETTINGS, lr_grid=FT_LR_GRID, select_k=FT_SELECT_K, version=FT_VERSION, ks=ks,
                    seeds=n_seeds, steps=steps, strategies=list(strategies), backbone=weights,
                    data=fingerprint(labelled, valid_set, eval_set), code=code_digest())
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    path = config.cache_dir() / "torch" / f"finetune-{config.mode()}-{key}.json"
    with config.cache_lock(path):  # another process making it: wait, then load it
        result = None if force else _read_results(path, progress)
        if result is not None:
            return dict(result, path=str(path), cached=True)
        t0 = time.perf_counter()
        feats = dict(eval=backbone_features(backbone, eval_set), valid=backbone_features(backbone, valid_set))
        ctx = dict(backbone=backbone, feats=feats, sets=dict(valid=valid_set, eval=eval_set), steps=steps)
        # every run is independent and seeds itself: they run on all cores, with the numbers of one after another

        # 1. the learning rates, chosen on the validation digits
        select_set = labelled_subset(labelled, FT_SELECT_K, seed=99)
        grid = [(st, lr) for st in strategies for lr in FT_LR_GRID[st]]
        accs = parallel.pmap(_ft_run, [(st, select_set, 0, lr, "valid") for st, lr in grid], ctx=ctx)
        lr_sweep = {st: [[lr, r["acc"]] for (s2, lr), r in zip(grid, accs) if s2 == st] for st in strategies}
        chosen = {st: max(sweep, key=lambda p: p[1])[0] for st, sweep in lr_sweep.items()}
        if progress:
            print("learning rates chosen on the validation digits: "
                  + ", ".join(f"{st} {lr:g}" for st, lr in chosen.items())
                  + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
        # 2. the study, scored on the held-out digits
        plan = [(seed, k, st) for seed in range(n_seeds) for k in ks for st in strategies]
        subsets = {(seed, k): labelled_subset(labelled, k, seed=100 + seed) for seed in range(n_seeds) for k in ks}
        done = parallel.pmap(_ft_run, [(st, subsets[seed, k], seed, chosen[st], "eval") for seed, k, st in plan],
                             ctx=ctx)
        runs = [dict(r, k=k, seed=seed) for (seed, k, st), r in zip(plan, done)]
        if progress:
            for seed in range(n_seeds):
                for k in ks:
                    print(f"{k:3d} labels/class, subset {seed}: "
                          + ", ".join(f"{r['strategy']} {100 * r['acc']:.1f}%" for r in runs
                                      if r["seed"] == seed and r["k"] == k), flush=True)
            print(f"{len(grid) + len(plan)} runs in {time.perf_counter() - t0:.0f} s "
                  f"({parallel.workers()} worker processes)", flush=True)
        table = {st: {k: float(np.mean([r["acc"] for r in runs if r["strategy"] == st and r["k"] == k])) for k in ks}
                 for st in strategies}
        std = {st: {k: float(np.std([r["acc"] for r in runs if r["strategy"] == st and r["k"] == k])) for k in ks}
               for st in strategies}
        result = dict(runs=runs, table=table, std=std, lr=chosen, lr_sweep=lr_sweep,
                      zero_label=zero_label_accuracy(backbone, eval_set), labels_per_class=ks, seeds=n_seeds,
                      steps=steps, strategies=list(strategies), backbone=description, settings=settings,
                      n_eval=len(eval_set), n_valid=len(valid_set), seconds=time.perf_counter() - t0)
        with config.atomic_path(path) as tmp:
            tmp.write_text(json.dumps(result))
        return dict(result, path=str(path), cached=False)
