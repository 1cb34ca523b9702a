"""The homework's fine-tuning experiment on the real Oxford flowers17 photos (chapter 6), run only
when the photos and SqueezeNet's ImageNet weights are on this machine: nothing is downloaded."""
from __future__ import annotations

import copy
import os
import time
from typing import Any

import torch

from .. import config
from .models import imagenet_weights_file, squeezenet
from .training import evaluate, random_affine
from .transfer import _fit_steps

__all__ = ["FLOWERS_SIZE", "FLOWERS_SETTINGS", "flowers17_ready", "flowers17_experiment"]


FLOWERS_SIZE = 224   # SqueezeNet 1.1's ImageNet input size
FLOWERS_SETTINGS = dict(batch_size=32, optimizer="adam", schedule="onecycle", lr={"finetune": 3e-4, "scratch": 1e-3},
                        seed=0)


def flowers17_ready(root: str | os.PathLike | None = None, hub_dir: str | os.PathLike | None = None) -> bool:
    """True when the flowers17 layout (``root/{train,val,test}/<class>/``, default
    ``data_dir()/'oxford-flowers17'``) and SqueezeNet's ImageNet weights (:func:`imagenet_weights_file`)
    are both on this machine."""
    from pathlib import Path

    root = Path(root) if root is not None else config.data_dir() / "oxford-flowers17"
    return all((root / s).is_dir() for s in ("train", "val", "test")) and imagenet_weights_file(hub_dir).is_file()


def flowers17_experiment(root: str | os.PathLike | None = None, *, size: int = FLOWERS_SIZE,
                         epochs: int | None = None, hub_dir: str | os.PathLike | None = None,
                         progress: bool = True) -> dict:
    """The homework's flowers17 experiment: SqueezeNet 1.1 fine-tuned from ImageNet against the same
    network from scratch, on RGB photos ``size x size`` (default 224, the size the ImageNet weights were
    trained at; :func:`load_flowers17`), every weight trained, ``budget('flowers_epochs')`` epochs with
    :data:`FLOWERS_SETTINGS` (Adam, one-cycle, :func:`random_affine` shifts of size/16 pixels) on the
    'train' split. Each run keeps the weights of its best epoch on 'val' and is scored once on 'test'.
    Needs the ImageNet weights in the local torch hub cache (nothing is downloaded; ValueError otherwise).

    Returns ``{'acc': {'finetune', 'scratch'} (test accuracy), 'valid_acc' (per epoch), 'best_epoch',
    'n_train', 'n_valid', 'n_test', 'classes', 'size', 'epochs', 'backbone', 'seconds'}``.
    """
    from .. import data

    path = imagenet_weights_file(hub_dir)
    if not path.is_file():
        raise ValueError(f"flowers17_experiment: SqueezeNet's ImageNet weights are not at {path}; copy "
                         f"torchvision's {path.name} there (nothing is downloaded)")
    epochs = int(config.budget("flowers_epochs") if epochs is None else epochs)
    (x, y, classes), (xv, yv, _), (xt, yt, _) = (data.load_flowers17(s, root, size=size)
                                                 for s in ("train", "val", "test"))
    device = config.torch_device()
    s = FLOWERS_SETTINGS
    steps_per_epoch = max(1, len(x) // s["batch_size"])
    t0 = time.perf_counter()
    out: dict[str, Any] = dict(acc={}, valid_acc={}, best_epoch={}, n_train=len(x), n_valid=len(xv), n_test=len(xt),
                               classes=list(classes), size=size, epochs=epochs)
    for strategy in ("finetune", "scratch"):
        config.seed_everything(s["seed"])
        model = squeezenet(len(classes), in_channels=3, small_input=False, hub_dir=hub_dir, verbose=False,
                           weights="imagenet" if strategy == "finetune" else None).to(device)
        if strategy == "finetune":
            out["backbone"] = model.weights_source
        curve: list[float] = []
        best: dict[str, Any] = {}

        def on_step(step: int) -> None:
            if step > 0 and step % steps_per_epoch == 0:
                curve.append(evaluate(model, (xv, yv), batch_size=64)[1])
                if curve[-1] > best.get("acc", -1.0):
                    best.update(acc=curve[-1], epoch=len(curve), state=copy.deepcopy(model.state_dict()))

        _fit_steps(model, torch.as_tensor(x).to(device), torch.as_tensor(y).to(device), steps=epochs * steps_per_epoch,
                   lr=s["lr"][strategy], batch_size=s["batch_size"], optimizer=s["optimizer"], schedule=s["schedule"],
                   augment=random_affine(max_shift=size / 16, max_rotate=10, max_scale=0.1), seed=s["seed"],
                   on_step=on_step)
        model.load_state_dict(best["state"])
        out["acc"][strategy] = evaluate(model, (xt, yt), batch_size=64)[1]
        out["valid_acc"][strategy], out["best_epoch"][strategy] = curve, best["epoch"]
        if progress:
            print(f"flowers17, {strategy}: test accuracy {100 * out['acc'][strategy]:.1f}% (best validation epoch "
                  f"{best['epoch']} of {epochs}, {time.perf_counter() - t0:.0f} s)", flush=True)
    out["seconds"] = time.perf_counter() - t0
    return out
