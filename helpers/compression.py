"""Image compression two ways: PCA and autoencoders (chapter 5).

Both squeeze a 32x32 character image, a row ``x: (1024,)`` of gray levels in [0, 1], into a short
code of ``k`` numbers and rebuild the image from it; both are judged by the PSNR of the rebuilt
image. Reading order:

- :func:`psnr` / :func:`psnr_per_image`: peak signal-to-noise ratio, ``10 log10(range^2 / MSE)``
  per image (the same number as ``skimage.metrics.peak_signal_noise_ratio``);
- :class:`PCA` and :func:`fit_pca`: principal components from the SVD of the centred training
  data, with :meth:`PCA.encode` / :meth:`PCA.decode`, the eigenvalues (explained variance) and
  :meth:`PCA.truncate` (one SVD serves every ``k``);
- the homework's autoencoder 1024-32-32-32-1024 (ReLU, ReLU, ReLU, sigmoid), built on
  :mod:`helpers.nn`: :func:`build_autoencoder`, :func:`autoencoder_loss` (summed squared error
  on the input, gradients left in ``params``), :func:`sampled_gradient_check`,
  :func:`train_autoencoder` (momentum ``M = 0.9 M - lr grad; W += M`` from zero accumulators,
  learning rate x0.9 every 20 epochs, validation PSNR after every epoch, reconstructions kept at
  snapshot epochs) and :func:`train_or_load_autoencoder` (cached in ``data_dir()/autoencoders``);
- :func:`count_parameters` for either model;
- :func:`bottleneck_sweep`: autoencoders 1024-32-k-32-1024 against PCA with k components;
- a small convolutional autoencoder in PyTorch (``torch`` is imported only inside these
  functions): :func:`conv_autoencoder`, :func:`train_conv_autoencoder`,
  :func:`train_or_load_conv_autoencoder`, :func:`conv_reconstruct`.

Images are rows ``X: (N, 1024)`` float32 in [0, 1] (``CharacterSet.X``: row-major upright images,
ink dark, background about 1) unless a docstring says otherwise.
"""
from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import config, nn

__all__ = [
    "psnr", "psnr_per_image", "PCA", "fit_pca", "pca_psnr_by_k", "image_rows", "AE_SIZES", "AE_ACTIVATIONS",
    "AE_LAYER_NAMES",    "build_autoencoder", "autoencoder_loss", "sampled_gradient_check", "train_autoencoder",
    "autoencoder_settings", "autoencoder_cache_path", "train_or_load_autoencoder", "reconstruct",
    "count_parameters", "dead_units", "blas_threads", "first_epoch_above", "bottleneck_sweep", "conv_autoencoder",
    "train_conv_autoencoder", "train_or_load_conv_autoencoder", "conv_reconstruct", "fingerprint",
]

AE_SIZES = (1024, 32, 32, 32, 1024)                      # the homework's autoencoder
AE_ACTIVATIONS = ("relu", "relu", "relu", "sigmoid")
AE_LAYER_NAMES = ("layer1", "hidden", "hidden2", "output")  # the homework's parameter names
CACHE_FORMAT = 1  # bump when the cached autoencoder files change meaning


blas_threads = config.blas_threads  # one BLAS-thread policy for the book (see helpers.config)


# ----------------------------------------------------------------------------------------------
# PSNR
# ----------------------------------------------------------------------------------------------
def _as_rows(a: Any, where: str, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[None, :]
    elif a.ndim > 2:
        a = a.reshape(len(a), -1)
    if a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"{where}: {name} has shape {np.shape(a)}; give images as (N, D) rows, (N, H, W) "
                         "or a single image")
    if not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{where}: {name} must be numeric, got dtype {a.dtype}")
    return a


