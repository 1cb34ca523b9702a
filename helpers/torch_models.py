"""The book's networks in PyTorch: models, one training loop, checkpoints, offline data loaders.

Every model takes images ``x: (N, C, H, W)`` float32 in [0, 1] (characters: ``(N, 1, 32, 32)``,
ink dark on a white background, exactly as :mod:`helpers.data` stores them) and returns
class scores (logits) ``(N, n_classes)``; softmax gives probabilities.

Reading order:

- models: :class:`MLP` (chapter 3's 1024-64-36 sigmoid network, loads/exports a
  :mod:`helpers.nn` params dict), :class:`SmallCNN` (about 91k parameters, about 6 s per
  epoch of 10,800 images on one CPU core), :func:`squeezenet` (torchvision's SqueezeNet 1.1 for 32x32 grayscale
  input and any number of classes, optionally from ImageNet weights found in the local torch hub
  cache; nothing is ever downloaded), :func:`replace_head`, :func:`set_trainable`;
- training: :func:`train` (seeded, deterministic where PyTorch allows, a progress bar and a
  compact per-epoch table), :func:`evaluate`, :func:`predict_proba`, :func:`random_affine`;
- checkpoints: :func:`save_checkpoint`, :func:`load_checkpoint`, :func:`train_or_load`
  (a trained model is cached in ``data_dir()/torch/`` under a name plus a hash of its
  settings and reloaded instead of retrained);
- the book's trained models: :func:`book_cnn` (also behind :func:`load_classifier`, the hook of
  ``ocr --model cnn``) and :func:`pretrained_squeezenet` (the backbone chapter 6 fine-tunes);
- loaders for local copies of real data: :func:`load_emnist` (EMNIST idx/gz or .mat files,
  labels mapped to NIST36 order), :func:`build_flowers17_folders` / :func:`load_flowers17`
  (the homework's ``oxford-flowers17/{train,val,test}/{class}`` layout).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import shutil
import struct
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlparse

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import config

__all__ = [
    "N_CLASSES", "MLP", "SmallCNN", "Normalize", "SqueezeNetClassifier", "squeezenet", "imagenet_weights_file",
    "replace_head", "set_trainable", "count_parameters", "as_tensors", "evaluate", "predict_proba", "train",
    "random_affine", "format_history", "save_checkpoint", "load_checkpoint", "checkpoint_path", "fingerprint",
    "train_or_load", "book_cnn", "pretrained_squeezenet", "load_classifier", "load_emnist", "FLOWERS17_CLASSES",
    "build_flowers17_folders", "load_flowers17",
]

N_CLASSES = 36                      # NIST36: A-Z = 0..25, '0'-'9' = 26..35
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHECKPOINT_FORMAT = 1               # bump when the checkpoint contents change meaning


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------
class MLP(nn.Module):
    """Chapter 3's network: 1024 -> 64 sigmoid -> 36 (softmax in the loss).

    Same arithmetic as :mod:`helpers.nn`: batch-first ``h = sigmoid(X W0 + b0)``,
    ``logits = h W1 + b1``. ``torch.nn.Linear`` stores ``W.T``, so :meth:`load_params` and
    :meth:`to_params` transpose. Input: ``(N, 1024)`` rows (row-major flattening of upright
    images, ``CharacterSet.X``) or images ``(N, 1, 32, 32)`` / ``(N, 32, 32)``, which are
    flattened the same way. No input normalisation: the raw pixels, as in chapter 3.
    """

    def __init__(self, n_in: int = 1024, n_hidden: int = 64, n_out: int = N_CLASSES):
        super().__init__()
        self.layer1 = nn.Linear(n_in, n_hidden)
        self.output = nn.Linear(n_hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(len(x), -1)
        return self.output(torch.sigmoid(self.layer1(x)))

    @classmethod
    def from_params(cls, params: dict) -> "MLP":
        """A new MLP holding the weights of a :mod:`helpers.nn` params dict (see :meth:`load_params`),
        in float64 when the weights are float64 (for exact comparisons), else float32."""
        (W0, _), (W1, _) = _mlp_layers(params)
        model = cls(W0.shape[0], W0.shape[1], W1.shape[1])
        if W0.dtype == np.float64:
            model.double()
        model.load_params(params)
        return model

    def load_params(self, params: dict) -> "MLP":
        """Copy weights from a numpy params dict: ``{'W'+h: (1024, 64), 'b'+h: (64,), 'Woutput':
        (64, 36), 'boutput': (36,)}`` where the hidden layer name ``h`` is taken from
        ``params['layers']`` (helpers.nn.build_mlp: 'layer1') or is the one other 'W' key
        ('layer0' in some homework versions). Returns self."""
        for (W, b), lin in zip(_mlp_layers(params), (self.layer1, self.output)):
            if W.shape != (lin.in_features, lin.out_features) or np.shape(b) != (lin.out_features,):
                raise ValueError(f"MLP.load_params: got W {W.shape}, b {np.shape(b)} for a layer "
                                 f"{lin.in_features} -> {lin.out_features}; build the MLP with matching sizes "
                                 "(MLP.from_params does this)")
            with torch.no_grad():
                lin.weight.copy_(torch.as_tensor(np.asarray(W).T.copy(), dtype=lin.weight.dtype))
                lin.bias.copy_(torch.as_tensor(np.asarray(b).reshape(-1), dtype=lin.bias.dtype))
        return self

    def to_params(self, hidden_name: str = "layer1") -> dict:
        """The weights as a :mod:`helpers.nn` params dict (float32 numpy, ``W`` batch-first
        ``(D, M)``), with ``'layers'`` so ``helpers.nn.predict`` can run it."""
        out: dict[str, Any] = {"layers": [(hidden_name, "sigmoid"), ("output", "softmax")]}
        for name, lin in ((hidden_name, self.layer1), ("output", self.output)):
            out["W" + name] = lin.weight.detach().cpu().numpy().T.astype(np.float32)
            out["b" + name] = lin.bias.detach().cpu().numpy().astype(np.float32)
        return out


def _mlp_layers(params: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(W hidden, b hidden), (W output, b output)] from a numpy params dict."""
    if "layers" in params:
        names = [n for n, _ in params["layers"]]
    else:
        hidden = sorted(k[1:] for k in params if k.startswith("W") and k != "Woutput")
        names = hidden + ["output"]
    if len(names) != 2 or any(("W" + n) not in params or ("b" + n) not in params for n in names):
        raise ValueError(f"MLP: expected a params dict with one hidden layer and 'Woutput'/'boutput' "
                         f"(e.g. keys Wlayer1, blayer1, Woutput, boutput); got keys {sorted(params)}")
    return [(np.asarray(params["W" + n]), np.asarray(params["b" + n])) for n in names]


