"""The container every loader of :mod:`helpers.data` returns, and the class order of NIST36.

::

    chars.images, chars.labels       # (N, 32, 32) float32 in [0, 1] upright, ink dark; (N,) int64 in [0, 36)
    chars.X, chars.Y                 # (N, 1024) row-major rows, (N, 36) one-hot: what helpers.nn takes
    CLASSES[label]                   # 'A'..'Z' are 0..25, '0'..'9' are 26..35
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CLASSES", "SPLITS", "CharacterSet"]

CLASSES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"  # NIST36 order: A=0 .. Z=25, '0'=26 .. '9'=35
SPLITS = ("train", "valid", "test")


@dataclass(repr=False)
class CharacterSet:
    """Labelled 32x32 character images in the book's conventions.

    images: (N, 32, 32) float32 in [0, 1], background about 1 (white), ink dark, upright
    labels: (N,) int64 in [0, 36): 0-25 are A-Z, 26-35 are the digits 0-9 (``CLASSES[label]``)
    source: where the images come from, e.g. ``"generated NIST36-compatible (train, seed 0)"``
    split:  ``"train"``, ``"valid"``, ``"test"`` (or ``"mnist"``)
    styles: (N,) str, the style (font) of each image where known, else None
    """

    images: np.ndarray
    labels: np.ndarray
    source: str
    split: str
    styles: np.ndarray | None = None

    @property
    def X(self) -> np.ndarray:
        """(N, 1024) float32: row-major flattening of the upright images (``images.reshape(N, -1)``)."""
        return self.images.reshape(len(self.images), -1)

    @property
    def Y(self) -> np.ndarray:
        """(N, 36) float32 one-hot labels."""
        Y = np.zeros((len(self.labels), len(CLASSES)), dtype=np.float32)
        Y[np.arange(len(self.labels)), self.labels] = 1.0
        return Y

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> "CharacterSet":
        """The images selected by ``index`` (a slice, boolean mask or index array)."""
        return CharacterSet(self.images[index], self.labels[index], self.source, self.split,
                            None if self.styles is None else self.styles[index])

    def __repr__(self) -> str:
        return (f"CharacterSet({self.split!r}, {len(self)} images of {self.images.shape[1:]}, "
                f"{len(np.unique(self.labels))} classes, source={self.source!r})")


def _check_split(split: str, extra: tuple[str, ...] = ()) -> str:
    if split not in SPLITS + extra:
        raise ValueError(f"split must be one of {', '.join(SPLITS + extra)}; got {split!r}")
    return split
