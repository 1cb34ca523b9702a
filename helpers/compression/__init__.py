"""Image compression two ways: PCA and autoencoders (chapter 5).

Both squeeze a 32x32 character image, a row ``x: (1024,)`` of gray levels in [0, 1], into a short
code of ``k`` numbers and rebuild the image from it; both are judged by the PSNR of the rebuilt
image. Images are rows ``X: (N, 1024)`` float32 in [0, 1] (``CharacterSet.X``: row-major upright
images, ink dark, background about 1) unless a docstring says otherwise.

Where things are (read in this order):

- ``metrics.py``      :func:`psnr`, :func:`psnr_per_image`: ``10 log10(range^2 / MSE)`` per image
  (the same number as ``skimage.metrics.peak_signal_noise_ratio``).
- ``pca.py``          :func:`pca_by_svd` (the SVD math the chapter shows), :class:`PCA` (encode,
  decode, eigenvalues, truncate: one SVD serves every k), :func:`fit_pca`, :func:`pca_psnr_by_k`.
- ``autoencoder.py``  the homework's 1024-32-32-32-1024 on :mod:`helpers.nn`:
  :func:`build_autoencoder`, :func:`autoencoder_forward`, :func:`autoencoder_backward`,
  :func:`train_autoencoder_epoch` (the three the chapter shows), :func:`autoencoder_loss`,
  :func:`sampled_gradient_check`, :func:`reconstruct`, :func:`train_autoencoder` (schedule,
  validation PSNR, snapshots around the epochs).
- ``cache.py``        :func:`autoencoder_settings`, :func:`train_or_load_autoencoder` (cached in
  ``data_dir()/autoencoders`` under a key of the settings, the data and :func:`code_digest`, a hash
  of the training code), :func:`autoencoder_cache_path`, :func:`fingerprint`, :func:`code_sources`.
- ``studies.py``      :func:`count_parameters`, :func:`dead_units`, :func:`projection_error`,
  :func:`subspace_overlap`, :func:`linear_autoencoder_study` (a linear autoencoder finding PCA's subspace),
  :func:`first_epoch_above`, :func:`bottleneck_sweep` (autoencoders 1024-32-k-32-1024 against PCA
  with k components).
- ``conv.py``         a small convolutional autoencoder in PyTorch (torch imported lazily):
  :func:`conv_autoencoder`, :func:`dense_torch_autoencoder` (the control: the homework's network
  with the same recipe), :func:`train_conv_autoencoder`, :func:`train_or_load_conv_autoencoder`,
  :func:`conv_reconstruct`, :data:`CONV_AE_RECIPE`.
- ``figures.py``      :func:`image_rows`, rows of 32x32 images for the chapter's figures;
  :func:`component_images`, principal components as images (sign fixed, ink dark).

The momentum update ``M = 0.9 M - lr grad; W += M`` is :func:`helpers.nn.momentum_step`.
"""
from __future__ import annotations

from .. import config
from .autoencoder import (AE_ACTIVATIONS, AE_LAYER_NAMES, AE_SIZES, autoencoder_backward, autoencoder_forward,
                          autoencoder_loss, build_autoencoder, reconstruct, sampled_gradient_check,
                          train_autoencoder, train_autoencoder_epoch)
from .cache import (autoencoder_cache_path, autoencoder_settings, code_digest, code_sources, fingerprint,
                    train_or_load_autoencoder)
from .conv import (CONV_AE_RECIPE, conv_autoencoder, conv_reconstruct, dense_torch_autoencoder, train_conv_autoencoder,
                   train_or_load_conv_autoencoder)
from .figures import component_images, image_rows
from .metrics import psnr, psnr_per_image
from .pca import PCA, fit_pca, pca_by_svd, pca_psnr_by_k
from .studies import (bottleneck_sweep, count_parameters, dead_units, first_epoch_above, linear_autoencoder_study,
                      projection_error, subspace_overlap)

blas_threads = config.blas_threads  # one BLAS-thread policy for the book (see helpers.config)

__all__ = [
    "psnr", "psnr_per_image", "PCA", "pca_by_svd", "fit_pca", "pca_psnr_by_k", "image_rows", "AE_SIZES",
    "AE_ACTIVATIONS", "AE_LAYER_NAMES", "build_autoencoder", "autoencoder_forward", "autoencoder_backward",
    "train_autoencoder_epoch", "autoencoder_loss", "sampled_gradient_check", "train_autoencoder",
    "autoencoder_settings", "autoencoder_cache_path", "train_or_load_autoencoder", "reconstruct",
    "count_parameters", "dead_units", "blas_threads", "first_epoch_above", "bottleneck_sweep", "conv_autoencoder",
    "train_conv_autoencoder", "train_or_load_conv_autoencoder", "conv_reconstruct", "fingerprint", "code_digest",
    "code_sources", "dense_torch_autoencoder", "CONV_AE_RECIPE", "component_images", "subspace_overlap",
    "projection_error", "linear_autoencoder_study",
]