class Normalize(nn.Module):
    """Fixed input transform ``(x - mean) / std`` per channel, optionally on ``1 - x`` first
    (``invert=True``: ink bright on a black background, so zero padding matches the background).
    No parameters; the constants are buffers that are not saved in state dicts."""

    def __init__(self, mean: Iterable[float], std: Iterable[float], invert: bool = False):
        super().__init__()
        self.invert = invert
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.invert:
            x = 1 - x
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}, invert={self.invert}"


class SmallCNN(nn.Module):
    """A small CNN for 32x32 grayscale characters (about 91k parameters).

    Three blocks ``conv 3x3 (padding 1) -> batch norm -> ReLU -> max-pool 2x2`` with 16, 32 and
    64 channels (32x32 -> 16 -> 8 -> 4), then ``flatten (1024) -> dropout -> 64 ReLU -> n_classes``.
    Input ``(N, 1, 32, 32)`` ink dark in [0, 1]; it is inverted and scaled first
    (:class:`Normalize`: background exactly 0, ink about 3), so the zero padding of the
    convolutions looks like background.
    """

    def __init__(self, n_classes: int = N_CLASSES, channels: tuple[int, ...] = (16, 32, 64), hidden: int = 64,
                 dropout: float = 0.25):
        super().__init__()
        self.preprocess = Normalize([0.0], [0.3], invert=True)
        layers: list[nn.Module] = []
        c_in = 1
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        side = 32 // 2 ** len(channels)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in * side * side, hidden),
                                        nn.ReLU(inplace=True), nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:
            x = x.unsqueeze(1)
        return self.classifier(self.features(self.preprocess(x)))


