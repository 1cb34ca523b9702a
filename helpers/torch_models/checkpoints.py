"""Trained models on disk: checkpoints, train-once-then-load, and the book's trained networks.

- :func:`save_checkpoint` / :func:`load_checkpoint`: weights plus plain data, written atomically;
- :func:`train_or_load`: a trained model is cached in ``data_dir()/torch/`` under a name plus a hash
  of its settings, its architecture and the training code (:func:`checkpoint_path`, :func:`fingerprint`
  of the data, :func:`code_digest`) and reloaded instead of retrained; a corrupt file is retrained;
- the book's trained models: :func:`book_cnn` (also behind :func:`load_classifier`, the hook of
  ``ocr --model cnn``) and :func:`pretrained_squeezenet` (the backbone chapter 6 fine-tunes).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .. import config
from .models import MLP, SmallCNN, SqueezeNetClassifier, squeezenet
from .training import as_tensors, predict_proba, random_affine, train

__all__ = [
    "CheckpointError", "save_checkpoint", "load_checkpoint", "checkpoint_path", "code_digest", "TRAINING_CODE",
    "fingerprint", "train_or_load", "CNN_SETTINGS",
    "book_cnn", "book_cnns", "SQUEEZE_SETTINGS", "pretrained_squeezenet", "load_classifier", "mlp_controls",
]

CHECKPOINT_FORMAT = 1               # bump when the checkpoint contents change meaning

# The code that builds and trains the book's models: its source is part of every checkpoint key
# (:func:`code_digest`), so an edited model, training loop or recipe never reloads a stale checkpoint.
TRAINING_CODE = tuple(Path(__file__).with_name(f"{m}.py") for m in ("models", "training", "transfer", "checkpoints"))


class CheckpointError(ValueError):
    """A checkpoint file cannot be read (damaged, truncated, or not written by :func:`save_checkpoint`);
    ``path`` and ``reason`` say which file and what is wrong with it."""

    def __init__(self, path: Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"load_checkpoint: {path} {reason}; delete it and train again "
                         "(train_or_load does both by itself)")


def save_checkpoint(path: str | os.PathLike, model: nn.Module, **extra: Any) -> Path:
    """Save ``{'state_dict', 'format', **extra}`` with ``torch.save``, atomically (readers see the old
    file or the complete new one). Tensors are stored on the CPU; ``extra`` values should be plain
    Python data (numbers, strings, lists, dicts) so :func:`load_checkpoint` can read them safely."""
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with config.atomic_path(path) as tmp:
        torch.save({"state_dict": state, "format": CHECKPOINT_FORMAT, **extra}, tmp)
    return path


def load_checkpoint(path: str | os.PathLike, model: nn.Module | None = None) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only``: no code is run) and,
    if ``model`` is given, load its weights (strictly: every key and shape must match). Returns the
    checkpoint dict. A damaged file raises :class:`CheckpointError` (a ValueError) naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_checkpoint: {path} does not exist; train the model first "
                                "(train_or_load does both)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged file
        detail = (str(exc).splitlines() or [""])[0][:200]
        raise CheckpointError(path, f"is not a readable checkpoint ({type(exc).__name__}: {detail})") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(path, "holds no 'state_dict' (it was not written by save_checkpoint)")
    if model is not None:
        model.load_state_dict(ckpt["state_dict"])
    return ckpt


def code_digest() -> str:
    """A short hash of the source of the code that builds and trains the models (:data:`TRAINING_CODE`:
    ``models.py``, ``training.py``, ``transfer.py``, ``checkpoints.py``), read on every call."""
    h = hashlib.sha1()
    for f in TRAINING_CODE:
        h.update(Path(f).name.encode())
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:12]


def _settings_key(settings: dict, model: nn.Module) -> str:
    arch = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    blob = json.dumps({"settings": settings, "code": code_digest(), "arch": arch, "modules": repr(model),
                       "format": CHECKPOINT_FORMAT}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def checkpoint_path(name: str, settings: dict, model: nn.Module) -> Path:
    """``data_dir()/torch/<name>-<mode>-<hash>.pt``; the hash covers ``settings`` (JSON), the
    model's modules (their ``repr``, which includes the input transform), its parameter shapes and
    the training code (:func:`code_digest`), so a change to any of them means a new checkpoint."""
    if not name or any(c in name for c in "/\\ "):
        raise ValueError(f"checkpoint name must be a non-empty word without slashes or spaces, got {name!r}")
    return config.cache_dir() / "torch" / f"{name}-{config.mode()}-{_settings_key(settings, model)}.pt"


def fingerprint(*datasets: Any) -> str:
    """A short hash of the images and labels of data sets (CharacterSet or ``(images, labels)``):
    put it in :func:`train_or_load` settings so a checkpoint is retrained when its data change."""
    h = hashlib.sha1()
    for d in datasets:
        x, y = as_tensors(d)
        h.update(x.contiguous().numpy().tobytes())
        h.update(y.contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def train_or_load(name: str, build_fn: Callable[[], nn.Module], train_fn: Callable[[nn.Module], dict],
                  settings: dict, *, force: bool = False, verbose: bool = True) -> tuple[nn.Module, dict]:
    """The trained model ``name`` from the cache, or trained now and cached.

    ``build_fn()`` makes the untrained model (called after ``config.seed_everything(settings.get
    ('seed', 0))``, so its initial weights are reproducible); ``train_fn(model) -> history`` trains
    it. ``settings`` (JSON-able: epochs, lr, data size, ...) is part of the cache key with the run
    mode, the architecture and the training code (:func:`checkpoint_path`); anything that changes the result belongs
    in it. ``force=True`` retrains; so does a checkpoint that cannot be used (damaged, or weights
    that do not fit the model), with a printed message, and the new one overwrites it. Returns
    ``(model in eval mode, history)``; ``history`` also holds ``'checkpoint'`` (the path) and
    ``'cached'`` (True when loaded).
    """
    config.seed_everything(int(settings.get("seed", 0)))
    model = build_fn()
    path = checkpoint_path(name, settings, model)
    with config.cache_lock(path):  # another process making it: wait, then load it
        if path.is_file() and not force:
            try:
                ckpt = load_checkpoint(path, model)
            except (CheckpointError, RuntimeError) as exc:  # damaged, or weights that do not fit: retrain
                reason = exc.reason if isinstance(exc, CheckpointError) else (str(exc).splitlines() or [""])[0]
                print(f"{name}: could not use the checkpoint {path} ({reason}); retraining and overwriting it")
            else:
                history = dict(ckpt.get("history", {}), checkpoint=str(path), cached=True)
                if verbose:
                    print(f"{name}: loaded the trained model from {path} (delete it to retrain)")
                model.to(config.torch_device()).eval()
                return model, history
            config.seed_everything(int(settings.get("seed", 0)))
            model = build_fn()
        history = dict(train_fn(model))
        save_checkpoint(path, model, history={k: v for k, v in history.items() if k not in ("checkpoint", "cached")},
                        settings=json.loads(json.dumps(settings, default=str)), name=name)
        history.update(checkpoint=str(path), cached=False)
        model.eval()
        return model, history


# ----------------------------------------------------------------------------------------------
# The book's trained networks and the OCR hook
# ----------------------------------------------------------------------------------------------
CNN_SETTINGS = dict(lr=2e-3, batch_size=64, optimizer="adam", weight_decay=1e-4, augment=True, seed=0)


def _train_on_characters(name: str, build_fn: Callable[[], nn.Module], settings: dict, epochs_budget: str,
                         label: str, progress: bool, force: bool) -> tuple[nn.Module, dict]:
    """Train ``build_fn()`` on ``load_book_data('train')`` (validated on 'valid') for
    ``budget(epochs_budget)`` epochs with ``settings`` (optimizer, lr, batch size, optional
    ``weight_decay`` / ``schedule``, ``augment`` with :func:`random_affine`), cached by :func:`train_or_load`."""
    from .. import data

    train_set, valid_set = data.load_book_data("train"), data.load_book_data("valid")
    s = dict(settings, epochs=int(config.budget(epochs_budget)), source=train_set.source,
             data=fingerprint(train_set, valid_set))
    extra = {k: s[k] for k in ("weight_decay", "schedule") if k in s}

    def fit(model: nn.Module) -> dict:
        return train(model, train_set, valid_set, epochs=s["epochs"], lr=s["lr"], batch_size=s["batch_size"],
                     optimizer=s["optimizer"], seed=s["seed"], augment=random_affine() if s["augment"] else None,
                     progress=progress, name=label, **extra)

    return train_or_load(name, build_fn, fit, s, force=force, verbose=progress)


def book_cnn(progress: bool = True, force: bool = False, seed: int = 0) -> tuple[SmallCNN, dict]:
    """The :class:`SmallCNN` trained on ``load_book_data('train')`` (validated on 'valid') for
    ``budget('cnn_epochs')`` epochs with :data:`CNN_SETTINGS` (Adam, random small shifts,
    rotations and scalings), cached by :func:`train_or_load`. Used by chapter 6 and ``ocr --model cnn``.
    seed: the training seed (initial weights, batch order, augmentation); 0 is the book's CNN."""
    return _train_on_characters("cnn_chars", SmallCNN, dict(CNN_SETTINGS, seed=int(seed)), "cnn_epochs", "SmallCNN",
                                progress, force)


