"""Checks for chapter 6: a CNN as an ``nn.Module``, the training step, the training loop, head replacement.

Signatures follow :mod:`helpers.torch_models`:

- ``SmallCNN(n_classes=36)``: an ``nn.Module`` whose ``forward`` maps images (N, 1, 32, 32) to logits
  (N, n_classes): the book's three conv blocks and classifier, the same parameters in the same order;
- ``train_step(model, x, y, optimizer)`` -> (the batch's mean loss as a Python float, the logits before the
  step): forward, loss, zero_grad, backward, step, the model left in training mode;
- ``train_epoch(model, batches, optimizer)`` -> (loss per example, accuracy): one pass over the
  ``(x, y)`` batches, one optimizer step per batch, the model in training mode;
- ``replace_head(model, n_classes)`` -> model: SqueezeNet's classifier convolution ``classifier[1]``
  replaced by a new, trainable one with ``n_classes`` outputs, every other weight kept.

All run offline on small seeded models in about a second or less.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._core import CheckFailed, call, expect_close, expect_shape, fmt_pair, passed, refuse_reference  # noqa: F401

__all__ = ["check_small_cnn", "check_torch_train_step", "check_torch_train_epoch", "check_replace_head"]


# --- SmallCNN: an nn.Module -------------------------------------------------------------------------
_CNN_CASES = (36, 10)            # the characters, and the digits: a number written in shows


def _cnn_layout(n_classes: int) -> list[tuple[str, tuple[int, ...]]]:
    """(layer, parameter shape) of the book's SmallCNN, in the order model.parameters() yields them."""
    rows = []
    for i, (c_in, c) in enumerate(((1, 16), (16, 32), (32, 64)), 1):
        rows += [(f"conv {i} weight", (c, c_in, 3, 3)), (f"batch norm {i} scale", (c,)),
                 (f"batch norm {i} shift", (c,))]
    return rows + [("hidden Linear weight", (64, 1024)), ("hidden Linear bias", (64,)),
                   ("output Linear weight", (n_classes, 64)), ("output Linear bias", (n_classes,))]


def _fixed_weights(model, seed: int):
    """Give ``model`` (the book's SmallCNN layout) seeded random weights and batch-norm statistics, so that a
    missing inversion, a pooling of another kind or a layer in another order changes the output."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * (0.5 if p.ndim == 1 else 0.3))
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    return model


def _copy_weights(src, dst) -> None:
    """Parameters in order, then the batch-norm running statistics in order, from ``src`` into ``dst``."""
    import torch

    with torch.no_grad():
        for p, q in zip(src.parameters(), dst.parameters()):
            q.copy_(p)
        bn = lambda m: [x for x in m.modules() if isinstance(x, torch.nn.modules.batchnorm._BatchNorm)]
        for a, b in zip(bn(src), bn(dst)):
            b.running_mean.copy_(a.running_mean)
            b.running_var.copy_(a.running_var)


def _reference_variants(ref, x):
    """What the book's network computes on ``x`` in eval mode, and what it would compute with the usual slips
    (same weights), to name the slip when a reader's output differs."""
    import torch
    import torch.nn.functional as F

    convs = [m for m in ref.features if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in ref.features if isinstance(m, torch.nn.BatchNorm2d)]
    hidden, out = ref.classifier[2], ref.classifier[4]

    def run(pre="book", pool=F.max_pool2d, order="bn relu", hidden_relu=True, softmax=False):
        h = {"book": (1 - x) / 0.3, "raw": x, "no_invert": x / 0.3, "no_scale": 1 - x}[pre]
        for conv, bn in zip(convs, bns):
            h = conv(h)
            h = bn(F.relu(h)) if order == "relu bn" else F.relu(bn(h))
            h = pool(h, 2)
        h = hidden(h.flatten(1))
        h = out(F.relu(h) if hidden_relu else h)
        return F.softmax(h, dim=1) if softmax else h

    ref.eval()
    with torch.no_grad():
        return {"ok": run(), "raw": run(pre="raw"), "no_invert": run(pre="no_invert"), "no_scale": run(pre="no_scale"),
                "avgpool": run(pool=F.avg_pool2d), "relu_bn": run(order="relu bn"),
                "no_hidden_relu": run(hidden_relu=False), "softmax": run(softmax=True)}