class SqueezeNetClassifier(nn.Module):
    """torchvision's SqueezeNet 1.1 (``features`` + ``classifier``, same module names and state-dict
    keys) behind a fixed input transform :class:`Normalize`.

    ``small_input=True`` changes only the stride of the first convolution (3x3, stride 2 -> 1;
    the kernel shape is kept, so ImageNet weights still fit): on a 32x32 input the feature maps
    are then 30 -> 15 -> 7 -> 3 pixels wide; with the original stride the last four Fire modules
    would see 1x1 maps, where their 3x3 convolutions see nothing but padding. It costs about 4x the
    computation of the original stem (upsampling the input to 64x64 would cost as much and show the
    network nothing new). ``in_channels=1`` makes the first convolution grayscale (ImageNet weights
    are summed over RGB: exactly the RGB network applied to a gray image).

    Input transform: RGB (``in_channels=3``) uses ImageNet's mean and std, as torchvision does.
    Grayscale characters are inverted (ink bright, background exactly 0, so the zero padding of the
    Fire modules looks like background, as in :class:`SmallCNN`) and divided by ImageNet's mean std
    (pretraining on the characters, 5 epochs: 96.4% validation accuracy, against 94.9% with
    ImageNet's mean and no inversion).
    """

    def __init__(self, n_classes: int = N_CLASSES, in_channels: int = 1, small_input: bool = True):
        super().__init__()
        from torchvision.models import squeezenet1_1

        if in_channels not in (1, 3):
            raise ValueError(f"squeezenet: in_channels must be 1 (grayscale) or 3 (RGB), got {in_channels}")
        net = squeezenet1_1(weights=None, num_classes=n_classes)
        if in_channels == 1:  # characters: ink bright on a zero background, ImageNet's scale
            self.preprocess = Normalize([0.0], [float(np.mean(IMAGENET_STD))], invert=True)
        else:
            self.preprocess = Normalize(IMAGENET_MEAN, IMAGENET_STD)
        if in_channels != 3 or small_input:
            net.features[0] = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1 if small_input else 2)
        self.features = net.features
        self.classifier = net.classifier
        self.in_channels, self.small_input = in_channels, small_input
        self.weights_source = "random initialisation"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:
            x = x.unsqueeze(1)
        return torch.flatten(self.classifier(self.features(self.preprocess(x))), 1)


def imagenet_weights_file(hub_dir: str | os.PathLike | None = None) -> Path:
    """Where torchvision keeps SqueezeNet 1.1's ImageNet weights:
    ``<torch hub dir>/checkpoints/squeezenet1_1-b8a52dc0.pth`` (``torch.hub.get_dir()``, which
    follows ``TORCH_HOME`` and ``torch.hub.set_dir``)."""
    from torchvision.models import SqueezeNet1_1_Weights

    filename = os.path.basename(urlparse(SqueezeNet1_1_Weights.DEFAULT.url).path)
    return Path(hub_dir or torch.hub.get_dir()) / "checkpoints" / filename