def psnr_per_image(reference: Any, reconstruction: Any, data_range: float = 1.0) -> np.ndarray:
    """PSNR of each image in dB: ``10 log10(data_range**2 / mean((reference - reconstruction)**2))``.

    reference, reconstruction: the same shape, (N, D) rows, (N, H, W) images, or one image (D,)
    / (H, W) (treated as N = 1; a 2-D array is read as N rows). ``data_range``: the span of the
    gray levels (1 for images in [0, 1]). Returns (N,) float64; ``inf`` where an image is
    reproduced exactly. Agrees with ``skimage.metrics.peak_signal_noise_ratio(ref, rec,
    data_range=data_range)`` image by image.
    """
    if np.shape(reference) != np.shape(reconstruction):
        raise ValueError(f"psnr: reference has shape {np.shape(reference)} but reconstruction has "
                         f"{np.shape(reconstruction)}; compare images of the same shape")
    if not np.isscalar(data_range) or not np.isfinite(data_range) or data_range <= 0:
        raise ValueError(f"psnr: data_range must be a positive number (1 for images in [0, 1]), got {data_range!r}")
    a = _as_rows(reference, "psnr", "reference").astype(np.float64)
    b = _as_rows(reconstruction, "psnr", "reconstruction").astype(np.float64)
    mse = np.mean((a - b) ** 2, axis=1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(float(data_range) ** 2 / mse)


def psnr(reference: Any, reconstruction: Any, data_range: float = 1.0) -> float:
    """Mean over images of :func:`psnr_per_image` (the homework's 'average PSNR'), in dB."""
    return float(np.mean(psnr_per_image(reference, reconstruction, data_range)))


# ----------------------------------------------------------------------------------------------
# PCA
# ----------------------------------------------------------------------------------------------
@dataclass
class PCA:
    """Principal components of a data set, from the SVD of its centred rows.

    mean:            (D,) the training mean.
    components:      (k, D) orthonormal rows, the first k right singular vectors (largest first).
    singular_values: (r,) every singular value of the centred training data, r = min(N, D).
    n_samples:       N, the number of training rows.

    ``projection`` is the homework's projection matrix ``P = components.T``: (D, k), rank k;
    a code is ``z = (x - mean) @ P`` and the reconstruction ``x_hat = z @ P.T + mean``.
    """

    mean: np.ndarray
    components: np.ndarray
    singular_values: np.ndarray
    n_samples: int

    @property
    def k(self) -> int:
        """Number of components kept (the code length)."""
        return int(self.components.shape[0])

    @property
    def dim(self) -> int:
        """D, the length of an input row."""
        return int(self.mean.shape[0])

    @property
    def projection(self) -> np.ndarray:
        """P: (D, k), columns the principal directions."""
        return self.components.T

    @property
    def eigenvalues(self) -> np.ndarray:
        """(r,) eigenvalues of the covariance ``(X - mean).T (X - mean) / N`` (divided by N, not
        N - 1), largest first: the variance of the training data along each principal direction.
        With them, the mean squared reconstruction error of the training rows is exactly the sum
        of the discarded ones (:meth:`training_error_identity`)."""
        return self.singular_values.astype(np.float64) ** 2 / self.n_samples

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        """(r,) each eigenvalue over their sum; ``cumsum()[k - 1]`` is the share kept by k components."""
        ev = self.eigenvalues
        return ev / ev.sum()

    @property
    def n_parameters(self) -> int:
        """Learned numbers: the basis (k * D) plus the mean (D)."""
        return self.k * self.dim + self.dim

    def truncate(self, k: int) -> "PCA":
        """The same PCA keeping only the first ``k`` components (1 <= k <= current k)."""
        if int(k) != k or not 1 <= k <= self.k:
            raise ValueError(f"PCA.truncate: k must be an integer in [1, {self.k}] (the components this PCA "
                             f"holds), got {k!r}; fit with more components to go higher")
        return PCA(self.mean, self.components[: int(k)], self.singular_values, self.n_samples)

    def _check_rows(self, X: Any, where: str) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"PCA.{where}: X has shape {X.shape}; expected (N, {self.dim}) rows, one image per row "
                             "(use CharacterSet.X or images.reshape(len(images), -1))")
        return X

    def encode(self, X: Any) -> np.ndarray:
        """Codes ``(X - mean) @ P``: (N, D) -> (N, k), in the PCA's dtype."""
        X = self._check_rows(X, "encode").astype(self.components.dtype, copy=False)
        return (X - self.mean) @ self.components.T

    def decode(self, Z: Any, clip: bool = False) -> np.ndarray:
        """Images from codes ``Z @ P.T + mean``: (N, k) -> (N, D); ``clip=True`` clips to [0, 1]."""
        Z = np.asarray(Z)
        if Z.ndim != 2 or Z.shape[1] != self.k:
            raise ValueError(f"PCA.decode: Z has shape {Z.shape}; expected (N, {self.k}) codes of this "
                             f"{self.k}-component PCA")
        out = Z.astype(self.components.dtype, copy=False) @ self.components + self.mean
        return np.clip(out, 0, 1) if clip else out

    def reconstruct(self, X: Any, clip: bool = False) -> np.ndarray:
        """``decode(encode(X))``: the orthogonal projection of X onto the k-dimensional affine subspace."""
        return self.decode(self.encode(X), clip=clip)

    def discarded_variance(self) -> float:
        """Sum of the eigenvalues of the components not kept."""
        return float(self.eigenvalues[self.k:].sum())