_CNN_SLIPS = {
    "raw": "the images went in as they are. The book's network first inverts and scales them, "
           "(1 - x) / 0.3 (self.preprocess = Normalize([0.0], [0.3], invert=True)), so that the background is 0 "
           "like the convolutions' zero padding.",
    "no_invert": "the images were scaled but not inverted: Normalize([0.0], [0.3], invert=True) computes "
                 "(1 - x) / 0.3.",
    "no_scale": "the images were inverted but not divided by 0.3: Normalize([0.0], [0.3], invert=True) computes "
                "(1 - x) / 0.3.",
    "avgpool": "the blocks average-pool: the book's blocks end with torch.nn.MaxPool2d(2).",
    "relu_bn": "each block applies the ReLU before the batch norm: the order is conv, BatchNorm2d, ReLU, MaxPool2d.",
    "no_hidden_relu": "the hidden Linear(1024, 64) has no ReLU after it: without it the two Linear layers are one "
                      "linear map. The classifier is Flatten, Dropout(0.25), Linear(1024, 64), ReLU, "
                      "Linear(64, n_classes).",
    "softmax": "forward returns probabilities (a softmax at its end). A PyTorch classifier returns the logits: "
               "F.cross_entropy applies log-softmax itself, and a softmax before it is applied twice.",
}