def squeezenet(n_classes: int = N_CLASSES, *, in_channels: int = 1, small_input: bool = True,
               weights: str | None = None, hub_dir: str | os.PathLike | None = None,
               verbose: bool = True) -> SqueezeNetClassifier:
    """SqueezeNet 1.1 for ``n_classes`` classes (see :class:`SqueezeNetClassifier`).

    ``weights=None``: random initialisation (torchvision's). ``weights='imagenet'``: torchvision's
    ``SqueezeNet1_1_Weights.DEFAULT`` if the file is already in the local torch hub cache
    (:func:`imagenet_weights_file`); the 1000-class classifier convolution is replaced by a new
    one for ``n_classes``, as in the homework. Nothing is downloaded: when the file is missing the
    model keeps its random initialisation and, with ``verbose``, a message on stdout says so and
    where to put the file. ``model.weights_source`` records what happened.
    """
    model = SqueezeNetClassifier(n_classes, in_channels, small_input)
    if weights is None:
        return model
    if weights != "imagenet":
        raise ValueError(f"squeezenet: weights must be None or 'imagenet', got {weights!r}")
    path = imagenet_weights_file(hub_dir)
    if not path.is_file():
        model.weights_source = f"random initialisation (ImageNet weights not found at {path})"
        if verbose:
            from torchvision.models import SqueezeNet1_1_Weights

            print(f"squeezenet: ImageNet weights are not in the local torch hub cache ({path}); nothing is "
                  "downloaded, so the network starts from random weights. To fine-tune from ImageNet, copy "
                  f"{path.name} (from {SqueezeNet1_1_Weights.DEFAULT.url}) into {path.parent}.")
        return model
    try:
        state = dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as exc:
        raise ValueError(f"squeezenet: cannot read {path} ({type(exc).__name__}: {exc}); delete it or replace it "
                         "with torchvision's file") from exc
    w0 = state.get("features.0.weight")
    if w0 is None or tuple(w0.shape) != (64, 3, 3, 3):
        raise ValueError(f"squeezenet: {path} is not a SqueezeNet 1.1 state dict (features.0.weight is "
                         f"{None if w0 is None else tuple(w0.shape)}); delete it or replace it with torchvision's file")
    if in_channels == 1:
        state["features.0.weight"] = w0.sum(dim=1, keepdim=True)
    state = {k: v for k, v in state.items() if not k.startswith("classifier.1.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) != {"classifier.1.weight", "classifier.1.bias"}:
        raise ValueError(f"squeezenet: {path} does not match SqueezeNet 1.1 (missing {missing}, unexpected "
                         f"{unexpected}); delete it or replace it with torchvision's file")
    model.weights_source = f"ImageNet ({path.name}, local torch hub cache)"
    if verbose:
        print(f"squeezenet: loaded ImageNet weights from {path}; new {n_classes}-class classifier")
    return model


def replace_head(model: nn.Module, n_classes: int) -> nn.Module:
    """Give ``model`` a fresh last layer for ``n_classes`` classes (in place; returns it).

    SqueezeNet: ``classifier[1] = Conv2d(512, n_classes, 1)`` initialised like torchvision
    (normal, std 0.01), exactly the homework's change; SmallCNN: the last Linear; MLP: output.
    Seed with ``config.seed_everything`` first for a reproducible head.
    """
    if isinstance(model, SqueezeNetClassifier):
        conv = nn.Conv2d(model.classifier[1].in_channels, n_classes, kernel_size=1)
        nn.init.normal_(conv.weight, mean=0.0, std=0.01)
        nn.init.zeros_(conv.bias)
        model.classifier[1] = conv
    elif isinstance(model, SmallCNN):
        model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, n_classes)
    elif isinstance(model, MLP):
        model.output = nn.Linear(model.output.in_features, n_classes)
    else:
        raise TypeError(f"replace_head: unknown model type {type(model).__name__}; "
                        "expected SqueezeNetClassifier, SmallCNN or MLP")
    return model


def _head(model: nn.Module) -> nn.Module:
    if isinstance(model, (SqueezeNetClassifier, SmallCNN)):
        return model.classifier[1] if isinstance(model, SqueezeNetClassifier) else model.classifier[-1]
    if isinstance(model, MLP):
        return model.output
    raise TypeError(f"unknown model type {type(model).__name__}; expected SqueezeNetClassifier, SmallCNN or MLP")


def set_trainable(model: nn.Module, part: str = "all") -> nn.Module:
    """``part='all'``: train every parameter (full fine-tuning, or training from scratch);
    ``part='head'``: freeze everything but the last layer (a linear probe on the features).
    In place; returns the model. :func:`train` optimises only parameters with ``requires_grad``
    and keeps frozen batch-norm layers in eval mode, so a frozen backbone is truly fixed."""
    if part not in ("all", "head"):
        raise ValueError(f"set_trainable: part must be 'all' or 'head', got {part!r}")
    for p in model.parameters():
        p.requires_grad_(part == "all")
    for p in _head(model).parameters():
        p.requires_grad_(True)
    return model


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (of those with ``requires_grad`` when ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# ----------------------------------------------------------------------------------------------
# Data to tensors, evaluation
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


# ----------------------------------------------------------------------------------------------
# Training
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


def _in_live_kernel() -> bool:
    """True in a live Jupyter kernel; False in plain Python, pytest and the static book build."""
    if os.environ.get("BOOK_STATIC"):
        return False
    ip = sys.modules.get("IPython")
    get = getattr(ip, "get_ipython", None) if ip else None
    shell = get() if get else None
    return shell is not None and getattr(shell, "kernel", None) is not None


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


def _train_mode(model: nn.Module) -> None:
    """``model.train()``, except batch-norm layers whose parameters are all frozen stay in eval mode,
    so a linear probe (:func:`set_trainable` 'head') does not change their running statistics."""
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not any(p.requires_grad for p in m.parameters()):
            m.eval()


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


_HISTORY_KEYS = ("epoch", "lr", "train_loss", "train_acc", "valid_loss", "valid_acc", "seconds")


def _epoch_line(history: dict, i: int, epochs: int) -> str:
    w = len(str(epochs))
    line = (f"{history['epoch'][i]:>{w + 6}d}  {history['train_loss'][i]:10.4f}  {100 * history['train_acc'][i]:8.1f}%")
    if not math.isnan(history["valid_loss"][i]):
        line += f"  {history['valid_loss'][i]:10.4f}  {100 * history['valid_acc'][i]:8.1f}%"
    return line + f"  {history['seconds'][i]:7.1f}"


def _epoch_header(epochs: int, has_valid: bool) -> str:
    w = len(str(epochs)) + 6
    head = f"{'epoch':>{w}}  {'train loss':>10}  {'train acc':>9}"
    if has_valid:
        head += f"  {'valid loss':>10}  {'valid acc':>9}"
    return head + f"  {'time (s)':>7}"


def _print_rows(epochs: int) -> set[int]:
    """Epoch indices the table shows: all up to 12 epochs, else about 10 evenly spaced + the last."""
    step = max(1, math.ceil(epochs / 10)) if epochs > 12 else 1
    return {i for i in range(epochs) if (i + 1) % step == 0 or i == 0} | {epochs - 1}


def train(model: nn.Module, train_data: Any, valid_data: Any = None, epochs: int = 10, lr: float = 1e-3,
          batch_size: int = 64, optimizer: str | Callable = "adam", *, momentum: float = 0.9,
          weight_decay: float = 0.0, reduction: str = "mean", schedule: str = "constant",
          augment: Callable | None = None, device: torch.device | str | None = None, progress: bool = True,
          seed: int = 0, threads: int | None = None, name: str | None = None) -> dict:
    """Train ``model`` with mini-batch cross-entropy; returns the per-epoch history.

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
    gen = torch.Generator().manual_seed(seed)

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
                _train_mode(model)
                t0 = time.perf_counter()
                order = torch.randperm(n, generator=gen).to(device)
                total = torch.zeros((), device=device)
                correct = torch.zeros((), device=device)
                for s in range(0, n, batch_size):
                    idx = order[s:s + batch_size]
                    xb, yb = x[idx], y[idx]
                    if augment is not None:
                        xb = augment(xb, gen)
                    logits = model(xb)
                    loss = F.cross_entropy(logits, yb, reduction=reduction)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    if sched is not None:
                        sched.step()
                    with torch.no_grad():
                        total += loss.detach() * (1 if reduction == "sum" else len(idx))
                        correct += (logits.argmax(1) == yb).sum()
                    bar.update(1)
                tr_loss, tr_acc = float(total) / n, float(correct) / n
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


def format_history(history: dict, all_rows: bool = False) -> str:
    """The per-epoch table :func:`train` prints (at most ~11 rows unless ``all_rows``)."""
    epochs = len(history["epoch"])
    has_valid = epochs > 0 and not math.isnan(history["valid_loss"][0])
    rows = range(epochs) if all_rows else sorted(_print_rows(epochs)) if epochs else []
    return "\n".join([_epoch_header(epochs, has_valid)] + [_epoch_line(history, i, epochs) for i in rows])


# ----------------------------------------------------------------------------------------------
# Checkpoints
# ----------------------------------------------------------------------------------------------
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
    checkpoint dict."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_checkpoint: {path} does not exist; train the model first "
                                "(train_or_load does both)")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if model is not None:
        model.load_state_dict(ckpt["state_dict"])
    return ckpt


def _settings_key(settings: dict, model: nn.Module) -> str:
    arch = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    blob = json.dumps({"settings": settings, "arch": arch, "modules": repr(model),
                       "format": CHECKPOINT_FORMAT}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def checkpoint_path(name: str, settings: dict, model: nn.Module) -> Path:
    """``data_dir()/torch/<name>-<mode>-<hash>.pt``; the hash covers ``settings`` (JSON), the
    model's modules (their ``repr``, which includes the input transform) and parameter shapes, so a
    change to any of them means a new checkpoint."""
    if not name or any(c in name for c in "/\\ "):
        raise ValueError(f"checkpoint name must be a non-empty word without slashes or spaces, got {name!r}")
    return config.data_dir() / "torch" / f"{name}-{config.mode()}-{_settings_key(settings, model)}.pt"


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
    mode and the architecture (:func:`checkpoint_path`); anything that changes the result belongs
    in it. ``force=True`` retrains. Returns ``(model in eval mode, history)``; ``history`` also
    holds ``'checkpoint'`` (the path) and ``'cached'`` (True when loaded).
    """
    config.seed_everything(int(settings.get("seed", 0)))
    model = build_fn()
    path = checkpoint_path(name, settings, model)
    if path.is_file() and not force:
        try:
            ckpt = load_checkpoint(path, model)
        except Exception as exc:  # a corrupt or stale file: retrain and overwrite
            if verbose:
                print(f"{name}: could not read {path.name} ({type(exc).__name__}: {exc}); retraining")
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
# The book's CNN and the OCR hook
# ----------------------------------------------------------------------------------------------
CNN_SETTINGS = dict(lr=2e-3, batch_size=64, optimizer="adam", weight_decay=1e-4, augment=True, seed=0)


def _train_on_characters(name: str, build_fn: Callable[[], nn.Module], settings: dict, epochs_budget: str,
                         label: str, progress: bool, force: bool) -> tuple[nn.Module, dict]:
    """Train ``build_fn()`` on ``load_book_data('train')`` (validated on 'valid') for
    ``budget(epochs_budget)`` epochs with ``settings`` (optimizer, lr, batch size, optional
    ``weight_decay`` / ``schedule``, ``augment`` with :func:`random_affine`), cached by :func:`train_or_load`."""
    from . import data

    train_set, valid_set = data.load_book_data("train"), data.load_book_data("valid")
    s = dict(settings, epochs=int(config.budget(epochs_budget)), source=train_set.source,
             data=fingerprint(train_set, valid_set))
    extra = {k: s[k] for k in ("weight_decay", "schedule") if k in s}

    def fit(model: nn.Module) -> dict:
        return train(model, train_set, valid_set, epochs=s["epochs"], lr=s["lr"], batch_size=s["batch_size"],
                     optimizer=s["optimizer"], seed=s["seed"], augment=random_affine() if s["augment"] else None,
                     progress=progress, name=label, **extra)

    return train_or_load(name, build_fn, fit, s, force=force, verbose=progress)


def book_cnn(progress: bool = True, force: bool = False) -> tuple[SmallCNN, dict]:
    """The :class:`SmallCNN` trained on ``load_book_data('train')`` (validated on 'valid') for
    ``budget('cnn_epochs')`` epochs with :data:`CNN_SETTINGS` (Adam, random small shifts,
    rotations and scalings), cached by :func:`train_or_load`. Used by chapter 6 and ``ocr --model cnn``."""
    return _train_on_characters("cnn_chars", SmallCNN, CNN_SETTINGS, "cnn_epochs", "SmallCNN", progress, force)


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


def load_classifier(kind: str = "cnn", progress: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """A character classifier for text extraction: ``predict(images) -> probs``.

    kind: 'cnn' (:func:`book_cnn`, loaded from the cache or trained now, about a minute in full
    mode on 2 CPU cores). ``images``: ``(N, 32, 32)`` (or ``(N, 1024)`` upright row-major) float32
    in [0, 1], ink dark, as :mod:`helpers.data` makes them; returns ``(N, 36)`` float32
    probabilities in NIST36 order (A-Z, then 0-9).
    """
    if kind != "cnn":
        raise ValueError(f"load_classifier: unknown kind {kind!r}; available: 'cnn' "
                         "(the numpy MLP is helpers.mlp.chapter3_mlp)")
    model, _ = book_cnn(progress=progress)

    def predict(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        if images.ndim not in (2, 3) or images.shape[-1] not in (32, 1024):
            raise ValueError(f"predict: images must be (N, 32, 32) or (N, 1024) in [0, 1], ink dark; "
                             f"got shape {images.shape}")
        return predict_proba(model, images)

    predict.model = model  # type: ignore[attr-defined]
    return predict


# ----------------------------------------------------------------------------------------------
# EMNIST (local files)
# ----------------------------------------------------------------------------------------------
_EMNIST_SPLITS = ("balanced", "bymerge", "byclass", "digits", "mnist", "letters")


def _emnist_to_nist36(labels: np.ndarray, subset: str) -> np.ndarray:
    """EMNIST label -> NIST36 label, -1 where the class is not in NIST36.

    balanced/bymerge/byclass: 0-9 digits -> 26..35, 10-35 capitals A-Z -> 0..25, 36+ lowercase -> -1;
    digits/mnist: d -> 26 + d; letters (1 = 'A'/'a' ... 26): l -> l - 1 (upper and lower case merged).
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if subset in ("digits", "mnist"):
        return labels + 26
    if subset == "letters":
        return labels - 1
    out = np.full_like(labels, -1)
    out[labels < 10] = labels[labels < 10] + 26
    caps = (labels >= 10) & (labels < 36)
    out[caps] = labels[caps] - 10
    return out


def _read_idx(path: Path) -> np.ndarray:
    """An idx-ubyte file (optionally .gz) as a uint8 array (the shape it declares)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an idx-ubyte file of unsigned bytes (magic {raw[:4].hex()})")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {data.size} bytes (truncated download?)")
    return data.reshape(shape)


def _find(folder: Path, names: list[str]) -> Path | None:
    for sub in ("", "emnist", "gzip", "emnist/gzip", "matlab", "emnist/matlab"):
        for name in names:
            p = folder / sub / name
            if p.is_file():
                return p
    return None


def load_emnist(split: str = "train", data_dir: str | os.PathLike | None = None, subset: str = "balanced",
                limit: int | None = None):
    """EMNIST from local files, in the book's format, as a ``helpers.data.CharacterSet``.

    Looks in ``data_dir`` (default ``config.data_dir()``) and its ``emnist/``, ``gzip/`` and
    ``matlab/`` subfolders for ``emnist-<subset>-<split>-images-idx3-ubyte[.gz]`` with
    ``...-labels-idx1-ubyte[.gz]``, or else ``emnist-<subset>.mat`` (the MATLAB release). split:
    'train' or 'test'. EMNIST images are 28x28, white ink on black, stored transposed; they are
    returned upright, ink dark in [0, 1], padded with background to 32x32: ``images (N, 32, 32)``
    float32. Labels are mapped to NIST36 order (EMNIST lists digits first: 0-9, then A-Z, then
    lowercase): digits -> 26..35, capitals -> 0..25; lowercase classes (36-46 of 'balanced') are
    dropped. ``limit`` keeps the first ``limit`` images (before dropping). Nothing is downloaded.
    """
    if split not in ("train", "test"):
        raise ValueError(f"load_emnist: split must be 'train' or 'test' (EMNIST has no validation split), "
                         f"got {split!r}")
    if subset not in _EMNIST_SPLITS:
        raise ValueError(f"load_emnist: subset must be one of {_EMNIST_SPLITS}, got {subset!r}")
    folder = Path(data_dir) if data_dir is not None else config.data_dir()
    stem = f"emnist-{subset}-{split}"
    img_path = _find(folder, [f"{stem}-images-idx3-ubyte", f"{stem}-images-idx3-ubyte.gz"])
    lab_path = _find(folder, [f"{stem}-labels-idx1-ubyte", f"{stem}-labels-idx1-ubyte.gz"])
    if img_path is not None and lab_path is not None:
        raw, labels, origin = _read_idx(img_path), _read_idx(lab_path), img_path.parent
    else:
        mat_path = _find(folder, [f"emnist-{subset}.mat"])
        if mat_path is None:
            raise FileNotFoundError(
                f"load_emnist: no EMNIST {subset} files in {folder}; put {stem}-images-idx3-ubyte.gz and "
                f"{stem}-labels-idx1-ubyte.gz (from the 'gzip' release) or emnist-{subset}.mat (the 'matlab' "
                "release) there; nothing is downloaded")
        from scipy.io import loadmat

        ds = loadmat(mat_path, simplify_cells=True)["dataset"][split]
        raw, labels, origin = np.asarray(ds["images"], dtype=np.uint8), np.asarray(ds["labels"]), mat_path
    n = len(labels) if limit is None else min(int(limit), len(labels))
    raw, labels = raw[:n].reshape(n, 28, 28), np.asarray(labels).reshape(-1)[:n]
    if len(raw) != len(labels):
        raise ValueError(f"load_emnist: {len(raw)} images but {len(labels)} labels in {origin}")
    mapped = _emnist_to_nist36(labels, subset)
    keep = mapped >= 0
    upright = raw[keep].transpose(0, 2, 1)
    images = np.ones((int(keep.sum()), 32, 32), dtype=np.float32)
    images[:, 2:30, 2:30] = 1 - upright.astype(np.float32) / 255
    from .data import CharacterSet

    return CharacterSet(images=images, labels=mapped[keep], source=f"EMNIST {subset} (local files)",
                        split=split, styles=None)


# ----------------------------------------------------------------------------------------------
# Oxford flowers17 (local files)
# ----------------------------------------------------------------------------------------------
FLOWERS17_CLASSES = ("daffodil", "snowdrop", "lily_valley", "bluebell", "crocus", "iris", "tigerlily", "tulip",
                     "fritillary", "sunflower", "daisy", "colts_foot", "dandelion", "cowslip", "buttercup",
                     "windflower", "pansy")
_FLOWERS_SPLITS = {"train": "trn", "val": "val", "test": "tst"}


def build_flowers17_folders(source: str | os.PathLike, dest: str | os.PathLike | None = None,
                            partition: int = 1) -> Path:
    """Sort the official 17flowers release into the homework's layout.

    source: a folder with ``jpg/image_0001.jpg ... image_1360.jpg`` (or the jpgs directly) and
    ``datasplits.mat`` (keys ``trn1, val1, tst1, ...``: 1-based image numbers). Images come in
    class order, 80 per class (:data:`FLOWERS17_CLASSES`). Writes
    ``dest/{train,val,test}/{class}/image_XXXX.jpg`` (hard links where possible, else copies)
    into a temporary folder that is renamed into place at the end, so a half-built folder is never
    seen. dest defaults to ``config.data_dir()/'oxford-flowers17'``; returns it. ``partition``:
    which of the three official splits (1, 2 or 3).
    """
    from scipy.io import loadmat

    source = Path(source)
    dest = Path(dest) if dest is not None else config.data_dir() / "oxford-flowers17"
    mat = source / "datasplits.mat"
    if not mat.is_file():
        raise FileNotFoundError(f"build_flowers17_folders: {mat} not found; download the 17flowers release "
                                "(17flowers.tgz and datasplits.mat) elsewhere and put both in one folder")
    jpg = source / "jpg" if (source / "jpg").is_dir() else source
    splits = loadmat(mat)
    if dest.exists():
        raise FileExistsError(f"build_flowers17_folders: {dest} already exists; delete it to rebuild")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        for split, key in _FLOWERS_SPLITS.items():
            name = f"{key}{partition}"
            if name not in splits:
                raise ValueError(f"build_flowers17_folders: {mat} has no {name!r} (keys: "
                                 f"{sorted(k for k in splits if not k.startswith('__'))})")
            for number in np.asarray(splits[name]).reshape(-1).astype(int):
                cls = (number - 1) // 80
                if not 0 <= cls < len(FLOWERS17_CLASSES):
                    raise ValueError(f"build_flowers17_folders: image number {number} in {name} is outside 1..1360")
                src = jpg / f"image_{number:04d}.jpg"
                if not src.is_file():
                    raise FileNotFoundError(f"build_flowers17_folders: {src} is missing; extract all of 17flowers.tgz")
                out = tmp / split / FLOWERS17_CLASSES[cls] / src.name
                out.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(src, out)
                except OSError:
                    shutil.copy2(src, out)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest


def load_flowers17(split: str = "train", root: str | os.PathLike | None = None,
                   size: int = 64) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images of ``root/{split}/{class}/*.jpg`` (the homework's flowers17 layout) in memory.

    Returns ``(images (N, 3, size, size) float32 RGB in [0, 1], labels (N,) int64, classes)`` with
    classes the sorted folder names (as ``torchvision.datasets.ImageFolder`` numbers them). Each
    image is resized so its shorter side is ``size`` and centre-cropped. root defaults to
    ``config.data_dir()/'oxford-flowers17'`` (see :func:`build_flowers17_folders`).
    """
    from PIL import Image

    if split not in _FLOWERS_SPLITS:
        raise ValueError(f"load_flowers17: split must be one of {tuple(_FLOWERS_SPLITS)}, got {split!r}")
    root = Path(root) if root is not None else config.data_dir() / "oxford-flowers17"
    folder = root / split
    if not folder.is_dir():
        raise FileNotFoundError(f"load_flowers17: {folder} not found; build the layout with "
                                "build_flowers17_folders(<folder with jpg/ and datasplits.mat>)")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    images, labels = [], []
    for label, cls in enumerate(classes):
        for f in sorted((folder / cls).iterdir()):
            if f.suffix.lower() not in (".jpg", ".jpeg", ".png"):
                continue
            with Image.open(f) as im:
                im = im.convert("RGB")
                scale = size / min(im.size)
                w, h = max(size, round(im.width * scale)), max(size, round(im.height * scale))
                im = im.resize((w, h), Image.BILINEAR)
                left, top = (w - size) // 2, (h - size) // 2
                im = im.crop((left, top, left + size, top + size))
                images.append(np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255)
            labels.append(label)
    if not images:
        raise FileNotFoundError(f"load_flowers17: no images under {folder}")
    return np.stack(images), np.asarray(labels, dtype=np.int64), classes


# ----------------------------------------------------------------------------------------------
# --- fine-tuning experiments (chapter 6) ---
#
# Chapter 6 asks whether what a network learned on one task (the source: 36 generated character
# classes, many images) helps on another (the target: real MNIST handwriting, 10 digit classes,
# only a few labelled images per class). Helpers, in the order the chapter meets them:
# train_same_batches (chapter 3's SGD in PyTorch, batch for batch), mnist_target_task and
# labelled_subset (the target task), digits_cnn (a CNN trained on all target labels),
# finetune_backbone (the pretrained SqueezeNet: ImageNet weights when present locally, else the
# character-pretrained one), adapt (one linear probe / fine-tune / from-scratch run) and
# finetune_experiment (all runs, cached).
# ----------------------------------------------------------------------------------------------
import copy as _copy

__all__ += [
    "train_same_batches", "mnist_target_task", "labelled_subset", "digits_cnn", "finetune_backbone",
    "backbone_features", "FT_STRATEGIES", "FT_SETTINGS", "adapt", "finetune_experiment",
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
    from . import nn as npnn

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
    from . import data

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
    """``steps`` mini-batch steps of cross-entropy on (x, y), epochs of seeded random batches
    (``min(batch_size, N)`` images each); ``on_step(step)`` after each step (and for step 0).
    Returns the training loss of every step."""
    config.seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    torch.set_num_threads(_threads(None))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(optimizer, params, lr, 0.9, weight_decay)
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, steps), pct_start=0.3)
             if schedule == "onecycle" else None)
    n, bs = len(x), min(int(batch_size), len(x))
    losses: list[float] = []
    order, pos = torch.randperm(n, generator=gen), 0
    if on_step is not None:
        on_step(0)
    torch.set_flush_denormal(True)
    try:
        for step in range(1, int(steps) + 1):
            if pos + bs > n:
                order, pos = torch.randperm(n, generator=gen), 0
            idx = order[pos:pos + bs]
            pos += bs
            xb = x[idx] if augment is None else augment(x[idx], gen)
            _train_mode(model)
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            losses.append(float(loss.detach()))
            if not math.isfinite(losses[-1]):
                raise FloatingPointError(f"adapt: the loss became {losses[-1]} at step {step}; lower the learning rate")
            if on_step is not None:
                on_step(step)
    finally:
        torch.set_flush_denormal(False)
    model.eval()
    return losses


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
        model = _copy.deepcopy(backbone).cpu()
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