def fit_pca(X: Any, k: int | None = None) -> PCA:
    """PCA of rows ``X: (N, D)`` from the SVD ``X - mean = U S V^T`` (``numpy.linalg.svd``, thin).

    Keeps the first ``k`` right singular vectors (default: all r = min(N, D)); computes in X's
    float dtype (float32 stays float32; use float64 for exact identities) with one BLAS thread
    (:func:`blas_threads`). Raises ValueError for
    a non-2-D X, fewer than 2 rows, NaNs, or k outside [1, r].
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"fit_pca: X has shape {X.shape}; expected (N, D) training rows with N >= 2 "
                         "(flatten images first: images.reshape(len(images), -1))")
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    if not np.isfinite(X).all():
        raise ValueError("fit_pca: X contains NaN or inf; clean it first (np.nan_to_num)")
    r = min(X.shape)
    if k is None:
        k = r
    if isinstance(k, bool) or int(k) != k or not 1 <= k <= r:
        raise ValueError(f"fit_pca: k must be an integer in [1, {r}] (min(N, D) for X of shape {X.shape}), got {k!r}")
    mean = X.mean(axis=0)
    with blas_threads(1):  # see blas_threads: one thread was 3-7x faster on the busy 2-core machine
        _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    return PCA(mean.astype(X.dtype), np.ascontiguousarray(vt[: int(k)]), s, int(X.shape[0]))


def pca_psnr_by_k(pca: PCA, X: Any, data_range: float = 1.0) -> np.ndarray:
    """Mean PSNR of X: (N, D) rebuilt from k = 1, 2, ..., pca.k components, in one pass.

    With an orthonormal basis the squared error after k components is
    ``||x - mean||^2 - sum_{j <= k} z_j^2`` (Pythagoras), so one encoding with all components
    gives every k (in float64). Returns (pca.k,) dB; entry k - 1 equals
    ``psnr(X, pca.truncate(k).reconstruct(X))``.
    """
    X = pca._check_rows(X, "pca_psnr_by_k").astype(np.float64)
    centred = X - pca.mean.astype(np.float64)
    with blas_threads(1):
        Z = centred @ pca.components.T.astype(np.float64)
    resid = np.sum(centred ** 2, axis=1)[:, None] - np.cumsum(Z ** 2, axis=1)
    mse = np.maximum(resid, 0) / X.shape[1]
    with np.errstate(divide="ignore"):
        return np.mean(10 * np.log10(float(data_range) ** 2 / mse), axis=0)


# ----------------------------------------------------------------------------------------------
# The homework's autoencoder (numpy, helpers.nn)
# ----------------------------------------------------------------------------------------------
def build_autoencoder(sizes: Sequence[int] = AE_SIZES, activations: Sequence[str] = AE_ACTIVATIONS,
                      rng: np.random.Generator | int | None = None, dtype: Any = np.float32,
                      names: Sequence[str] | None = None) -> dict:
    """A dense autoencoder as a :func:`helpers.nn.build_mlp` params dict (Xavier weights, zero biases).

    Default: the homework's 1024 -> 32 -> 32 -> 32 -> 1024 with ReLU, ReLU, ReLU, sigmoid and
    the homework's layer names 'layer1', 'hidden', 'hidden2', 'output' (for four layers; other
    depths get 'layer1', ..., 'output'). ``sizes[0]`` must equal ``sizes[-1]`` (it rebuilds its
    input). ``rng``: a Generator or a seed.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 3 or sizes[0] != sizes[-1]:
        raise ValueError(f"build_autoencoder: sizes {sizes} must start and end with the input length and have at "
                         "least one hidden layer, e.g. (1024, 32, 32, 32, 1024)")
    if len(activations) != len(sizes) - 1:
        raise ValueError(f"build_autoencoder: {len(sizes) - 1} layers need {len(sizes) - 1} activations, "
                         f"got {len(activations)}")
    if names is None and len(sizes) == len(AE_SIZES):
        names = AE_LAYER_NAMES
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return nn.build_mlp(sizes, list(activations), rng, dtype=dtype, names=list(names) if names else None)


def _ae_layers(params: dict) -> list[tuple[str, str]]:
    if "layers" not in params:
        raise ValueError("this params dict has no 'layers' list; make the autoencoder with build_autoencoder()")
    return params["layers"]