def check_small_cnn(SmallCNN: Callable) -> None:
    """``SmallCNN(n_classes)`` for 36 and 10 classes: an ``nn.Module`` whose logits have shape (N, n_classes),
    with the book's parameters (91,348 for 36 classes) in the book's order, which, given the book's
    (seeded) weights, computes the book's logits on a fixed batch in eval mode and, with the same dropout
    seed, in training mode."""
    import torch

    from .. import torch_models

    name = "SmallCNN"
    if SmallCNN is torch_models.SmallCNN:
        raise CheckFailed("SmallCNN: this is the book's own tm.SmallCNN, so the check would grade the book, not you. "
                          "Write your own class in the cell above (`class SmallCNN(torch.nn.Module):`), run that "
                          "cell, and pass it: checks.check_small_cnn(SmallCNN).")
    x = torch.rand(6, 1, 32, 32, generator=torch.Generator().manual_seed(3))
    x[:, :, 4:28, 14:18] *= 0.2                      # a dark stroke on a light page, like a character
    counts = []
    for n_classes in _CNN_CASES:
        torch.manual_seed(0)
        try:
            model = call(SmallCNN, n_classes, name=name)
        except CheckFailed as e:
            if "before Module.__init__" in str(e):
                raise CheckFailed(f"{e}\nThe first line of __init__ is super().__init__(): torch.nn.Module sets up "
                                  "the registry of layers and parameters there, before any layer is assigned."
                                  ) from e.__cause__
            raise
        where = f"{name}({n_classes})"
        if not isinstance(model, torch.nn.Module):
            raise CheckFailed(f"{where} made a {type(model).__name__}, not a torch.nn.Module: write "
                              "`class SmallCNN(torch.nn.Module):` with `super().__init__()` first in __init__.")
        params = list(model.parameters())
        if not params:
            raise CheckFailed(f"{where} has no parameters: the layers must be attributes of the module "
                              "(self.features = torch.nn.Sequential(...)), created in __init__, not in forward; a "
                              "plain Python list of layers is not registered (use torch.nn.Sequential).")
        model.eval()
        try:
            with torch.no_grad():
                out = model(x.clone())
        except Exception as e:  # the reader's network: its failure is the finding
            raise CheckFailed(f"{where}: the forward pass on images (6, 1, 32, 32) raised {type(e).__name__}: "
                              f"{e}. Shapes to expect: (6, 16, 16, 16) after block 1, (6, 32, 8, 8) after block 2, "
                              "(6, 64, 4, 4) after block 3 (padding=1 keeps each convolution's size, MaxPool2d(2) "
                              "halves it), 1024 numbers per image after Flatten.") from e
        if not torch.is_tensor(out):
            raise CheckFailed(f"{where}: forward returned a {type(out).__name__}; return the logits tensor.")
        if tuple(out.shape) != (6, n_classes):
            cause = (" The number of classes is written in: use the argument n_classes for the last layer."
                     if n_classes != 36 and tuple(out.shape) == (6, 36) else
                     " The last layer is torch.nn.Linear(64, n_classes).")
            raise CheckFailed(f"{where}: 6 images give logits of shape {tuple(out.shape)}, expected (6, {n_classes})."
                              + cause)
        layout = _cnn_layout(n_classes)
        got = [tuple(p.shape) for p in params]
        want = [s for _, s in layout]
        n_got, n_want = sum(p.numel() for p in params), sum(int(np.prod(s)) for s in want)
        if got != want:
            if sorted(got) == sorted(want):
                raise CheckFailed(f"{where} has the book's {n_want:,} parameters, but model.parameters() lists them "
                                  "in another order: create the layers in __init__ in the order forward applies "
                                  "them (preprocess, the three blocks, then the classifier).")
            lines = [f"  {label:22s} {str(shape):17s}" for label, shape in layout]
            extra = ""
            if any(len(sh) == 4 and got[i + 1:i + 4] == [(sh[0],)] * 3 for i, sh in enumerate(got)):
                extra = " (a convolution is followed by three arrays of its channel count: do the convolutions " \
                        "have a bias? They need none, batch norm's shift takes its place: bias=False.)"
            elif len(got) == len(want) - 6:
                extra = " (6 arrays fewer: is batch norm missing? Each block is conv, BatchNorm2d, ReLU, MaxPool2d.)"
            elif (64, 256) in got:
                extra = (" (the hidden layer takes 256 inputs: the feature maps end 2x2, not 4x4. padding=1 keeps "
                         "each convolution's output the size of its input.)")
            raise CheckFailed(f"{where} has {n_got:,} parameters in {len(got)} arrays; the book's network has "
                              f"{n_want:,} in {len(want)}{extra}. Yours, in order: "
                              f"{', '.join(str(s) for s in got[:14])}{' ...' if len(got) > 14 else ''}. Expected:\n"
                              + "\n".join(lines))
        counts.append(f"{n_want:,} for {n_classes} classes")
        ref = _fixed_weights(torch_models.SmallCNN(n_classes), seed=n_classes)
        _copy_weights(ref, model)
        variants = _reference_variants(ref, x)
        model.eval()
        with torch.no_grad():
            out = model(x.clone()).double()
        ok = variants["ok"].double()
        if not torch.allclose(out, ok, rtol=1e-4, atol=1e-4 * float(ok.abs().max())):
            for slip, text in _CNN_SLIPS.items():
                if torch.allclose(out, variants[slip].double(), rtol=1e-4, atol=1e-4 * float(ok.abs().max())):
                    raise CheckFailed(f"{where}, given the book's weights, computes other logits in eval mode: "
                                      + text)
            expect_close(name, out.numpy(), ok.numpy(), what=f"the logits of {where} in eval mode, given the book's "
                         "weights", rtol=1e-4, hint="Compare your forward with the docstring: preprocess, three "
                         "blocks of conv, batch norm, ReLU, max-pool, then Flatten, Dropout, Linear, ReLU, Linear.")
        # training mode: dropout where the book has it (same seed, same mask), batch norm on batch statistics
        model.train(), ref.train()
        torch.manual_seed(11)
        with torch.no_grad():
            out_t = model(x.clone()).double()
        torch.manual_seed(11)
        with torch.no_grad():
            ok_t = ref(x.clone()).double()
        if not torch.allclose(out_t, ok_t, rtol=1e-4, atol=1e-4 * float(ok_t.abs().max())):
            drops = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
            hint = ("there is no Dropout: the classifier starts with Flatten, Dropout(0.25)" if not drops else
                    f"its dropout probability is {drops[0]}, the book's 0.25" if drops[0] != 0.25 else
                    "the Dropout(0.25) sits elsewhere: it comes right after Flatten, before Linear(1024, 64)")
            raise CheckFailed(f"{where} agrees with the book in eval mode but not in training mode, with the same "
                              f"random seed: {hint}.")
    passed(name, f"logits (N, n) for n = {' and '.join(map(str, _CNN_CASES))}; parameters in the book's order ("
                 f"{' and '.join(counts)}); with the book's weights, the book's logits in eval and in training mode")


