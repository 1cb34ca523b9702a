"""The book's networks in PyTorch, and the surgery fine-tuning needs.

Every model takes images ``x: (N, C, H, W)`` float32 in [0, 1] (characters: ``(N, 1, 32, 32)``,
ink dark on a white background, exactly as :mod:`helpers.data` stores them) and returns class
scores (logits) ``(N, n_classes)``; softmax gives probabilities.

- :class:`MLP`: chapter 3's 1024-64-36 sigmoid network (loads and exports a :mod:`helpers.nn` params dict);
- :class:`Normalize`: the fixed input transform of the convolutional networks;
- :class:`SmallCNN`: three conv blocks, about 91k parameters (chapter 6's Your-turn: the class as a reader
  writes it);
- :class:`SqueezeNetClassifier` / :func:`squeezenet`: torchvision's SqueezeNet 1.1 for 32x32 grayscale
  (or RGB) input, optionally from ImageNet weights found in the local torch hub cache (nothing is downloaded);
- :func:`replace_head`, :func:`set_trainable`, :func:`count_parameters`: a new last layer, a frozen backbone.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlparse

import numpy as np
import torch
from torch import nn

__all__ = [
    "N_CLASSES", "MLP", "Normalize", "SmallCNN", "SqueezeNetClassifier", "imagenet_weights_file", "squeezenet",
    "replace_head", "set_trainable", "count_parameters",
]

N_CLASSES = 36                      # NIST36: A-Z = 0..25, '0'-'9' = 26..35
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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
    No parameters; the constants are buffers that are not saved in state dicts. Images ``(N, H, W)``
    get their channel axis here, so every model that starts with it also takes them."""

    def __init__(self, mean: Iterable[float], std: Iterable[float], invert: bool = False):
        super().__init__()
        self.invert = invert
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:                     # (N, H, W) images: one channel
            x = x.unsqueeze(1)
        if self.invert:
            x = 1 - x
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}, invert={self.invert}"


class SmallCNN(torch.nn.Module):
    """A small CNN for 32x32 grayscale characters (91,348 parameters for 36 classes).

    x: (N, 1, 32, 32) float32 in [0, 1], ink dark -> logits (N, n_classes).
    preprocess: 1 - x, divided by 0.3 (ink bright, background 0: zero padding looks like background);
    features: 3 x [conv 3x3 -> batch norm -> ReLU -> max-pool 2x2], 16, 32, 64 channels, 32 -> 16 -> 8 -> 4 pixels;
    classifier: flatten (64 * 4 * 4 = 1024) -> dropout 0.25 -> 64 ReLU -> n_classes.
    """

    def __init__(self, n_classes=36):
        super().__init__()
        self.preprocess = Normalize([0.0], [0.3], invert=True)
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1, bias=False), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1, bias=False), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, 64, 3, padding=1, bias=False), torch.nn.BatchNorm2d(64), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2))
        self.classifier = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Dropout(0.25), torch.nn.Linear(64 * 4 * 4, 64), torch.nn.ReLU(),
            torch.nn.Linear(64, n_classes))

    def forward(self, x):
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


def replace_head(model, n_classes):
    """model: a SqueezeNetClassifier -> the same model, its classifier[1] a new 1x1 convolution
    (N, 512, h, w) -> (N, n_classes, h, w), drawn as torchvision draws it (weights N(0, 0.01), biases 0).
    Every other layer keeps its (pretrained) weights. Seed first (config.seed_everything) for a
    reproducible head."""
    conv = torch.nn.Conv2d(model.classifier[1].in_channels, n_classes, kernel_size=1)
    torch.nn.init.normal_(conv.weight, mean=0.0, std=0.01)
    torch.nn.init.zeros_(conv.bias)
    model.classifier[1] = conv
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

