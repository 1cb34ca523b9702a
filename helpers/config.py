"""Run settings for the whole book: one switch, one place for budgets.

``BOOK_MODE=quick`` (set by the test suite) uses small budgets so every notebook runs in
seconds; ``BOOK_MODE=full`` (the default, used to build the book) uses the real budgets.
Every epoch count, data size and sweep length a notebook uses is read with :func:`budget`,
so quick and full runs share one notebook.

Other settings:

- ``BOOK_DATA_DIR``  where generated data, trained weights and checkpoints are cached
  (default: ``data/`` at the repository root).
- ``BOOK_DEVICE``    force the torch device (``cpu``, ``cuda``); default: GPU if present.
- ``BOOK_SEED``      offsets every seed in the book (default 0): data drawing, initial weights, batch
  order, torch, the OCR test pages. Each seed caches its results apart (:func:`cache_dir`), so
  another seed never reuses seed 0's data, models or executed notebooks.
- ``BOOK_CACHE_DIR`` where this seed's generated sets, trained models and results are cached
  (default: ``data_dir()`` for seed 0, ``data_dir()/seed<N>`` for ``BOOK_SEED=N``).
"""
from __future__ import annotations

import os
import random
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

MODES = ("quick", "full")
ROOT = Path(__file__).resolve().parent.parent

# name: (quick value, full value, what it is).  Chapters add their budgets here, nowhere else.
BUDGETS: dict[str, tuple[Any, Any, str]] = {
    # data (helpers.data)
    "chars_train_per_class": (40, 300, "generated training images per class (NIST36: 300)"),
    "chars_valid_per_class": (15, 100, "generated validation images per class (NIST36: 100)"),
    "chars_test_per_class": (15, 50, "generated test images per class (NIST36: 50)"),
    "spread_seeds": ([0, 1], [0, 1, 2], "training seeds behind each headline result's spread (chapters 3, 4, 6; 0 is the book's model)"),
    "redraw_seeds": ([0], [0, 1, 2], "MLP seeds per row of the generator study (version 3 against version 2's settings)"),
    # interactive figures (helpers.interactive)
    "max_frames": (24, 60, "most pre-rendered frames per static interactive figure"),
    "figure_dpi": (60, 80, "resolution of pre-rendered slider frames"),
    # chapter 2 (backprop)
    "backprop_depths": ([3, 10], [3, 5, 10, 20], "network depths on the vanishing-gradient slider (chapter 2)"),
    "backprop_init_scales": ([0.5, 1.0, 2.0], [0.5, 1.0, 1.4142135623730951, 2.0, 4.0],
                             "init scales (x Xavier bound) on the chapter 2 sliders"),
    "backprop_width": (64, 128, "width of the deep networks in the chapter 2 gradient/activation experiments"),
    "backprop_samples": (200, 256, "inputs pushed through those networks (chapter 2)"),
    "backprop_toy_epochs": (500, 500, "passes over the 40-point toy set (homework: 500)"),
    "backprop_toy_snapshots": ([0, 20, 500], [0, 5, 20, 100, 500], "epochs on the chapter 2 symmetry slider"),
    # chapter 1 (softmax)
    "softmax_region_px": (90, 160, "pixels per side of the 3-class region plots"),
    # chapter 3 (helpers.nn: train_mlp / chapter3_mlp)
    "mlp_epochs": (50, 50, "epochs of the chapter-3 MLP 1024-64-36 (homework: 30-50)"),
    "mlp_lr": (6e-3, 6e-3, "chapter-3 SGD learning rate (on the batch-summed loss, batch 32; best of a sweep)"),
    "mlp_batch_size": (32, 32, "chapter-3 mini-batch size"),
    "mlp_lr_factors": ([0.1, 0.3, 1, 3, 10], [0.1, 0.3, 1, 3, 10],
                       "learning-rate study: multiples of mlp_lr (chapter 3; 1 is the chapter-3 network)"),
    # chapter 4 (helpers.ocr)
    "ocr_pages": (3, 24, "generated test photos per model in the chapter-4 accuracy table"),
    "ocr_page_size": ((1200, 1600), (3000, 4000), "(H, W) of the chapter-4 test photos (full: 12 megapixels)"),
    "ocr_hard_per_kind": (1, 3, "hard photos of each kind (helpers.ocr.HARD_KINDS: plain, desk, touching, slanted, thin pen, small sheet, pen across, page edge, digits, wide letters; chapter 4)"),
    "ocr_sweep_levels": (3, 7, "degradation levels per curve on the chapter-4 robustness figure"),
    "ocr_sweep_pages": (1, 4, "pages averaged per degradation level (chapter 4)"),
    "ocr_demo_size": ((900, 1200), (1200, 1600), "(H, W) of the chapter-4 slider and degradation-curve photos"),
    # chapter 5 (helpers.compression)
    "ae_epochs": (30, 100, "epochs of the chapter-5 autoencoder 1024-32-32-32-1024 (homework: 100)"),
    "ae_lr": (3e-5, 3e-5, "chapter-5 autoencoder learning rate (summed squared error, momentum 0.9; homework)"),
    "ae_batch_size": (36, 36, "chapter-5 autoencoder mini-batch size (homework: 36)"),
    "ae_snapshot_epochs": ([0, 1, 5, 10, 20, 30], [0, 1, 2, 5, 10, 20, 40, 60, 80, 100],
                           "epochs whose reconstructions the chapter-5 slider shows"),
    "ae_gradcheck_entries": (40, 200, "entries per parameter array in the chapter-5 autoencoder gradient check"),
    "pca_components": ([1, 2, 4, 8, 16, 32, 64, 128, 256],
                       [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256],
                       "numbers of PCA components on the chapter-5 slider"),
    "ae_sweep_widths": ([8, 32], [8, 16, 24, 32], "bottleneck widths k of the 1024-32-k-32-1024 sweep (chapter 5)"),
    "conv_ae_epochs": (3, 6, "epochs of the chapter-5 convolutional autoencoder (Adam, one-cycle)"),
    # chapter 6 (helpers.torch_models)
    # quick: 6, not 2. After 2 epochs of 1,440 images the CNN is on the steep part of its learning curve
    # (validation 44-57% over seeds 0-2): a kernel's rounding moved it by tens of points (71% page accuracy on
    # another machine). After 6 (5 s) it is on the plateau, 81-87% for every seed.
    "cnn_epochs": (6, 12, "epochs of the small CNN on the character set (chapter 6, ocr --model cnn)"),
    "squeeze_pretrain_epochs": (1, 5, "epochs of SqueezeNet 1.1 pretraining on the character set (chapter 6)"),
    # chapter 6 notebook (helpers.torch_models, fine-tuning experiments section)
    "torch_mlp_epochs": (2, 5, "epochs of the numpy-vs-PyTorch MLP comparison on identical batches (chapter 6)"),
    "digits_cnn_epochs": (1, 8, "epochs of the small CNN trained on the 3,000-digit MNIST pool (chapter 6)"),
    "ft_labels_per_class": ([1, 10], [1, 5, 10, 50], "labelled MNIST digits per class in the fine-tuning study"),
    "ft_seeds": (1, 3, "labelled subsets (and head initialisations) per point of the fine-tuning study"),
    "ft_steps": (15, 60, "Adam steps of every probe / fine-tune / from-scratch run (chapter 6)"),
    "ft_long_factor": (2, 4, "times ft_steps of chapter 6's longer-budget check (10 labels per class, one repetition)"),
    "ft_eval_per_class": (20, 100, "held-out MNIST digits per class that score the fine-tuning runs"),
    "ft_curve_per_class": (10, 15, "held-out MNIST digits per class behind the fine-tuning curves"),
    "ft_valid_per_class": (10, 30, "pool digits per class set aside to choose learning rates and stop early (chapter 6)"),
    "flowers_epochs": (1, 10, "epochs of each flowers17 run, fine-tuned and from scratch (chapter 6, real files only)"),
}