def _check_ae_input(X: Any, params: dict, where: str) -> np.ndarray:
    layers = _ae_layers(params)
    W0 = params["W" + layers[0][0]]
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != W0.shape[0]:
        raise ValueError(f"{where}: X has shape {X.shape}; this autoencoder takes (N, {W0.shape[0]}) rows "
                         "(CharacterSet.X)")
    return X


def autoencoder_loss(X: Any, params: dict) -> float:
    """Forward and backward pass on a batch: returns the summed squared error ``sum (out - X)**2``
    and leaves ``params['grad_' + key]`` for every weight and bias (the homework's loss, not
    divided by N). X: (N, D) in the network's dtype (converted if not)."""
    X = _check_ae_input(X, params, "autoencoder_loss")
    out = nn.mlp_forward(X, params)
    loss, delta = nn.squared_error(X.astype(out.dtype, copy=False), out)
    nn.mlp_backwards(delta, params)
    return loss


def sampled_gradient_check(loss_fn: Callable[[], float], params: dict, n_per_array: int | None = 200,
                           rng: np.random.Generator | int | None = 0, eps: float = 1e-6) -> dict[str, float]:
    """:func:`helpers.nn.gradient_check` on a random sample of entries of every parameter array.

    Checking all 68,704 parameters of the autoencoder takes 137,408 forward passes; ``n_per_array``
    random entries of each array (all entries when the array is smaller, or ``None`` for all)
    check every layer's formula for a fraction of the cost. ``loss_fn()`` runs forward and
    backward and returns the loss (e.g. ``lambda: autoencoder_loss(X, params)``); parameters must
    be float64. Returns ``{key: relative error}`` over the sampled entries
    (:func:`helpers.nn.relative_error`). Afterwards caches and gradients are the unperturbed ones.
    """
    loss_fn()
    keys = [k for k in params if not k.startswith(("grad_", "m_", "cache_")) and ("grad_" + k) in params]
    if any(params[k].dtype != np.float64 for k in keys):
        raise ValueError("sampled_gradient_check: parameters must be float64 (float32 central differences are too "
                         "noisy); build the network with dtype=np.float64")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    errors = {}
    with blas_threads(1):
        for k in keys:
            errors[k] = _check_entries(loss_fn, params, k, n_per_array, rng, eps)
    loss_fn()
    return errors


def _check_entries(loss_fn: Callable[[], float], params: dict, k: str, n_per_array: int | None,
                   rng: np.random.Generator, eps: float) -> float:
    """Relative error of the analytic gradient of ``params[k]`` on a sample of its entries."""
    p, grad = params[k], np.array(params["grad_" + k], dtype=np.float64)
    flat_idx = (np.arange(p.size) if n_per_array is None or p.size <= n_per_array
                else rng.choice(p.size, int(n_per_array), replace=False))
    numeric = nn.numerical_gradient(loss_fn, p, eps, entries=flat_idx)
    return nn.relative_error(grad.reshape(-1)[flat_idx], numeric)


def reconstruct(params: dict, X: Any) -> np.ndarray:
    """The autoencoder's output for X: (N, D) -> (N, D), values in (0, 1) (sigmoid output)."""
    X = _check_ae_input(X, params, "reconstruct")
    return nn.predict(X, params)


