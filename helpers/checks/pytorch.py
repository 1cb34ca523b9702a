"""Checks for chapter 6: the PyTorch training loop, head replacement.

Signatures follow :mod:`helpers.torch_models`:

- ``train_epoch(model, batches, optimizer)`` -> (loss per example, accuracy): one pass over the
  ``(x, y)`` batches, one optimizer step per batch, the model in training mode;
- ``replace_head(model, n_classes)`` -> model: SqueezeNet's classifier convolution ``classifier[1]``
  replaced by a new, trainable one with ``n_classes`` outputs, every other weight kept.

Both run offline on tiny seeded models in well under a second.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._core import CheckFailed, call, expect_close, expect_shape, fmt_pair, passed, refuse_reference  # noqa: F401

__all__ = ["check_torch_train_epoch", "check_replace_head"]


# --- the training loop -------------------------------------------------------------------------
_BATCH_SIZES = (6, 6, 6, 3)    # 21 examples; the last batch is smaller, as in random_batches
_LR = 0.5


def _tiny_problem():
    """A seeded float64 network with batch norm (so training and eval mode differ) and 4 batches."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).double()
    gen = torch.Generator().manual_seed(1)
    batches = []
    for b in _BATCH_SIZES:
        y = torch.randint(0, 3, (b,), generator=gen)
        x = torch.rand(b, 1, 4, 4, generator=gen, dtype=torch.float64) + 0.5 * y.view(-1, 1, 1, 1)
        batches.append((x, y))
    return model, batches


def _flat(model) -> np.ndarray:
    import torch

    with torch.no_grad():
        return np.concatenate([p.detach().cpu().double().numpy().ravel() for p in model.parameters()])


def _simulate(variant: str) -> tuple[list[np.ndarray], float, float, float, float, float]:
    """The weights before each batch and after the last, for the right loop ('ok') and the wrong ones
    ('no_zero_grad', 'eval', 'softmax': a softmax before the cross-entropy);
    plus (loss per example, accuracy, unweighted mean of the batch losses, last batch's loss,
    summed loss)."""
    import torch
    import torch.nn.functional as F

    model, batches = _tiny_problem()
    opt = torch.optim.SGD(model.parameters(), lr=_LR)
    model.train(variant != "eval")
    states, losses, total, correct = [], [], 0.0, 0
    for x, y in batches:
        states.append(_flat(model))
        logits = model(x)
        loss = F.cross_entropy(F.softmax(logits, dim=1) if variant == "softmax" else logits, y)
        if variant != "no_zero_grad":
            opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        total += loss.item() * len(y)
        correct += int((logits.argmax(1) == y).sum())
    states.append(_flat(model))
    n = sum(_BATCH_SIZES)
    return states, total / n, correct / n, float(np.mean(losses)), losses[-1], total


class _Recorder:
    """The batches, handed out one at a time; records the weights each time the next batch is asked for."""

    def __init__(self, model, batches):
        self.model, self.batches, self.states = model, batches, []

    def __iter__(self):
        for b in self.batches:
            self.states.append(_flat(self.model))
            yield b


def _close(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.allclose(u, v, rtol=1e-9, atol=1e-12) for u, v in zip(a, b))