def _book_cnn_seed(seed: int) -> tuple[SmallCNN, dict]:
    return book_cnn(progress=False, seed=seed)


def book_cnns(seeds: list[int]) -> list[tuple[SmallCNN, dict]]:
    """:func:`book_cnn` for each training seed, ``[(model, history), ...]``: the ones not cached yet
    train side by side on all cores (:func:`helpers.parallel.pmap`; each is seeded, so the numbers
    are those of one after another)."""
    from .. import parallel

    return parallel.pmap(_book_cnn_seed, [int(s) for s in seeds])


SQUEEZE_SETTINGS = dict(lr=1e-3, batch_size=64, optimizer="adam", schedule="onecycle", augment=True, seed=0)


def pretrained_squeezenet(progress: bool = True, force: bool = False) -> tuple[SqueezeNetClassifier, dict]:
    """SqueezeNet 1.1 (:func:`squeezenet`, 32x32 grayscale, 36 classes) pretrained from scratch on
    ``load_book_data('train')`` (validated on 'valid') for ``budget('squeeze_pretrain_epochs')``
    epochs with :data:`SQUEEZE_SETTINGS` (Adam, one-cycle schedule, :func:`random_affine`), cached
    by :func:`train_or_load`: the book's stand-in for ImageNet weights (chapter 6). The warm-up of
    the one-cycle schedule matters: with a constant learning rate of 1e-3 this network (no batch
    norm) shrank its outputs to uniform and stayed at loss ln 36 for three epochs of 3,600 images."""
    return _train_on_characters("squeezenet_chars", squeezenet, SQUEEZE_SETTINGS, "squeeze_pretrain_epochs",
                                "SqueezeNet 1.1", progress, force)


