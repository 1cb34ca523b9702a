"""The generated character sets on disk: drawn once, then loaded from ``config.data_dir()``.

The file name of a cached split hashes every generator setting (:data:`~helpers.data.generator.PARAMS`,
:data:`~helpers.data.generator.GENERATOR_VERSION`, the styles, the chunk size) and the drawing code
itself (the source of :mod:`helpers.data.generator` and :mod:`helpers._glyphs`), so an edited generator
never reads a stale cache.
"""
from __future__ import annotations

import functools
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

from .. import config
from .. import _glyphs as G
from . import generator
from .charset import CLASSES, CharacterSet

__all__ = ["cache_path", "load_characters"]


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """Hash of the drawing code itself (all of :mod:`helpers.data.generator` and :mod:`helpers._glyphs`),
    so an edited generator never reads a stale cache."""
    import inspect

    parts = [inspect.getsource(G), inspect.getsource(generator)]
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


def _settings(split: str, n_per_class: int, seed: int) -> dict:
    """Everything the drawn set depends on (read from the generator module at call time)."""
    g = generator
    return {"version": g.GENERATOR_VERSION, "code": _code_digest(), "split": split, "n_per_class": n_per_class,
            "seed": seed, "styles": g.styles(split), "group_weights": G.GROUP_WEIGHTS, "params": g.PARAMS,
            "classes": CLASSES, "chunk": g.CHUNK}


def cache_path(split: str, n_per_class: int | None = None, seed: int = 0) -> Path:
    """Where :func:`load_characters` caches a split: the file name hashes every generator setting."""
    n = generator._n_per_class(split, n_per_class)
    key = hashlib.sha1(json.dumps(_settings(split, n, seed), sort_keys=True).encode()).hexdigest()[:10]
    return config.cache_dir() / f"chars_{split}_{n}x36_seed{seed}_{key}.npz"


def load_characters(split: str, n_per_class: int | None = None, seed: int = 0, *,
                    progress: bool | None = None, force: bool = False) -> CharacterSet:
    """The generated NIST36-compatible characters of ``split`` (``'train'``, ``'valid'``, ``'test'``).

    n_per_class: images per class; default ``config.budget('chars_<split>_per_class')``
                 (300 / 100 / 50 in full mode, like NIST36).
    seed:        the same seed and settings always give identical arrays.
    progress:    show a progress bar while drawing (None: only on a terminal).
    force:       draw again even when the cache file exists.

    Returns a :class:`CharacterSet`: images (N, 32, 32) float32 in [0, 1], ink dark, N = 36 * n_per_class;
    the test split uses only the held-out styles (:func:`~helpers.data.generator.styles`). The first call draws the set
    (seconds) and caches it in ``data_dir()``, replacing files of the same split, size and seed left by
    other generator settings; later calls load the cache.
    """
    path = cache_path(split, n_per_class, seed)
    with config.cache_lock(path):  # another process drawing it: wait, then load it
        if path.exists() and not force:
            try:
                with np.load(path, allow_pickle=False) as z:
                    return CharacterSet(z["images"].astype(np.float32) / 255.0, z["labels"].astype(np.int64),
                                        str(z["source"]), split, z["styles"])
            except Exception as exc:  # a damaged cache file is drawn again
                warnings.warn(f"cache file {path} is unreadable ({exc}); drawing the set again", stacklevel=2)
        data = generator.generate_characters(split, n_per_class, seed, progress=progress)
        config.save_npz(path, images=np.rint(data.images * 255).astype(np.uint8), labels=data.labels,
                        styles=data.styles, source=np.array(data.source))
        # files of the same split, size and seed drawn by an older generator are stale: remove them
        for old in path.parent.glob(path.name.rsplit("_", 1)[0] + "_*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
        return data