def train_autoencoder(params: dict, X: Any, X_valid: Any = None, *, epochs: int, lr: float, batch_size: int = 36,
                      momentum: float = 0.9, decay: float = 0.9, decay_every: int = 20,
                      rng: np.random.Generator | int | None = 0, snapshot_epochs: Sequence[int] = (),
                      X_snapshot: Any = None, threads: int | None = 1) -> dict:
    """Train an autoencoder to rebuild its input, the homework's way (in place).

    Mini-batches of ``batch_size`` rows in a fresh random order every epoch; loss: summed
    squared error :func:`autoencoder_loss`; update: :func:`helpers.nn.momentum_step`,
    ``M = momentum * M - lr_e * grad; W += M`` with accumulators starting at zero; learning rate
    at epoch e (from 0) ``lr * decay ** (e // decay_every)`` (x0.9 every 20 epochs).
    X: (N, D) training rows; X_valid: (M, D) or None. ``X_snapshot`` (S, D): rows whose
    reconstructions are kept at the epochs in ``snapshot_epochs`` (0 = before training).
    ``threads``: BLAS threads while training (:func:`blas_threads`; default 1, much faster
    on a busy machine for these small products).

    Returns :func:`helpers.nn.fit`'s history (``epoch``, ``lr``, ``train_loss`` and
    ``valid_loss`` as summed squared error per image, ``seconds``) plus ``valid_psnr`` (mean dB
    after each epoch; empty without X_valid), ``valid_psnr0`` (before training) and
    ``snapshots``: {epoch: (S, D) float32 reconstructions}.
    """
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"train_autoencoder: epochs must be a non-negative integer, got {epochs!r}")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"train_autoencoder: lr must be a positive number, got {lr!r}")
    X = _check_ae_input(X, params, "train_autoencoder")
    if X_valid is not None:
        X_valid = _check_ae_input(X_valid, params, "train_autoencoder (X_valid)")
    snaps = sorted({int(e) for e in snapshot_epochs})
    if snaps and (X_snapshot is None or snaps[0] < 0 or snaps[-1] > epochs):
        raise ValueError(f"train_autoencoder: snapshot_epochs {snaps} need X_snapshot rows and must lie in "
                         f"[0, {epochs}]")
    if X_snapshot is not None:
        X_snapshot = _check_ae_input(X_snapshot, params, "train_autoencoder (X_snapshot)")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    snapshots: dict[int, np.ndarray] = {}
    valid_psnr: list[float] = []
    if 0 in snaps:
        snapshots[0] = reconstruct(params, X_snapshot).astype(np.float32)
    psnr0 = psnr(X_valid, reconstruct(params, X_valid)) if X_valid is not None else float("nan")

    def on_epoch(epoch: int, history: dict) -> None:
        if X_valid is not None:  # one pass over the validation set for both its loss and its PSNR
            mse = np.mean((reconstruct(params, X_valid).astype(np.float64) - X_valid) ** 2, axis=1)
            history["valid_loss"][-1] = float(mse.mean() * X_valid.shape[1])
            with np.errstate(divide="ignore"):
                valid_psnr.append(float(np.mean(-10.0 * np.log10(mse))))
        if epoch in snaps:
            snapshots[epoch] = reconstruct(params, X_snapshot).astype(np.float32)

    with blas_threads(threads):  # validation is measured in on_epoch, not by fit
        history = nn.fit(X, X, params, epochs=int(epochs), lr=lr, batch_size=batch_size, loss="squared_error",
                         momentum=momentum, decay=decay, decay_every=decay_every, rng=rng, on_epoch=on_epoch)
    for k in ("train_acc", "valid_acc"):
        history.pop(k, None)
    history.update(valid_psnr=valid_psnr, valid_psnr0=psnr0, snapshots=snapshots)
    return history