# --- the training step --------------------------------------------------------------------------
def _step_problem():
    """The tiny batch-norm network of the loop's check, in training mode, and two batches of 8."""
    import torch

    model, batches = _tiny_problem()
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    model.train()
    return model, [(x[:8], y[:8]), (x[8:16], y[8:16])]


def _reference_steps(variant: str = "ok"):
    """The weights after each of two steps, and each step's loss and logits (before the step), for the right
    step and for the usual slips."""
    import torch
    import torch.nn.functional as F

    model, batches = _step_problem()
    opt = torch.optim.SGD(model.parameters(), lr=_LR)
    states, losses, logits_all = [], [], []
    for x, y in batches:
        if variant == "eval":
            model.eval()
        logits = model(x)
        z = F.softmax(logits, dim=1) if variant == "softmax" else logits
        if variant == "nll":
            loss = F.nll_loss(logits, y)
        else:
            loss = F.cross_entropy(z, y, reduction="sum" if variant == "sum" else "mean")
        if variant == "ascent":
            loss = -loss
        if variant != "no_zero_grad":
            opt.zero_grad()
        if variant == "step_first":
            opt.step()
        loss.backward()
        if variant != "step_first":
            opt.step()
        states.append(_flat(model))
        losses.append(loss.item())
        logits_all.append(logits.detach())
    return states, losses, logits_all


_STEP_SLIPS = {
    "no_zero_grad": "the gradients were not cleared: loss.backward() *adds* to p.grad, so the second step used the "
                    "gradients of both batches. Call optimizer.zero_grad() before loss.backward().",
    "step_first": "optimizer.step() ran before loss.backward(), with the gradient p.grad held from the batch "
                  "before: each step uses the wrong batch's gradient. The order is zero_grad, backward, step.",
    "eval": "the step ran in eval mode (batch norm on its running statistics, no dropout). The caller puts the "
            "model in training mode; the step must not switch it to eval.",
    "softmax": "the loss was computed from probabilities: F.cross_entropy takes the raw logits and applies "
               "log-softmax itself. Pass model(x) straight to F.cross_entropy.",
    "sum": "the loss was summed over the batch: F.cross_entropy's default, reduction='mean', is what the "
           "book's optimizers and learning rates expect.",
    "nll": "F.nll_loss was applied to the raw logits: it expects log-probabilities (F.log_softmax first). "
           "F.cross_entropy(logits, y) does both in one stable step.",
    "ascent": "the step went uphill: the gradient of the negated loss was followed, so the loss grows. The "
              "optimizer minimises what backward() is called on: F.cross_entropy(logits, y) itself.",
}


def _same(a, b) -> bool:
    return np.allclose(a, b, rtol=1e-9, atol=1e-12)


