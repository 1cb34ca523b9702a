"""Comparing the two compressors: parameter counts, dead units, the linear autoencoder, and the
bottleneck sweep.

:func:`count_parameters` counts the learned numbers of a PCA, a numpy autoencoder or a torch
module; :func:`dead_units` finds ReLU units that never fire; :func:`subspace_overlap` measures how
much two subspaces agree and :func:`linear_autoencoder_study` watches a linear autoencoder find
PCA's; :func:`bottleneck_sweep` trains autoencoders 1024-32-k-32-1024 against PCA with k
components and :func:`first_epoch_above` says from which epoch the network stays ahead.
"""
from __future__ import annotations

from typing import Any, Sequence

import time

import numpy as np

from .. import config, nn, parallel
from .autoencoder import _ae_layers, _check_ae_input, build_autoencoder, train_autoencoder_epoch
from .cache import autoencoder_settings, train_or_load_autoencoder
from .metrics import psnr
from .pca import PCA


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


def subspace_overlap(A: Any, B: Any) -> float:
    """How much of the span of the rows of A lies in the span of the rows of B, in [0, 1].

    A: (a, D), B: (b, D), any bases (orthonormalized here). Returns ``||Q_A Q_B^T||_F^2 / a``, the
    mean squared cosine of the principal angles: 1 when span A lies inside span B (the same subspace
    when a = b), 0 when they are orthogonal, about b / D for a random B.
    """
    qa = np.linalg.qr(np.asarray(A, dtype=np.float64).T)[0]          # (D, a) orthonormal columns
    qb = np.linalg.qr(np.asarray(B, dtype=np.float64).T)[0]
    return float(np.sum((qa.T @ qb) ** 2) / qa.shape[1])


def projection_error(X: Any, rows: Any, mean: Any) -> float:
    """Mean squared distance of the rows of ``X - mean`` from the span of ``rows`` (k, D), in float64:
    the training error of the best reconstruction from that subspace. With PCA's components and
    mean it is the sum of the discarded eigenvalues; with any other k rows it is at least that."""
    Xc = np.asarray(X, dtype=np.float64) - np.asarray(mean, dtype=np.float64)
    Q = np.linalg.qr(np.asarray(rows, dtype=np.float64).T)[0]            # (D, k) orthonormal basis
    with config.blas_threads(1):
        kept = np.sum((Xc @ Q) ** 2)
    return float((np.sum(Xc ** 2) - kept) / len(Xc))


def linear_autoencoder_study(X: Any, pca: PCA, *, epochs: int, lr: float, batch_size: int = 36,
                             momentum: float = 0.9, seed: int = 0) -> dict:
    """Train a linear autoencoder ``D -> k -> D`` (no activations, k = ``pca.k``) the homework's way
    on the centred rows ``X - pca.mean`` and watch it approach PCA.

    Each epoch is :func:`.autoencoder.train_autoencoder_epoch` (summed squared error, momentum, a
    constant ``lr``). After every epoch it records ``overlap``, the :func:`subspace_overlap` of the
    decoder's k weight rows (the directions every reconstruction is built from) with PCA's k
    components, and ``error_ratio``, the network's mean squared error on X over PCA's (at least 1
    by the PCA theorem, since X are the rows ``pca`` was fitted on).
    Returns lists ``epoch``, ``overlap``, ``error_ratio``, ``seconds`` (cumulative), and
    ``overlap0``, ``error_ratio0`` (before training), ``random_overlap`` (k / D).
    """
    X = np.asarray(X, dtype=np.float32)
    centred = X - pca.mean.astype(np.float32)
    k, D = pca.k, pca.dim
    c64 = centred.astype(np.float64)
    V = pca.components.astype(np.float64)
    best = float(np.mean(np.sum((c64 - c64 @ V.T @ V) ** 2, axis=1)))   # PCA's error, in float64
    params = build_autoencoder([D, k, D], ["linear", "linear"], rng=config.seeded(seed))
    rng = np.random.default_rng(config.seeded(seed))

    def measure() -> tuple[float, float]:
        rec = nn.predict(centred, params).astype(np.float64)
        err = float(np.mean(np.sum((rec - c64) ** 2, axis=1)))
        return subspace_overlap(params["Woutput"], pca.components), err / best

    overlap0, ratio0 = measure()
    out: dict[str, list] = {"epoch": [], "overlap": [], "error_ratio": [], "seconds": []}
    elapsed = 0.0
    with config.blas_threads(1):
        for e in range(int(epochs)):
            t0 = time.perf_counter()
            train_autoencoder_epoch(centred, params, lr, batch_size, momentum, rng)
            elapsed += time.perf_counter() - t0
            overlap, ratio = measure()
            for key, v in zip(out, (e + 1, overlap, ratio, elapsed)):
                out[key].append(v)
    return dict(out, overlap0=overlap0, error_ratio0=ratio0, random_overlap=k / D)


def first_epoch_above(curve: Sequence[float], level: float) -> int | None:
    """The first epoch (1-based index into ``curve``) whose value exceeds ``level`` and stays above it
    to the end; None if the last value is not above."""
    curve = np.asarray(curve, dtype=np.float64)
    if len(curve) == 0 or curve[-1] <= level:
        return None
    below = np.nonzero(curve <= level)[0]
    return int(below[-1] + 2) if len(below) else 1


def _sweep_train(settings: dict) -> tuple[dict, dict]:
    """One network of :func:`bottleneck_sweep` (in a worker of :func:`helpers.parallel.pmap`)."""
    c = parallel.context()
    return train_or_load_autoencoder(c["X"], c["X_valid"], settings=settings, snapshot_epochs=c["snapshot_epochs"],
                                     X_snapshot=c["X_snapshot"], verbose=c["verbose"])


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
    # one network per width, each seeded and cached: they train on all cores (helpers.parallel)
    trained = parallel.pmap(_sweep_train, [dict(base, sizes=[base["sizes"][0], hidden, k, hidden, base["sizes"][-1]])
                                           for k in widths],
                            ctx=dict(X=X, X_valid=X_valid, snapshot_epochs=snapshot_epochs, X_snapshot=X_snapshot,
                                     verbose=verbose))
    for k, (params, hist) in zip(widths, trained):
        p = pca.truncate(k)
        pca_db = psnr(X_valid, p.reconstruct(X_valid))
        rows.append(dict(k=k, ae_psnr=float(hist["valid_psnr"][-1]), pca_psnr=pca_db,
                         ae_params=count_parameters(params), pca_params=p.n_parameters,
                         ae_curve=list(hist["valid_psnr"]),
                         crossover_epoch=first_epoch_above(hist["valid_psnr"], pca_db),
                         seconds=float(hist["seconds"][-1]) if hist["seconds"] else 0.0, cached=hist["cached"]))
    return rows