def fingerprint(*arrays: np.ndarray) -> str:
    """A short SHA-1 of the arrays' shapes, dtypes and bytes (part of every cache key)."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.data)
    return h.hexdigest()[:12]


def autoencoder_settings(**overrides: Any) -> dict:
    """The homework's training settings, with budgets from :mod:`helpers.config`:
    sizes, activations, epochs (``ae_epochs``), lr (``ae_lr``), batch_size (``ae_batch_size``),
    momentum 0.9, decay 0.9 every 20 epochs, seed 0. Keyword arguments replace entries."""
    s = dict(sizes=list(AE_SIZES), activations=list(AE_ACTIVATIONS), epochs=int(config.budget("ae_epochs")),
             lr=float(config.budget("ae_lr")), batch_size=int(config.budget("ae_batch_size")), momentum=0.9,
             decay=0.9, decay_every=20, seed=0)
    unknown = set(overrides) - set(s)
    if unknown:
        raise ValueError(f"autoencoder_settings: unknown settings {sorted(unknown)}; known: {sorted(s)}")
    s.update(overrides)
    s["sizes"], s["activations"] = [int(v) for v in s["sizes"]], [str(a) for a in s["activations"]]
    return s


def _key(settings: dict, extra: dict) -> str:
    blob = json.dumps({"settings": settings, "extra": extra, "format": CACHE_FORMAT}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def autoencoder_cache_path(settings: dict, X: np.ndarray, X_valid: np.ndarray | None,
                           X_snapshot: np.ndarray | None, snapshot_epochs: Sequence[int]) -> Path:
    """``data_dir()/autoencoders/ae_<sizes>-<hash>.npz``; the hash covers the settings, the
    snapshot epochs and fingerprints of the training, validation and snapshot rows."""
    extra = {"data": fingerprint(X), "valid": None if X_valid is None else fingerprint(X_valid),
             "snap": None if X_snapshot is None else fingerprint(X_snapshot),
             "snapshot_epochs": sorted(int(e) for e in snapshot_epochs)}
    tag = "-".join(str(v) for v in settings["sizes"])
    return config.data_dir() / "autoencoders" / f"ae_{tag}-{_key(settings, extra)}.npz"


_HISTORY_LISTS = ("epoch", "lr", "train_loss", "valid_loss", "seconds", "valid_psnr")


def _save_autoencoder(path: Path, params: dict, history: dict, settings: dict) -> None:
    arrays: dict[str, Any] = {}
    for name, _ in params["layers"]:
        arrays["W" + name], arrays["b" + name] = params["W" + name], params["b" + name]
    for k in _HISTORY_LISTS:
        arrays["history_" + k] = np.asarray(history[k], dtype=np.float64)
    epochs = sorted(history["snapshots"])
    arrays["snapshot_epochs"] = np.asarray(epochs, dtype=np.int64)
    if epochs:
        arrays["snapshots"] = np.stack([history["snapshots"][e] for e in epochs]).astype(np.float32)
    arrays["valid_psnr0"] = np.float64(history["valid_psnr0"])
    arrays["meta"] = np.array(json.dumps({"settings": settings, "layers": params["layers"],
                                          "format": CACHE_FORMAT}))
    config.save_npz(path, **arrays)


def _load_autoencoder(path: Path) -> tuple[dict, dict]:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("format") != CACHE_FORMAT:
            raise ValueError(f"cache format {meta.get('format')} is not {CACHE_FORMAT}")
        layers = [tuple(x) for x in meta["layers"]]
        params: dict = {"layers": layers}
        for name, _ in layers:
            params["W" + name], params["b" + name] = z["W" + name], z["b" + name]
        history: dict = {k: z["history_" + k].tolist() for k in _HISTORY_LISTS}
        history["epoch"] = [int(e) for e in history["epoch"]]
        epochs = z["snapshot_epochs"].tolist()
        history["snapshots"] = {int(e): z["snapshots"][i] for i, e in enumerate(epochs)} if epochs else {}
        history["valid_psnr0"] = float(z["valid_psnr0"])
    return params, history


def train_or_load_autoencoder(X: Any, X_valid: Any = None, *, settings: dict | None = None,
                              snapshot_epochs: Sequence[int] = (), X_snapshot: Any = None, force: bool = False,
                              verbose: bool = True) -> tuple[dict, dict]:
    """The autoencoder trained with ``settings`` (default :func:`autoencoder_settings`) on X, from the
    cache when it exists, else trained now (:func:`train_autoencoder`) and cached atomically.

    The cache key (:func:`autoencoder_cache_path`) covers the settings and the data, so changing
    either trains a new network; ``force=True`` retrains. A damaged cache file is retrained with a
    warning. Returns ``(params, history)``; ``history['cached']`` says whether it was loaded,
    ``history['path']`` where it lives, ``history['seconds'][-1]`` how long training took.
    """
    s = autoencoder_settings() if settings is None else autoencoder_settings(**settings)
    X = np.asarray(X, dtype=np.float32)
    X_valid = None if X_valid is None else np.asarray(X_valid, dtype=np.float32)
    X_snapshot = None if X_snapshot is None else np.asarray(X_snapshot, dtype=np.float32)
    for name, arr in (("X", X), ("X_valid", X_valid), ("X_snapshot", X_snapshot)):
        if arr is not None and (arr.ndim != 2 or arr.shape[1] != s["sizes"][0]):
            raise ValueError(f"train_or_load_autoencoder: {name} has shape {arr.shape}; expected (N, {s['sizes'][0]})")
    path = autoencoder_cache_path(s, X, X_valid, X_snapshot, snapshot_epochs)
    if path.is_file() and not force:
        try:
            params, history = _load_autoencoder(path)
        except Exception as exc:  # damaged or stale: train again and overwrite
            warnings.warn(f"train_or_load_autoencoder: cannot read {path} ({type(exc).__name__}: {exc}); retraining",
                          stacklevel=2)
        else:
            if verbose:
                print(f"loaded the trained autoencoder from {path.name} (delete it to retrain)")
            history.update(cached=True, path=str(path))
            return params, history
    rng = np.random.default_rng(int(s["seed"]))
    params = build_autoencoder(s["sizes"], s["activations"], rng)
    t0 = time.perf_counter()
    history = train_autoencoder(params, X, X_valid, epochs=s["epochs"], lr=s["lr"], batch_size=s["batch_size"],
                                momentum=s["momentum"], decay=s["decay"], decay_every=s["decay_every"], rng=rng,
                                snapshot_epochs=snapshot_epochs, X_snapshot=X_snapshot)
    _save_autoencoder(path, params, history, s)
    if verbose:
        print(f"trained {'-'.join(map(str, s['sizes']))} for {s['epochs']} epochs in "
              f"{time.perf_counter() - t0:.1f} s; cached in {path.name}")
    history.update(cached=False, path=str(path))
    return params, history


# ----------------------------------------------------------------------------------------------
# Counting and diagnosing
# ----------------------------------------------------------------------------------------------
def count_parameters(model: Any) -> int:
    """Learned numbers of a model: for a params dict, every ``W`` and ``b`` of its layers; for a
    :class:`PCA`, basis plus mean (``k * D + D``); for a torch module, its parameters."""
    if isinstance(model, PCA):
        return model.n_parameters
    if isinstance(model, dict):
        return int(sum(model["W" + n].size + model["b" + n].size for n, _ in _ae_layers(model)))
    if hasattr(model, "parameters"):
        return int(sum(p.numel() for p in model.parameters()))
    raise TypeError(f"count_parameters: expected a params dict, a PCA or a torch module, got {type(model).__name__}")


def dead_units(params: dict, X: Any) -> dict[str, int]:
    """For each hidden ReLU layer, how many units output 0 for every row of X (they pass no
    information to the next layer). Returns {layer name: count}."""
    X = _check_ae_input(X, params, "dead_units")
    h, out = X.astype(params["W" + params["layers"][0][0]].dtype), {}
    for name, act in params["layers"][:-1]:
        h = nn.ACTIVATIONS[act][0](h @ params["W" + name] + params["b" + name])
        if act == "relu":
            out[name] = int((h.max(axis=0) <= 0).sum())
    return out


def first_epoch_above(curve: Sequence[float], level: float) -> int | None:
    """The first epoch (1-based index into ``curve``) whose value exceeds ``level`` and stays above it
    to the end; None if the last value is not above."""
    curve = np.asarray(curve, dtype=np.float64)
    if len(curve) == 0 or curve[-1] <= level:
        return None
    below = np.nonzero(curve <= level)[0]
    return int(below[-1] + 2) if len(below) else 1


def bottleneck_sweep(X: Any, X_valid: Any, widths: Sequence[int], pca: PCA, *, hidden: int = 32,
                     settings: dict | None = None, snapshot_epochs: Sequence[int] = (), X_snapshot: Any = None,
                     verbose: bool = True) -> list[dict]:
    """Autoencoders ``D -> hidden -> k -> hidden -> D`` (ReLU, ReLU, ReLU, sigmoid; the homework's
    net when k = hidden = 32) against PCA with k components, for every k in ``widths``.

    Each network is trained with ``settings`` (default :func:`autoencoder_settings`) through
    :func:`train_or_load_autoencoder`, so it is cached; pass the homework run's ``snapshot_epochs``
    and ``X_snapshot`` too and the k = 32 network is loaded from that run's cache file.
    ``pca`` must hold at least max(widths) components. Returns one dict per k: ``k``,
    ``ae_psnr`` and ``pca_psnr`` (mean validation dB), ``ae_params``, ``pca_params``,
    ``ae_curve`` (validation PSNR per epoch), ``crossover_epoch`` (first epoch from which the
    autoencoder stays above PCA, or None), ``seconds`` (training time), ``cached``.
    """
    widths = [int(k) for k in widths]
    if not widths or min(widths) < 1 or max(widths) > pca.k:
        raise ValueError(f"bottleneck_sweep: widths {widths} must lie in [1, {pca.k}] (the PCA holds {pca.k} "
                         "components)")
    base = autoencoder_settings() if settings is None else autoencoder_settings(**settings)
    rows = []
    for k in widths:
        s = dict(base, sizes=[base["sizes"][0], hidden, k, hidden, base["sizes"][-1]])
        params, hist = train_or_load_autoencoder(X, X_valid, settings=s, snapshot_epochs=snapshot_epochs,
                                                 X_snapshot=X_snapshot, verbose=verbose)
        p = pca.truncate(k)
        pca_db = psnr(X_valid, p.reconstruct(X_valid))
        rows.append(dict(k=k, ae_psnr=float(hist["valid_psnr"][-1]), pca_psnr=pca_db,
                         ae_params=count_parameters(params), pca_params=p.n_parameters,
                         ae_curve=list(hist["valid_psnr"]), crossover_epoch=first_epoch_above(hist["valid_psnr"],
                                                                                              pca_db),
                         seconds=float(hist["seconds"][-1]) if hist["seconds"] else 0.0, cached=hist["cached"]))
    return rows


# ----------------------------------------------------------------------------------------------
# A small convolutional autoencoder (PyTorch, imported lazily)
# ----------------------------------------------------------------------------------------------
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
        gen = torch.Generator().manual_seed(int(seed))
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


def train_or_load_conv_autoencoder(X: Any, X_valid: Any = None, *, code: int = 32, channels: int = 8,
                                   epochs: int | None = None, lr: float = 3e-3, batch_size: int = 64, seed: int = 0,
                                   force: bool = False, verbose: bool = True) -> tuple[Any, dict]:
    """:func:`conv_autoencoder` trained by :func:`train_conv_autoencoder` (``epochs`` default
    ``budget('conv_ae_epochs')``), cached with :func:`helpers.torch_models.train_or_load` in
    ``data_dir()/torch/`` under a key of the settings and data fingerprints. Returns (model on
    the CPU in eval mode, history with ``cached``)."""
    from . import torch_models

    epochs = int(config.budget("conv_ae_epochs") if epochs is None else epochs)
    X = np.asarray(X, dtype=np.float32)
    X_valid = None if X_valid is None else np.asarray(X_valid, dtype=np.float32)
    settings = dict(code=int(code), channels=int(channels), epochs=epochs, lr=float(lr), batch_size=int(batch_size),
                    seed=int(seed), data=fingerprint(X), valid=None if X_valid is None else fingerprint(X_valid))

    def fit(model):
        return train_conv_autoencoder(model, X, X_valid, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)

    model, history = torch_models.train_or_load(f"conv_ae{code}", lambda: conv_autoencoder(code, channels), fit,
                                                settings, force=force, verbose=verbose)
    return model.cpu().eval(), history


# ----------------------------------------------------------------------------------------------
# Pictures
# ----------------------------------------------------------------------------------------------
def image_rows(rows: Sequence[tuple[str, Any]], col_titles: Sequence[str] | None = None, title: str | None = None,
               width: float = 8.0, fig: Any = None):
    """A grid of 32x32 images: one row per ``(label, images)``, images (n, 1024) rows or
    (n, 32, 32), gray levels in [0, 1] shown black to white, separated by gray gaps. Every row
    must hold the same n. ``col_titles``: n short titles over the first row. Each row is one
    ``imshow`` of a mosaic (fast enough for slider frames). Returns the matplotlib Figure (or
    draws into ``fig``, e.g. a SubFigure)."""
    import matplotlib.pyplot as plt

    rows = [(label, np.asarray(imgs, dtype=np.float32).reshape(len(imgs), 32, 32)) for label, imgs in rows]
    sizes = {len(imgs) for _, imgs in rows}
    if len(sizes) != 1 or not rows:
        raise ValueError(f"image_rows: every row needs the same number of images, got {sorted(sizes)}")
    n, gap = sizes.pop(), 2
    if fig is None:
        fig = plt.figure(figsize=(width, width * len(rows) * 32 / (n * (32 + gap)) * 1.08 + (0.35 if title else 0.1)))
    axes = np.atleast_1d(fig.subplots(len(rows), 1))
    cmap = plt.get_cmap("gray").with_extremes(bad="0.72")
    centres = np.arange(n) * (32 + gap) + 15.5
    for r, ((label, imgs), ax) in enumerate(zip(rows, axes)):
        mosaic = np.full((32, n * (32 + gap) - gap), np.nan, dtype=np.float32)
        for c in range(n):
            mosaic[:, c * (32 + gap): c * (32 + gap) + 32] = imgs[c]
        ax.imshow(np.ma.masked_invalid(mosaic), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks([])
        ax.set_ylabel(label, fontsize=9)
        for side in ax.spines.values():
            side.set_visible(False)
        if r == 0 and col_titles is not None:
            ax.xaxis.tick_top()
            ax.set_xticks(centres, list(col_titles), fontsize=9)
            ax.tick_params(axis="x", length=0, pad=2)
        else:
            ax.set_xticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(hspace=0.06, left=0.07, right=0.995, bottom=0.02,
                        top=(0.8 if title else 0.9) if col_titles is not None else (0.86 if title else 0.98))
    return fig