def check_torch_train_epoch(train_epoch: Callable) -> None:
    """One epoch over 4 batches (the last smaller) of a tiny float64 network with batch norm, plain SGD:
    the weights must follow the right loop step by step, and the returned numbers must be the loss per
    example and the accuracy of the batches as they were trained, as Python numbers."""
    import torch

    name = "train_epoch"
    from .. import torch_models

    refuse_reference(train_epoch, torch_models.train_epoch, name, "tm", "check_torch_train_epoch")
    model, batches = _tiny_problem()
    model.eval()                           # as evaluate() leaves a model
    opt = torch.optim.SGD(model.parameters(), lr=_LR)
    rec = _Recorder(model, batches)
    try:
        got = call(train_epoch, model, rec, opt, name=name)
    except CheckFailed as e:
        if "modified by an inplace operation" in str(e):
            raise CheckFailed(f"{e}\nThe weights changed between the forward pass and loss.backward(): "
                              "optimizer.step() ran before loss.backward(), with the previous batch's gradient. "
                              "The order for every batch is zero_grad, backward, step.") from e.__cause__
        raise
    states = rec.states + [_flat(model)]
    ok, loss_ok, acc_ok, mean_of_means, last, summed = _simulate("ok")
    n_b = len(_BATCH_SIZES)
    where = (f"{name} on a small network with batch norm, {n_b} batches of {', '.join(map(str, _BATCH_SIZES))} "
             f"examples, torch.optim.SGD(lr={_LR})")
    if len(rec.states) < n_b:
        raise CheckFailed(f"{where}: only {len(rec.states)} of the {n_b} batches were used. Loop over all of "
                          "`batches` (`for x, y in batches:`) and return after the loop, not inside it.")
    if all(np.array_equal(s, states[0]) for s in states):
        raise CheckFailed(f"{where}: the weights never changed. optimizer.step() updates the weights from p.grad, "
                          "so it must come after loss.backward() (and optimizer.zero_grad() before backward, not "
                          "between backward and step): zero_grad, backward, step.")
    if not _close(states, ok):
        first = next(i for i, (u, v) in enumerate(zip(states, ok)) if not np.allclose(u, v, rtol=1e-9, atol=1e-12))
        for variant, text in (
                ("no_zero_grad", "the gradients accumulate: loss.backward() *adds* to p.grad, so without "
                                 "optimizer.zero_grad() before it, step 2 uses the gradients of batches 1 and 2 "
                                 "together, step 3 of batches 1-3, and so on. Call optimizer.zero_grad() for every "
                                 "batch, before loss.backward()."),
                ("eval", "the model trained in eval mode (it arrived in eval mode, as evaluate() leaves it): "
                         "batch norm then normalises with its running statistics and dropout stays off. Call "
                         "model.train() at the start of the epoch."),
                ("softmax", "the loss was computed from probabilities: F.cross_entropy takes the raw logits and "
                            "applies log-softmax itself, so a softmax before it is applied twice and squashes the "
                            "gradients. Pass model(x) straight to F.cross_entropy.")):
            if _close(states, _simulate(variant)[0]):
                raise CheckFailed(f"{where}: the weights match the right loop up to step {first} but not after: "
                                  + text)
        diff = float(np.max(np.abs(states[first] - ok[first])))
        raise CheckFailed(f"{where}: after {first} step{'s' if first != 1 else ''} the weights differ from the "
                          f"reference loop by up to {diff:.3g}. For every batch: logits = model(x), loss = "
                          "F.cross_entropy(logits, y), optimizer.zero_grad(), loss.backward(), optimizer.step().")
    try:
        loss, acc = got
    except (TypeError, ValueError):
        raise CheckFailed(f"{where}: {name} should return two numbers, (loss per example, accuracy), got "
                          f"{got!r:.80}") from None
    for what, v in (("loss", loss), ("accuracy", acc)):
        if v is None:
            raise CheckFailed(f"{where}: the {what} returned is None; return (total / n, correct / n).")
        if torch.is_tensor(v) and (v.requires_grad or v.grad_fn is not None):
            raise CheckFailed(f"{where}: the {what} returned is a tensor that still holds the computation graph "
                              f"({v.grad_fn.__class__.__name__ if v.grad_fn is not None else 'requires_grad'}): "
                              "adding up `loss` itself keeps every batch's graph alive in memory. Add loss.item() "
                              "(a Python float) instead.")
    try:
        loss, acc = float(loss), float(acc)
    except (TypeError, ValueError):
        raise CheckFailed(f"{where}: {name} should return two numbers, got {got!r:.80}") from None
    if not np.isclose(loss, loss_ok, rtol=1e-6):
        for other, text in ((mean_of_means, "the mean of the batch means; weight each batch by its size "
                                            "(total += loss.item() * len(y)), the last batch is smaller"),
                            (last, "the loss of the last batch only; add up the loss of every batch"),
                            (summed, "the summed loss; divide by the number of examples")):
            if np.isclose(loss, other, rtol=1e-6):
                raise CheckFailed(f"{where}: returned loss {loss:.6f}, which is {text}. Expected the loss per "
                                  f"example over the epoch, {loss_ok:.6f}.")
        want_s, got_s = fmt_pair(loss_ok, loss)
        raise CheckFailed(f"{where}: returned loss {got_s}; expected the loss per example over the epoch, "
                          f"{want_s} (each batch's loss before its step, weighted by its size).")
    if not np.isclose(acc, acc_ok, rtol=0, atol=1e-6):
        raise CheckFailed(f"{where}: returned accuracy {acc:.4f}; expected {acc_ok:.4f}, the fraction of the "
                          f"{sum(_BATCH_SIZES)} examples whose largest logit (before the step) is the true class.")
    passed(name, f"{n_b} SGD steps in training mode follow the reference weights step by step; returned loss "
                 f"{loss:.4f} per example and accuracy {acc:.3f} as numbers")