def load_classifier(kind: str = "cnn", progress: bool = True, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """A character classifier for text extraction: ``predict(images) -> probs``.

    kind: 'cnn' (:func:`book_cnn`, loaded from the cache or trained now, about a minute in full
    mode on 2 CPU cores). ``images``: ``(N, 32, 32)`` (or ``(N, 1024)`` upright row-major) float32
    in [0, 1], ink dark, as :mod:`helpers.data` makes them; returns ``(N, 36)`` float32
    probabilities in NIST36 order (A-Z, then 0-9).
    """
    if kind != "cnn":
        raise ValueError(f"load_classifier: unknown kind {kind!r}; available: 'cnn' "
                         "(the numpy MLP is helpers.mlp.chapter3_mlp)")
    model, _ = book_cnn(progress=progress, seed=seed)

    def predict(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        if images.ndim not in (2, 3) or images.shape[-1] not in (32, 1024):
            raise ValueError(f"predict: images must be (N, 32, 32) or (N, 1024) in [0, 1], ink dark; "
                             f"got shape {images.shape}")
        return predict_proba(model, images)

    predict.model = model  # type: ignore[attr-defined]
    return predict


# ----------------------------------------------------------------------------------------------
# Controls for the MLP-against-CNN comparison
# ----------------------------------------------------------------------------------------------
def mlp_controls(progress: bool = True, force: bool = False) -> dict[str, tuple[MLP, dict]]:
    """Chapter 3's 1024-64-36 :class:`MLP` trained with the small CNN's recipe, so that a table can change
    one thing per row: ``'adam'`` (the CNN's optimizer and settings, :data:`CNN_SETTINGS`: Adam, weight
    decay, batch 64, ``budget('cnn_epochs')`` epochs, no augmentation) and ``'adam_augment'`` (the same
    plus the CNN's random shifts, rotations and scalings, :func:`random_affine`). Each is trained on
    ``load_book_data('train')`` once and cached; returns ``{name: (model, history)}``."""
    out = {}
    for name, augment in (("adam", False), ("adam_augment", True)):
        out[name] = _train_on_characters(f"mlp_{name}", MLP, dict(CNN_SETTINGS, augment=augment), "cnn_epochs",
                                         f"MLP ({name.replace('_', ' + ')})", progress, force)
    return out