class ConfigError(ValueError):
    """A setting has a value the book cannot use."""


def mode() -> str:
    """The current run mode, ``'quick'`` or ``'full'`` (read from ``BOOK_MODE`` on every call)."""
    value = os.environ.get("BOOK_MODE", "full").strip().lower() or "full"
    if value not in MODES:
        raise ConfigError(
            f"BOOK_MODE={value!r} is not a mode; use BOOK_MODE=quick (small budgets, for tests) "
            "or BOOK_MODE=full (the real budgets, the default)"
        )
    return value


def is_quick() -> bool:
    """True when running with the small test budgets."""
    return mode() == "quick"


def budget(name: str) -> Any:
    """The value of budget ``name`` for the current mode, e.g. ``budget('mlp_epochs')``."""
    try:
        quick, full, _ = BUDGETS[name]
    except KeyError:
        known = ", ".join(sorted(BUDGETS))
        raise ConfigError(f"unknown budget {name!r}; add it to helpers.config.BUDGETS (known: {known})") from None
    return quick if is_quick() else full


def budgets_table() -> list[tuple[str, Any, Any, str]]:
    """All budgets as rows ``(name, quick, full, description)`` for documentation."""
    return [(k, q, f, d) for k, (q, f, d) in sorted(BUDGETS.items())]


# BOOK_SEED=n moves every seed s of the book to s + n * SEED_STRIDE: far apart, so seed 1's seed 0
# is not seed 0's seed 1, and BOOK_SEED=0 leaves every seed (and so every published number) as it is.
SEED_STRIDE = 1_000_003


def book_seed() -> int:
    """The book's seed switch ``BOOK_SEED`` (default 0), read on every call."""
    value = os.environ.get("BOOK_SEED", "0").strip() or "0"
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0 or str(n) != value.lstrip("+"):
        raise ConfigError(f"BOOK_SEED={value!r} is not a seed; use a non-negative integer such as BOOK_SEED=1 "
                          "(0, the default, is the published book)")
    return n