# --- head replacement ----------------------------------------------------------------------------
_HEAD_CASES = ((10, 0), (7, 3))      # (n_classes, seed): the chapter's 10 digits, and another count


def check_replace_head(replace_head: Callable) -> None:
    """On seeded SqueezeNet 1.1 models for 36 classes: ``replace_head(model, n)`` (n = 10, and another n)
    returns the model with a new, trainable 1x1 convolution ``classifier[1]`` from 512 channels to n,
    drawn like torchvision's (weights N(0, 0.01), biases 0), and every other weight and flag as it was."""
    from .. import torch_models

    refuse_reference(replace_head, torch_models.replace_head, "replace_head", "tm")
    for n_classes, seed in _HEAD_CASES:
        shape, n_backbone = _judge_head(replace_head, n_classes, seed)
    passed("replace_head", f"scores (2, n) from a new trainable (n, {shape[1]}, 1, 1) convolution drawn like "
                           "torchvision's, for "
                           f"n = {' and '.join(str(n) for n, _ in _HEAD_CASES)}; the other {n_backbone} weight arrays "
                           "of the backbone and their requires_grad unchanged")


def _judge_head(replace_head: Callable, n_classes: int, seed: int) -> tuple[tuple, int]:
    import torch

    from ..torch_models import squeezenet

    name = "replace_head"
    torch.manual_seed(seed)
    model = squeezenet(36, verbose=False)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    flags = {k: p.requires_grad for k, p in model.named_parameters()}
    old_head = model.classifier[1]
    out = call(replace_head, model, n_classes, name=name)
    where = f"{name}(model, {n_classes}) on SqueezeNet 1.1 for 36 classes"
    if out is None:
        raise CheckFailed(f"{where} returned None; return the model (changed in place) at the end, as the book's "
                          "callers write model = replace_head(model, n_classes).")
    new = out
    if not isinstance(new, torch.nn.Module):
        raise CheckFailed(f"{where}: returned {type(out).__name__}; return the model (the same one, changed in "
                          "place), as the book's version does.")
    if new is not model and not hasattr(new, "features"):
        raise CheckFailed(f"{where}: returned a {type(new).__name__}, not the model. Put the new layer into the "
                          "model (model.classifier[1] = ...) and return the model.")
    classifier = getattr(new, "classifier", None)
    head = classifier[1] if isinstance(classifier, torch.nn.Sequential) and len(classifier) > 1 else None
    x = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    device = next(new.parameters()).device
    new.eval()
    try:
        with torch.no_grad():
            scores = new(x.to(device))
    except Exception as e:  # the reader's model: its failure is the finding
        if isinstance(head, torch.nn.Linear):
            raise CheckFailed(f"{where}: running the model on two images raised {type(e).__name__}: {e}. "
                              "classifier[1] is an nn.Linear, but at that point the features are still an image, "
                              "(N, 512, h, w), pooled only after it: the head is a 1x1 convolution, "
                              "nn.Conv2d(512, n_classes, kernel_size=1).") from e
        raise CheckFailed(f"{where}: running the model on two images raised {type(e).__name__}: {e}. The new "
                          "layer must take the features' 512 channels: nn.Conv2d(512, n_classes, kernel_size=1)."
                          ) from e
    if head is old_head:
        raise CheckFailed(f"{where}: classifier[1] is still the old layer; assign a new nn.Conv2d to "
                          "model.classifier[1].")
    if tuple(scores.shape) != (2, n_classes):
        cause = (f" The scores have {scores.shape[-1]} columns whatever n_classes is: use the argument n_classes, "
                 "not a number written in." if n_classes != 10 and tuple(scores.shape) == (2, 10) else
                 " The new classifier convolution must have n_classes output channels "
                 "(nn.Conv2d(512, n_classes, kernel_size=1)) and 512 input channels, the features'.")
        raise CheckFailed(f"{where}: two images give scores of shape {tuple(scores.shape)}, expected "
                          f"(2, {n_classes}).{cause}")
    state = new.state_dict()
    changed = [k for k, v in before.items() if not k.startswith("classifier.1.")
               and (k not in state or state[k].shape != v.shape or not torch.equal(state[k].detach().cpu(), v))]
    if changed:
        raise CheckFailed(f"{where}: {len(changed)} weight array{'s' if len(changed) > 1 else ''} outside the "
                          f"classifier changed (first: {changed[0]}): the pretrained backbone was re-initialised or "
                          "rebuilt, so everything it learned is lost. Replace only model.classifier[1] in the "
                          "model you were given; do not build a new network.")
    now = dict(new.named_parameters())
    frozen = [k for k, f in flags.items() if not k.startswith("classifier.1.") and k in now
              and now[k].requires_grad != f]
    if frozen:
        raise CheckFailed(f"{where}: the requires_grad of {len(frozen)} backbone weight arrays changed (first: "
                          f"{frozen[0]}, now {now[frozen[0]].requires_grad}). replace_head only swaps the head; "
                          "whether the backbone trains is the training's decision (tm.set_trainable), made "
                          "separately, so leave every other parameter as it was.")
    if not isinstance(head, torch.nn.Conv2d):
        got = type(head).__name__ if head is not None else "missing"
        layout = ", ".join(type(m).__name__ for m in classifier) if isinstance(classifier, torch.nn.Sequential) else \
            type(classifier).__name__
        raise CheckFailed(f"{where}: classifier[1] is {got}, not the new convolution: the classifier was rebuilt as "
                          f"({layout}). SqueezeNet's is Sequential(Dropout, Conv2d, ReLU, AdaptiveAvgPool2d): keep it "
                          "and replace only index 1, model.classifier[1] = nn.Conv2d(512, n_classes, kernel_size=1).")
    W = head.weight.detach().cpu().double()
    if tuple(W.shape) != (n_classes, 512, 1, 1):
        raise CheckFailed(f"{where}: the new convolution's weight has shape {tuple(W.shape)}; expected "
                          f"({n_classes}, 512, 1, 1), a 1x1 convolution (kernel_size=1): one weight per channel and "
                          "class, as the layer it replaces.")
    if head.bias is None:
        raise CheckFailed(f"{where}: the new convolution has no bias; torchvision's has one (bias=True, the default), "
                          "drawn as zeros.")
    std, mean = float(W.std()), float(W.mean())
    b = head.bias.detach().cpu().double()
    if not (0.008 < std < 0.012 and abs(mean) < 0.002) or torch.any(b != 0):
        default = 1 / np.sqrt(512)
        which = (f" That is PyTorch's default initialisation (uniform within +-1/sqrt(512) = {default:.3f})."
                 if abs(float(W.abs().max()) - default) < 0.1 * default else "")
        raise CheckFailed(f"{where}: the new head should be drawn like torchvision's: weights from N(0, 0.01) and "
                          f"biases 0; its weights have mean {mean:.4f} and standard deviation {std:.4f}, its largest "
                          f"|bias| is {float(b.abs().max()):.3g}.{which} After creating the layer: "
                          "torch.nn.init.normal_(conv.weight, mean=0.0, std=0.01) and torch.nn.init.zeros_(conv.bias).")
    params = list(head.parameters())
    registered = {id(p) for p in new.parameters()}
    if any(id(p) not in registered for p in params):
        raise CheckFailed(f"{where}: the new head's weights are not among model.parameters(), so no optimizer "
                          "would train them; put the new layer into the model (model.classifier[1] = ...).")
    if not all(p.requires_grad for p in params):
        raise CheckFailed(f"{where}: the new head is frozen (requires_grad=False): it would keep its random "
                          "weights forever. A new layer must be trainable.")
    new.train()
    new.zero_grad()
    target = torch.tensor([1, n_classes - 1], device=params[0].device)
    torch.nn.functional.cross_entropy(new(x.to(params[0].device)), target).backward()
    if any(p.grad is None or not torch.any(p.grad != 0) for p in params):
        raise CheckFailed(f"{where}: no gradient reaches the new head's weights; the scores must come from it.")
    return tuple(W.shape), len(before) - 2
