"""PSNR, the score of every compression in chapter 5.

``psnr = 10 log10(range^2 / MSE)`` per image, in dB: the same number as
``skimage.metrics.peak_signal_noise_ratio``. Higher is better; each halving of the mean squared
error adds about 3 dB, and an exact copy scores ``inf``.
"""
from __future__ import annotations

from typing import Any

import numpy as np


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