def check_torch_train_step(train_step: Callable) -> None:
    """On a small network with batch norm in training mode and two batches of 8, two calls
    ``train_step(model, x, y, torch.optim.SGD(..., lr=0.5))`` take exactly the steps of forward, mean
    cross-entropy, zero_grad, backward, step; each returns (the loss before its step as a Python float, the
    logits before its step); the model stays in training mode; repeated on one batch, the steps lower its loss."""
    import torch

    from .. import torch_models

    name = "train_step"
    refuse_reference(train_step, torch_models.train_step, name, "tm", "check_torch_train_step")
    model, batches = _step_problem()
    opt = torch.optim.SGD(model.parameters(), lr=_LR)
    start = _flat(model)
    where = (f"{name}(model, x, y, optimizer) on a small network with batch norm (training mode), two batches of 8 "
             f"in turn, torch.optim.SGD(lr={_LR})")
    want, losses_ok, logits_ok = _reference_steps()
    got, states = [], []
    for i, (x, y) in enumerate(batches):
        got.append(call(train_step, model, x.clone(), y.clone(), opt, name=name))
        states.append(_flat(model))
        if i == 0 and not model.training:
            raise CheckFailed(f"{where}: the model is in eval mode after the step. The loop calls train_step batch "
                              "after batch; a model.eval() inside it turns dropout and batch norm's training "
                              "behaviour off for the rest of the epoch. Leave the mode as the caller set it.")
    if all(_same(s, start) for s in states):
        raise CheckFailed(f"{where}: the weights never changed. optimizer.step() updates them from p.grad, so it comes "
                          "after loss.backward(), and optimizer.zero_grad() before backward, not between backward "
                          "and step: zero_grad, backward, step.")
    if not all(_same(s, w) for s, w in zip(states, want)):
        first = next(i for i, (s, w) in enumerate(zip(states, want)) if not _same(s, w))
        for slip, text in _STEP_SLIPS.items():
            if all(_same(s, w) for s, w in zip(states, _reference_steps(slip)[0])):
                raise CheckFailed(f"{where}: the weights after step {first + 1} are not the right ones: " + text)
        diff = float(np.max(np.abs(states[first] - want[first])))
        raise CheckFailed(f"{where}: after step {first + 1} the weights differ from the reference step by up to "
                          f"{diff:.3g}. One step is: logits = model(x), loss = F.cross_entropy(logits, y), "
                          "optimizer.zero_grad(), loss.backward(), optimizer.step().")
    for k, (out, loss_ok, lg_ok) in enumerate(zip(got, losses_ok, logits_ok), 1):
        try:
            loss, logits = out
        except (TypeError, ValueError):
            raise CheckFailed(f"{where}: {name} should return two things, (loss.item(), logits); got "
                              f"{type(out).__name__} {out!r:.60}") from None
        if torch.is_tensor(loss):
            graph = loss.requires_grad or loss.grad_fn is not None
            raise CheckFailed(f"{where}: the loss returned is a tensor"
                              f"{' that still holds the computation graph' if graph else ''}: the loop adds up the "
                              "losses of a whole epoch, and tensors keep every batch's graph alive in memory. Return "
                              "loss.item(), a Python float.")
        if not isinstance(loss, (float, int, np.floating)) or isinstance(loss, bool):
            raise CheckFailed(f"{where}: the loss returned is a {type(loss).__name__}; return loss.item(), a Python "
                              "float.")
        if not np.isclose(float(loss), loss_ok, rtol=1e-6):
            want_s, got_s = fmt_pair(loss_ok, float(loss))
            raise CheckFailed(f"{where}: step {k} returned the loss {got_s}; expected {want_s}, the batch's mean "
                              "cross-entropy from the forward pass, before the step (not recomputed after it).")
        if not torch.is_tensor(logits) or tuple(logits.shape) != tuple(lg_ok.shape):
            shape = tuple(logits.shape) if torch.is_tensor(logits) else type(logits).__name__
            raise CheckFailed(f"{where}: the second value returned should be the logits {tuple(lg_ok.shape)}, "
                              f"model(x) from the forward pass; got {shape}.")
        if not torch.allclose(logits.detach().double(), lg_ok.double(), rtol=1e-7, atol=1e-9):
            raise CheckFailed(f"{where}: the logits step {k} returned are not those of its forward pass before the "
                              "step (recomputed after optimizer.step()?). Return the logits the loss was computed "
                              "from: the loop counts each batch's accuracy with them, as it was when trained.")
    x, y = batches[0]
    losses = [float(got[0][0])]
    for _ in range(5):
        losses.append(float(call(train_step, model, x.clone(), y.clone(), opt, name=name)[0]))
    if not losses[-1] < losses[1]:
        raise CheckFailed(f"{where}: five more steps on the first batch took its loss from {losses[1]:.4f} to "
                          f"{losses[-1]:.4f}; gradient descent should lower it.")
    passed(name, f"two SGD steps equal to the reference, training mode kept; each returned its loss as a number and "
                 f"its logits {tuple(logits_ok[0].shape)}; repeated on one batch, the loss fell from "
                 f"{losses[1]:.4f} to {losses[-1]:.4f}")


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
