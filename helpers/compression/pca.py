"""PCA: the best linear code of k numbers, from one SVD.

Reading order: :func:`pca_by_svd` (the math, what chapter 5 shows), :class:`PCA` (the fitted
basis with :meth:`PCA.encode` / :meth:`PCA.decode`, the eigenvalues and :meth:`PCA.truncate`:
one SVD serves every k), :func:`fit_pca` (checks its input, then calls :func:`pca_by_svd`) and
:func:`pca_psnr_by_k` (the PSNR for every k in one pass).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import config


def pca_by_svd(X, k):
    """Principal components of the rows of X from the SVD of the centred data ``X - mean = U S V^T``.

    X: (N, D) float training rows, one image per row. Returns
    mean: (D,) the average row;
    components: (k, D) the first k rows of V^T, orthonormal, largest variance first;
    singular_values: (min(N, D),) the diagonal of S, largest first (the variance along
    principal direction j is ``singular_values[j]**2 / N``).
    A code is ``z = (x - mean) @ components.T``: (k,); the image ``x_hat = z @ components + mean``.
    """
    mean = X.mean(axis=0)
    _, singular_values, vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, vt[:k], singular_values


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
        of the discarded ones (:meth:`discarded_variance`)."""
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
    """PCA of rows ``X: (N, D)`` by :func:`pca_by_svd` (``numpy.linalg.svd``, thin).

    Keeps the first ``k`` right singular vectors (default: all r = min(N, D)); computes in X's
    float dtype (float32 stays float32; use float64 for exact identities) with one BLAS thread
    (:func:`helpers.config.blas_threads`). Raises ValueError for a non-2-D X, fewer than 2 rows,
    NaNs, or k outside [1, r].
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
    with config.blas_threads(1):  # one thread was 3-7x faster on the busy 2-core machine
        mean, components, singular_values = pca_by_svd(X, int(k))
    return PCA(mean.astype(X.dtype), np.ascontiguousarray(components), singular_values, int(X.shape[0]))


def pca_psnr_by_k(pca: PCA, X: Any, data_range: float = 1.0) -> np.ndarray:
    """Mean PSNR of X: (N, D) rebuilt from k = 1, 2, ..., pca.k components, in one pass.

    With an orthonormal basis the squared error after k components is
    ``||x - mean||^2 - sum_{j <= k} z_j^2`` (Pythagoras), so one encoding with all components
    gives every k (in float64). Returns (pca.k,) dB; entry k - 1 equals
    ``psnr(X, pca.truncate(k).reconstruct(X))``.
    """
    X = pca._check_rows(X, "pca_psnr_by_k").astype(np.float64)
    centred = X - pca.mean.astype(np.float64)
    with config.blas_threads(1):
        Z = centred @ pca.components.T.astype(np.float64)
    resid = np.sum(centred ** 2, axis=1)[:, None] - np.cumsum(Z ** 2, axis=1)
    mse = np.maximum(resid, 0) / X.shape[1]
    with np.errstate(divide="ignore"):
        return np.mean(10 * np.log10(float(data_range) ** 2 / mse), axis=0)