def seeded(seed: int) -> int:
    """The seed actually used for the book's seed ``seed``: ``seed`` itself for ``BOOK_SEED=0``, else
    ``seed + BOOK_SEED * SEED_STRIDE``. Every random draw of the book's experiments goes through this
    (or :func:`seed_everything` / :func:`torch_generator`, which call it)."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed) + book_seed() * SEED_STRIDE


def rng(seed: int) -> np.random.Generator:
    """``np.random.default_rng(seeded(seed))``: the notebooks' random numbers, moved by ``BOOK_SEED``."""
    return np.random.default_rng(seeded(seed))


@contextmanager
def seeds_as_written() -> Iterator[None]:
    """Inside this block every seed is used as written, whatever ``BOOK_SEED`` says: the exercises'
    checks grade every reader on the same cases (their pages were chosen to have a known answer)."""
    old = os.environ.get("BOOK_SEED")
    os.environ["BOOK_SEED"] = "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("BOOK_SEED", None)
        else:
            os.environ["BOOK_SEED"] = old


def torch_generator(seed: int):
    """A ``torch.Generator`` seeded with :func:`seeded` ``(seed)`` (batch order, augmentation draws)."""
    import torch

    return torch.Generator().manual_seed(seeded(seed))


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python, numpy and (if imported) torch with :func:`seeded` ``(seed)``; return a fresh
    ``np.random.Generator`` from the same seed.

    torch is only seeded when it is already imported, so numpy-only chapters never pay for it.
    """
    seed = seeded(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import sys

    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)


@contextmanager
def blas_threads(n: int | None = 1) -> Iterator[None]:
    """Run the block with numpy's BLAS limited to ``n`` threads (``None``: leave it alone).

    The book's matrix products are small (a batch of 32 x 1024 times 1024 x 64), too small to
    split across threads; on busy shared cores OpenBLAS's spinning threads made one training epoch
    15-40x slower (0.15 s with one thread against 6 s with two). One thread is also reproducible:
    the thread count changes the order of floating-point sums. Training code runs inside::

        with config.blas_threads(1):
            nn.fit(X, Y, params, epochs=10, lr=1e-3)
    """
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n), user_api="blas"):
        yield


def data_dir() -> Path:
    """The data cache directory (``BOOK_DATA_DIR`` or ``<repo>/data``), created if missing."""
    path = Path(os.environ.get("BOOK_DATA_DIR") or ROOT / "data").expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the data cache directory {path} ({exc}); set BOOK_DATA_DIR to a writable folder"
        ) from exc
    return path


def cache_dir() -> Path:
    """Where this seed's generated sets, trained models and results are cached, created if missing.

    ``BOOK_CACHE_DIR`` if set; else ``data_dir()`` for ``BOOK_SEED=0`` and ``data_dir()/seed<N>`` for
    ``BOOK_SEED=N``: the folder is part of every cache key, so another seed never reuses seed 0's
    results. Real data the reader puts in ``data_dir()`` (NIST36 files, photos) is shared by all seeds.
    """
    given = os.environ.get("BOOK_CACHE_DIR")
    n = book_seed()
    path = Path(given).expanduser() if given else (data_dir() / f"seed{n}" if n else data_dir())
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the cache directory {path} ({exc}); set BOOK_CACHE_DIR to a writable "
                          "folder") from exc
    return path


def torch_device(prefer: str | None = None):
    """The torch device the book trains on: ``BOOK_DEVICE`` if set, else CUDA if present, else CPU."""
    import torch

    name = prefer or os.environ.get("BOOK_DEVICE")
    if name:
        dev = torch.device(name)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"BOOK_DEVICE={name!r} but no CUDA GPU is available; unset it to use the CPU")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def cache_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock while making the cache file ``path`` (a lock file named by a hash of its
    absolute path in the temporary folder's ``book-locks/``, so the cache holds only cache files).

    Two processes that need the same model or data set at once (two notebooks of a build, two
    test workers, a study's worker processes) would otherwise both make it: the second now waits,
    then finds the file made and loads it. The lock is released when the block ends or the process
    dies (``flock``); where ``fcntl`` is missing (Windows) the block runs unlocked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        yield
        return
    import hashlib

    key = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:20]
    lock = Path(tempfile.gettempdir()) / "book-locks" / f"{Path(path).name}-{key}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it into place atomically.

    Readers never see a half-written cache file: either the old file or the complete new one.
    The temporary file keeps the final suffix so libraries that look at it (np.savez) are happy::

        with atomic_path(cache / "weights.npz") as tmp:
            np.savez(tmp, W=W)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix + ".tmp" + path.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; caches are ordinary files
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def save_npz(path: str | os.PathLike, **arrays: Any) -> Path:
    """``np.savez_compressed`` written atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return path
