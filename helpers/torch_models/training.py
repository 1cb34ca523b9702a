"""Training and evaluating a PyTorch model: the loop chapter 6 teaches and the plumbing around it.

- data in: :func:`as_tensors` (a CharacterSet or ``(images, labels)`` -> ``(N, C, H, W)`` float32, ``(N,)`` int64),
  :func:`random_batches`, :func:`random_affine` (augmentation);
- the loop: :func:`train_step` (one batch: forward, loss, zero_grad, backward, step: chapter 6's Your-turn) and
  :func:`train_epoch` (training mode, one step per batch: the loop chapter 6 shows), :func:`train_mode`;
- :func:`train`: seeds, device, threads, optimizer, schedule, validation after each epoch, a progress bar
  and the per-epoch history (:func:`format_history`) around :func:`train_epoch`;
- results: :func:`evaluate`, :func:`predict_proba`.
"""
from __future__ import annotations

import math
import os
import sys
import time
import warnings
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import config
from .models import MLP, count_parameters

__all__ = [
    "as_tensors", "evaluate", "predict_proba", "random_affine", "random_batches", "train_step", "train_epoch",
    "train_mode",
    "train",
    "format_history", "train_same_batches",
]


# ----------------------------------------------------------------------------------------------
# Data in, results out
# ----------------------------------------------------------------------------------------------
def as_tensors(data: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` from a CharacterSet (``.images``, ``.labels``), a pair ``(images, labels)`` or a
    pair of tensors. Images ``(N, 32, 32)``, ``(N, 1024)`` (upright row-major rows) or
    ``(N, C, H, W)`` become float32 ``(N, C, H, W)``; labels ``(N,)`` class indices or ``(N, C)``
    one-hot become int64 ``(N,)``. Arrays are not copied when already in the right form."""
    if hasattr(data, "images") and hasattr(data, "labels"):
        images, labels = data.images, data.labels
    else:
        try:
            images, labels = data
        except (TypeError, ValueError):
            raise TypeError("expected a CharacterSet or a pair (images, labels), got "
                            f"{type(data).__name__}") from None
    x = torch.as_tensor(np.asarray(images, dtype=np.float32) if not torch.is_tensor(images) else images).float()
    if x.ndim == 2:
        side = int(round(math.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ValueError(f"images of shape {tuple(x.shape)}: rows must be square images (e.g. 1024 = 32x32)")
        x = x.reshape(len(x), 1, side, side)
    elif x.ndim == 3:
        x = x.unsqueeze(1)
    elif x.ndim != 4:
        raise ValueError(f"images must be (N, H, W), (N, H*W) or (N, C, H, W); got shape {tuple(x.shape)}")
    y = torch.as_tensor(np.asarray(labels) if not torch.is_tensor(labels) else labels)
    if y.ndim == 2:
        y = y.argmax(dim=1)
    y = y.long()
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels; they must pair up")
    return x, y


def evaluate(model: nn.Module, data: Any, batch_size: int = 1024,
             device: torch.device | str | None = None) -> tuple[float, float, np.ndarray]:
    """``(loss, acc, preds)`` of ``model`` on ``data`` (see :func:`as_tensors`): mean cross-entropy
    per example, accuracy in [0, 1], predicted classes ``(N,)`` int64. Runs in eval mode (no
    dropout, batch-norm running statistics) on the model's device unless ``device`` is given."""
    x, y = as_tensors(data)
    if len(x) == 0:
        raise ValueError("evaluate: no images to evaluate")
    device = torch.device(device) if device is not None else _model_device(model)
    logits = _logits(model.to(device), x, batch_size, device)
    y = y.to(logits.device)
    preds = logits.argmax(1)
    return float(F.cross_entropy(logits, y)), float((preds == y).float().mean()), preds.cpu().numpy()


def predict_proba(model: nn.Module, images: Any, batch_size: int = 1024,
                  device: torch.device | str | None = None) -> np.ndarray:
    """Class probabilities ``(N, n_classes)`` float32 (softmax of the logits) for images in any
    form :func:`as_tensors` accepts."""
    x, _ = as_tensors((images, np.zeros(len(images), dtype=np.int64)))
    device = torch.device(device) if device is not None else _model_device(model)
    return torch.softmax(_logits(model.to(device), x, batch_size, device), 1).cpu().numpy()


@torch.no_grad()
def _logits(model: nn.Module, x: torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        dtype = _model_dtype(model)
        out = [model(x[s:s + batch_size].to(device, dtype)) for s in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0)


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _model_dtype(model: nn.Module) -> torch.dtype:
    p = next(model.parameters(), None)
    return p.dtype if p is not None else torch.float32


# ----------------------------------------------------------------------------------------------
# The training loop
# ----------------------------------------------------------------------------------------------
def random_affine(max_shift: float = 2.0, max_rotate: float = 8.0, max_scale: float = 0.1,
                  fill: str = "border") -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """A data augmentation for :func:`train`: each image of a batch gets its own random shift
    (up to ``max_shift`` pixels), rotation (degrees) and scale (``1 +- max_scale``), bilinear.
    ``fill='border'`` repeats the edge pixels (white background stays white)."""
    def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n, _, h, w = x.shape
        u = torch.rand(n, 4, generator=gen, device="cpu").to(x.device) * 2 - 1
        angle = u[:, 0] * math.radians(max_rotate)
        scale = 1 + u[:, 1] * max_scale
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, u[:, 2] * 2 * max_shift / w], 1),
                             torch.stack([sin, cos, u[:, 3] * 2 * max_shift / h], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode=fill, align_corners=False)
    return augment


def train_step(model, x, y, optimizer):
    """One step of gradient descent on one batch: x (B, C, H, W) float32, y (B,) int64 class indices
    -> (the batch's mean cross-entropy as a Python float, the logits (B, n_classes) before the step)."""
    logits = model(x)                      # forward: (B, n_classes)
    loss = F.cross_entropy(logits, y)      # softmax + negative log-likelihood, mean over the batch
    optimizer.zero_grad()                  # forget the last batch's gradients (backward adds to p.grad)
    loss.backward()                        # backward: p.grad = d loss / d p
    optimizer.step()                       # update every p from p.grad
    return loss.item(), logits


def train_epoch(model, batches, optimizer):
    """One pass over the (x, y) batches, one train_step each -> (loss per example, accuracy) of the
    batches as they were trained, Python floats."""
    model.train()                          # dropout on, batch norm on batch statistics
    total, correct, n = 0.0, 0, 0
    for x, y in batches:
        loss, logits = train_step(model, x, y, optimizer)
        total += loss * len(y)
        correct += int((logits.argmax(1) == y).sum())
        n += len(y)
    return total / n, correct / n


def _train_epoch(model: nn.Module, batches: Iterable, optimizer: torch.optim.Optimizer, *,
                 reduction: str = "mean", scheduler: Any = None,
                 on_step: Callable[[float], None] | None = None) -> tuple[float, float]:
    """:func:`train_epoch` with what :func:`train` and the fine-tuning runs need around it: frozen batch-norm
    layers stay in eval mode (:func:`train_mode`), ``reduction='sum'`` (the homework's summed loss: the
    same updates as ``helpers.nn.fit`` with the same lr), a learning-rate schedule stepped and
    ``on_step(loss)`` called after every step. With none of them it computes exactly what
    :func:`train_epoch` computes (tests/test_torch_models.py)."""
    train_mode(model)
    step = train_step if reduction == "mean" else _train_step_summed
    total, correct, n = 0.0, 0, 0
    for x, y in batches:
        loss, logits = step(model, x, y, optimizer)
        if scheduler is not None:
            scheduler.step()
        total += loss * (1 if reduction == "sum" else len(y))
        correct += int((logits.argmax(1) == y).sum())
        n += len(y)
        if on_step is not None:
            on_step(loss)
    return total / n, correct / n


def _train_step_summed(model, x, y, optimizer):
    """:func:`train_step` with the loss summed over the batch (chapter 3's convention)."""
    logits = model(x)
    loss = F.cross_entropy(logits, y, reduction="sum")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item(), logits


def random_batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator | None = None,
                   augment: Callable | None = None):
    """One epoch of mini-batches ``(x[idx], y[idx])`` in a random order drawn from ``generator``.

    x: (N, C, H, W), y: (N,); the last batch holds the N % batch_size left over (if any).
    ``augment(x_batch, generator) -> x_batch`` changes each batch (e.g. :func:`random_affine`).
    """
    order = torch.randperm(len(x), generator=generator).to(x.device)
    for s in range(0, len(x), batch_size):
        idx = order[s:s + batch_size]
        yield (x[idx] if augment is None else augment(x[idx], generator)), y[idx]


def train(model: nn.Module, train_data: Any, valid_data: Any = None, epochs: int = 10, lr: float = 1e-3,
          batch_size: int = 64, optimizer: str | Callable = "adam", *, momentum: float = 0.9,
          weight_decay: float = 0.0, reduction: str = "mean", schedule: str = "constant",
          augment: Callable | None = None, device: torch.device | str | None = None, progress: bool = True,
          seed: int = 0, threads: int | None = None, name: str | None = None) -> dict:
    """Train ``model`` with mini-batch cross-entropy; returns the per-epoch history.

    Each epoch is one :func:`train_epoch` (as ``_train_epoch``, with the schedule and progress bar) over
    :func:`random_batches`; this function adds what a
    long run needs around that loop (seeds, device, threads, optimizer, schedule, validation,
    progress, history).

    train_data / valid_data: a CharacterSet or ``(images, labels)`` (see :func:`as_tensors`);
    the whole set is moved to the device once. ``optimizer``: 'adam', 'sgd' (with ``momentum``;
    ``momentum=0`` is chapter 3's plain gradient descent) or ``callable(params, lr)``; only
    parameters with ``requires_grad`` are optimised (:func:`set_trainable`). ``reduction``:
    'mean' (the usual) or 'sum' (the homework's summed loss: same updates as
    ``helpers.nn.fit`` with the same lr). ``schedule``: 'constant' (``lr`` throughout) or
    'onecycle' (``torch.optim.lr_scheduler.OneCycleLR``: warm up to ``lr`` over the first 30% of
    the steps, then anneal; networks without batch norm, like SqueezeNet, need the warm-up to
    train from scratch). ``augment(x, generator) -> x`` changes each training batch (e.g.
    :func:`random_affine`).

    Reproducible: the device is ``config.torch_device()`` unless given; everything is seeded with
    ``seed`` (batch order, dropout, augmentation); while it trains,
    ``torch.use_deterministic_algorithms(True, warn_only=True)`` and denormal floats are flushed
    to zero (they can slow CPU training several-fold); both are restored afterwards.
    ``threads`` sets ``torch.set_num_threads`` for this and later work (default
    ``BOOK_TORCH_THREADS`` or 1, see :func:`_threads`). The model's initial weights are the
    caller's: seed before building it.

    ``progress``: a bar (a widget in a live Jupyter kernel, text in a terminal, nothing in the
    static book or pytest), then a compact per-epoch table on stdout (at most ~11 rows).

    history (lists, one entry per epoch, the keys of ``helpers.nn.fit``): ``epoch`` (1, 2, ...),
    ``lr`` (at the end of the epoch), ``train_loss`` / ``train_acc`` (mean per example over the
    epoch's batches as they were trained), ``valid_loss`` / ``valid_acc`` (after the epoch, eval
    mode; nan without valid_data), ``seconds`` (cumulative training time, evaluation excluded);
    plus ``device`` (str).
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"train: reduction must be 'mean' or 'sum', got {reduction!r}")
    if int(epochs) != epochs or epochs < 0 or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"train: epochs must be an integer >= 0 and batch_size >= 1; got {epochs!r}, {batch_size!r}")
    device = torch.device(device) if device is not None else config.torch_device()
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(_threads(threads))
    config.seed_everything(seed)
    gen = config.torch_generator(seed)

    dtype = _model_dtype(model)
    x, y = as_tensors(train_data)
    x, y = x.to(device, dtype), y.to(device)
    has_valid = valid_data is not None
    if has_valid:
        xv, yv = as_tensors(valid_data)
        xv, yv = xv.to(device, dtype), yv.to(device)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("train: the model has no trainable parameters; call set_trainable(model, 'all' or 'head')")
    opt = _make_optimizer(optimizer, params, lr, momentum, weight_decay)
    n, n_batches = len(x), math.ceil(len(x) / batch_size)
    if schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, int(epochs) * n_batches),
                                                    pct_start=0.3)
    elif schedule == "constant":
        sched = None
    else:
        raise ValueError(f"train: schedule must be 'constant' or 'onecycle', got {schedule!r}")

    history: dict[str, Any] = {k: [] for k in _HISTORY_KEYS}
    history["device"] = str(device)
    title = name or type(model).__name__
    if progress:
        opt_name = optimizer if isinstance(optimizer, str) else "custom optimizer"
        sched_name = f" ({schedule} schedule)" if schedule != "constant" else ""
        print(f"{title}: {count_parameters(model, trainable_only=True):,} trainable parameters, {n:,} training "
              f"images, {epochs} epochs of {n_batches} batches, {opt_name} lr {lr:g}{sched_name}, on {device}")
    elapsed = 0.0
    deterministic = (torch.are_deterministic_algorithms_enabled(),
                     torch.is_deterministic_algorithms_warn_only_enabled())
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_flush_denormal(True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bar = _progress_bar(int(epochs) * n_batches, title, progress)
        try:
            for e in range(int(epochs)):
                t0 = time.perf_counter()
                tr_loss, tr_acc = _train_epoch(model, random_batches(x, y, batch_size, gen, augment), opt,
                                               reduction=reduction, scheduler=sched, on_step=lambda _: bar.update(1))
                if not math.isfinite(tr_loss):
                    raise FloatingPointError(f"train: the loss became {tr_loss} in epoch {e + 1} (diverged); "
                                             f"lower the learning rate (lr={lr})")
                elapsed += time.perf_counter() - t0
                va_loss = va_acc = float("nan")
                if has_valid:
                    va_loss, va_acc, _ = evaluate(model, (xv, yv), device=device)
                lr_now = opt.param_groups[0]["lr"]
                for k, v in zip(_HISTORY_KEYS, (e + 1, lr_now, tr_loss, tr_acc, va_loss, va_acc, elapsed)):
                    history[k].append(v)
                bar.set_postfix_str(f"epoch {e + 1}: loss {tr_loss:.3f}"
                                    + (f", valid acc {100 * va_acc:.1f}%" if has_valid else ""))
        finally:
            bar.close()
            torch.set_flush_denormal(False)
            torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])
        model.eval()
    _report_warnings(caught, progress)
    if progress:
        print(format_history(history))
    return history


def train_mode(model: nn.Module) -> nn.Module:
    """``model.train()``, except batch-norm layers whose parameters are all frozen stay in eval mode,
    so a linear probe (:func:`set_trainable` 'head') does not change their running statistics.
    Returns the model."""
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not any(p.requires_grad for p in m.parameters()):
            m.eval()
    return model


def _threads(threads: int | None) -> int:
    """Threads for training: ``threads``, else ``BOOK_TORCH_THREADS``, else 1.

    One by default, for two reasons measured on the book's 2-core machine: results then do not
    depend on the machine (the thread count changes the order of float sums, so the last digits of
    every loss), and when another process keeps a core busy, two OpenMP threads that wait for each
    other made an epoch of the small CNN 13x slower (74 s instead of 5.7 s). On a quiet machine
    two threads were 1.4x faster (3.0 s instead of 4.2 s); set ``BOOK_TORCH_THREADS=2`` for them.
    """
    value = threads if threads is not None else os.environ.get("BOOK_TORCH_THREADS", "1")
    try:
        value = int(value)
        if value < 1:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"torch threads must be a positive integer (argument threads or BOOK_TORCH_THREADS), "
                         f"got {value!r}") from None
    return value


def _make_optimizer(optimizer: Any, params: list, lr: float, momentum: float, weight_decay: float):
    if callable(optimizer):
        return optimizer(params, lr)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'adam', 'sgd' or a callable (params, lr) -> torch.optim.Optimizer; "
                     f"got {optimizer!r}")


def _progress_bar(total: int, desc: str, enabled: bool):
    """One bar per training run, only where it can be seen updating: a widget in a live kernel,
    a text bar in a terminal (stderr is a TTY). In the static book build (stderr is dropped),
    pytest and redirected output it is disabled; the per-epoch table printed to stdout is the record."""
    if enabled and _in_live_kernel():
        from tqdm.auto import tqdm as bar
        return bar(total=total, desc=desc, leave=False)
    from tqdm import tqdm as bar
    live = enabled and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    return bar(total=total, desc=desc, leave=False, disable=not live, dynamic_ncols=True)


def _in_live_kernel() -> bool:
    """True in a live Jupyter kernel; False in plain Python, pytest and the static book build."""
    if os.environ.get("BOOK_STATIC"):
        return False
    ip = sys.modules.get("IPython")
    get = getattr(ip, "get_ipython", None) if ip else None
    shell = get() if get else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _report_warnings(caught: list, progress: bool) -> None:
    """Warnings raised while training: PyTorch's notes that an op has no deterministic version
    (CUDA) go to stdout once (stderr is dropped from the static book); others are re-issued."""
    seen = set()
    for w in caught:
        msg = str(w.message)
        if "determinis" in msg:
            if progress and msg not in seen:
                print(f"note: not bit-for-bit reproducible on this device: {msg.splitlines()[0][:200]}")
            seen.add(msg)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


# ----------------------------------------------------------------------------------------------
# History
# ----------------------------------------------------------------------------------------------
_HISTORY_KEYS = ("epoch", "lr", "train_loss", "train_acc", "valid_loss", "valid_acc", "seconds")


def format_history(history: dict, all_rows: bool = False) -> str:
    """The per-epoch table :func:`train` prints (at most ~11 rows unless ``all_rows``)."""
    epochs = len(history["epoch"])
    has_valid = epochs > 0 and not math.isnan(history["valid_loss"][0])
    rows = range(epochs) if all_rows else sorted(_print_rows(epochs)) if epochs else []
    return "\n".join([_epoch_header(epochs, has_valid)] + [_epoch_line(history, i, epochs) for i in rows])


def _epoch_header(epochs: int, has_valid: bool) -> str:
    w = len(str(epochs)) + 6
    head = f"{'epoch':>{w}}  {'train loss':>10}  {'train acc':>9}"
    if has_valid:
        head += f"  {'valid loss':>10}  {'valid acc':>9}"
    return head + f"  {'time (s)':>7}"


def _epoch_line(history: dict, i: int, epochs: int) -> str:
    w = len(str(epochs))
    line = (f"{history['epoch'][i]:>{w + 6}d}  {history['train_loss'][i]:10.4f}  {100 * history['train_acc'][i]:8.1f}%")
    if not math.isnan(history["valid_loss"][i]):
        line += f"  {history['valid_loss'][i]:10.4f}  {100 * history['valid_acc'][i]:8.1f}%"
    return line + f"  {history['seconds'][i]:7.1f}"


def _print_rows(epochs: int) -> set[int]:
    """Epoch indices the table shows: all up to 12 epochs, else about 10 evenly spaced + the last."""
    step = max(1, math.ceil(epochs / 10)) if epochs > 12 else 1
    return {i for i in range(epochs) if (i + 1) % step == 0 or i == 0} | {epochs - 1}


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
