"""A small convolutional autoencoder in PyTorch, the comparison at the end of chapter 5, and its
control: the homework's dense network trained with the same PyTorch recipe.

``torch`` is imported only inside these functions, so ``import helpers.compression`` stays light.
:func:`conv_autoencoder` builds the model, :func:`dense_torch_autoencoder` the homework's
1024-32-32-32-1024 as a torch module with the same interface, :func:`train_conv_autoencoder` trains
either (Adam, one-cycle schedule, mean squared error), :func:`train_or_load_conv_autoencoder`
caches the trained model with :func:`helpers.torch_models.train_or_load`, and
:func:`conv_reconstruct` runs it on image rows. :data:`CONV_AE_RECIPE` holds the recipe's defaults.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import config
from .autoencoder import AE_SIZES
from .cache import code_digest, fingerprint
from .metrics import psnr

# The PyTorch recipe of both models here (defaults of train_or_load_conv_autoencoder): the peak
# learning rate of the one-cycle schedule, the mini-batch size and the base channel count.
CONV_AE_RECIPE = dict(lr=3e-3, batch_size=64, channels=8)


def conv_autoencoder(code: int = 32, channels: int = 8):
    """A convolutional autoencoder for (N, 1, 32, 32) images in [0, 1] with a ``code``-number code.

    encoder: three 3x3 convolutions with stride 2 and ReLU (1 -> c -> 2c -> 4c channels,
    32 -> 16 -> 8 -> 4 pixels), then a linear map of the 4c x 4 x 4 features to ``code`` numbers
    (no activation: the code may be negative, unlike the dense net's ReLU code);
    decoder: linear ``code -> 4c x 4 x 4`` with ReLU, three 4x4 transposed convolutions with
    stride 2 (4c -> 2c -> c -> 1 channels, 4 -> 8 -> 16 -> 32 pixels), ReLU between them and a
    sigmoid at the end. ``model.encoder(x)`` gives codes (N, code); ``model(x)`` reconstructions
    (N, 1, 32, 32). With c = 8 and code = 32 it has 49,593 parameters.
    """
    import torch.nn as tnn
    from collections import OrderedDict

    if int(code) != code or code < 1 or int(channels) != channels or channels < 1:
        raise ValueError(f"conv_autoencoder: code and channels must be positive integers, got {code!r}, {channels!r}")
    c, code = int(channels), int(code)
    encoder = tnn.Sequential(
        tnn.Conv2d(1, c, 3, 2, 1), tnn.ReLU(), tnn.Conv2d(c, 2 * c, 3, 2, 1), tnn.ReLU(),
        tnn.Conv2d(2 * c, 4 * c, 3, 2, 1), tnn.ReLU(), tnn.Flatten(), tnn.Linear(4 * c * 16, code))
    decoder = tnn.Sequential(
        tnn.Linear(code, 4 * c * 16), tnn.ReLU(), tnn.Unflatten(1, (4 * c, 4, 4)),
        tnn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1), tnn.ReLU(), tnn.ConvTranspose2d(2 * c, c, 4, 2, 1), tnn.ReLU(),
        tnn.ConvTranspose2d(c, 1, 4, 2, 1), tnn.Sigmoid())
    return tnn.Sequential(OrderedDict(encoder=encoder, decoder=decoder))


def dense_torch_autoencoder(sizes: Any = AE_SIZES):
    """The homework's dense autoencoder (default 1024-32-32-32-1024; ReLU, ReLU, ReLU, sigmoid) as a
    torch module with the interface of :func:`conv_autoencoder`: (N, 1, 32, 32) images in, the same
    shape out, ``model.encoder(x)`` the (N, sizes[2]) code after the middle ReLU. PyTorch's default
    initialization (not the homework's Xavier one). 68,704 parameters, as the numpy network."""
    import torch.nn as tnn
    from collections import OrderedDict

    sizes = [int(v) for v in sizes]
    if len(sizes) != 5 or sizes[0] != 1024 or sizes[-1] != 1024:
        raise ValueError(f"dense_torch_autoencoder: sizes {sizes} must be (1024, h, k, h, 1024)")
    encoder = tnn.Sequential(tnn.Flatten(), tnn.Linear(sizes[0], sizes[1]), tnn.ReLU(),
                             tnn.Linear(sizes[1], sizes[2]), tnn.ReLU())
    decoder = tnn.Sequential(tnn.Linear(sizes[2], sizes[3]), tnn.ReLU(), tnn.Linear(sizes[3], sizes[4]), tnn.Sigmoid(),
                             tnn.Unflatten(1, (1, 32, 32)))
    return tnn.Sequential(OrderedDict(encoder=encoder, decoder=decoder))


def _images(X: Any, where: str):
    import torch

    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 2 and X.shape[1] == 1024:
        X = X.reshape(-1, 1, 32, 32)
    elif X.ndim == 3 and X.shape[1:] == (32, 32):
        X = X[:, None]
    if X.ndim != 4 or X.shape[1:] != (1, 32, 32):
        raise ValueError(f"{where}: images have shape {X.shape}; expected (N, 1024) rows, (N, 32, 32) or "
                         "(N, 1, 32, 32)")
    return torch.from_numpy(np.ascontiguousarray(X))


def conv_reconstruct(model: Any, X: Any, batch_size: int = 1024) -> np.ndarray:
    """Reconstructions of X ((N, 1024) rows or (N, 32, 32) images) as (N, 1024) float32 rows."""
    import torch

    x = _images(X, "conv_reconstruct")
    dev = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        out = [model(x[i:i + batch_size].to(dev)).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out).reshape(len(x), -1).numpy()


def train_conv_autoencoder(model: Any, X: Any, X_valid: Any = None, *, epochs: int, lr: float = 3e-3,
                           batch_size: int = 64, seed: int = 0, threads: int | None = None,
                           device: Any = None) -> dict:
    """Train a (convolutional) autoencoder in PyTorch on the mean squared error, with Adam and a
    one-cycle learning-rate schedule peaking at ``lr``. X, X_valid: (N, 1024) rows or (N, 32, 32)
    images in [0, 1]. ``threads``: torch CPU threads (default ``BOOK_TORCH_THREADS`` or 1).

    Returns the history: ``epoch``, ``train_loss`` (mean squared error per pixel over the epoch),
    ``valid_psnr`` (mean dB after each epoch), ``seconds`` (cumulative).
    """
    import os

    import torch

    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"train_conv_autoencoder: epochs must be a positive integer, got {epochs!r}")
    n_threads = int(threads if threads is not None else os.environ.get("BOOK_TORCH_THREADS", "1"))
    old_threads = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        dev = torch.device(device) if device is not None else config.torch_device()
        model.to(dev)
        x = _images(X, "train_conv_autoencoder").to(dev)
        xv = None if X_valid is None else np.asarray(X_valid, dtype=np.float32).reshape(len(X_valid), -1)
        gen = config.torch_generator(int(seed))
        steps = int(epochs) * ((len(x) + batch_size - 1) // batch_size)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
        history: dict[str, list] = {"epoch": [], "train_loss": [], "valid_psnr": [], "seconds": []}
        elapsed = 0.0
        for e in range(int(epochs)):
            t0 = time.perf_counter()
            model.train()
            order, total = torch.randperm(len(x), generator=gen).to(dev), 0.0
            for i in range(0, len(x), batch_size):
                xb = x[order[i:i + batch_size]]
                loss = torch.mean((model(xb) - xb) ** 2)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(xb)
            elapsed += time.perf_counter() - t0
            history["epoch"].append(e + 1)
            history["train_loss"].append(total / len(x))
            history["valid_psnr"].append(psnr(xv, conv_reconstruct(model, xv)) if xv is not None else float("nan"))
            history["seconds"].append(elapsed)
        model.eval()
        return history
    finally:
        torch.set_num_threads(old_threads)


def train_or_load_conv_autoencoder(X: Any, X_valid: Any = None, *, code: int = 32,
                                   channels: int = CONV_AE_RECIPE["channels"], epochs: int | None = None,
                                   lr: float = CONV_AE_RECIPE["lr"], batch_size: int = CONV_AE_RECIPE["batch_size"],
                                   seed: int = 0, arch: str = "conv", force: bool = False,
                                   verbose: bool = True) -> tuple[Any, dict]:
    """:func:`conv_autoencoder` (``arch='conv'``) or the control :func:`dense_torch_autoencoder`
    1024-32-code-32-1024 (``arch='dense'``; ``channels`` unused) trained by
    :func:`train_conv_autoencoder` (``epochs`` default ``budget('conv_ae_epochs')``), cached with
    :func:`helpers.torch_models.train_or_load` in ``data_dir()/torch/`` under a key of the settings,
    the data fingerprints and a hash of this module's model and training code
    (:func:`.cache.code_digest`). Returns (model on the CPU in eval mode, history with ``cached``
    and ``settings``: arch, code, channels, epochs, lr, batch_size, seed)."""
    from .. import torch_models

    if arch not in ("conv", "dense"):
        raise ValueError(f"train_or_load_conv_autoencoder: arch must be 'conv' or 'dense', got {arch!r}")
    epochs = int(config.budget("conv_ae_epochs") if epochs is None else epochs)
    X = np.asarray(X, dtype=np.float32)
    X_valid = None if X_valid is None else np.asarray(X_valid, dtype=np.float32)
    recipe = dict(arch=arch, code=int(code), channels=int(channels), epochs=epochs, lr=float(lr),
                  batch_size=int(batch_size), seed=int(seed))
    build = conv_autoencoder if arch == "conv" else dense_torch_autoencoder
    settings = dict(recipe, data=fingerprint(X), valid=None if X_valid is None else fingerprint(X_valid),
                    training_code=code_digest(build, train_conv_autoencoder))

    def fit(model):
        return train_conv_autoencoder(model, X, X_valid, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)

    def make():
        if arch == "conv":
            return conv_autoencoder(code, channels)
        return dense_torch_autoencoder((1024, 32, code, 32, 1024))

    name = f"conv_ae{code}" if arch == "conv" else f"dense_ae{code}"
    model, history = torch_models.train_or_load(name, make, fit, settings, force=force, verbose=verbose)
    return model.cpu().eval(), dict(history, settings=recipe)

