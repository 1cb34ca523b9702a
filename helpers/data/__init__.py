"""Data sets of the book: a NIST36-compatible character generator and loaders for real data.

The course data (NIST36: 36 classes A-Z then 0-9, 32x32 grayscale, white background, dark ink;
10,800 train / 3,600 valid / 1,800 test images) cannot be downloaded here, so this package *draws*
an equivalent set from pen-stroke fonts, handwriting fonts and plain fonts, with random slant,
size, position, proportions, pen width, wobble, blur, contrast and noise (see :mod:`helpers._glyphs`
for the styles). Some styles are held out of training and used only in the test split, so test
accuracy measures how well a network reads handwriting it has never seen.

Where things are:

- ``charset.py``    :class:`CharacterSet` (what every character loader returns), ``CLASSES``, ``SPLITS``
- ``generator.py``  the drawing code: ``PARAMS``, ``GENERATOR_VERSION``, :func:`styles`,
  :func:`style_groups`, :func:`generate_characters` (no cache)
- ``cache.py``      :func:`load_characters` (the generated set, drawn once and cached) and
  :func:`cache_path` (its key hashes the settings and the source of ``generator.py`` and ``_glyphs.py``)
- ``loaders.py``    real data from local files: :func:`load_nist36`, :func:`load_book_data`,
  :func:`load_mnist_digits`, :func:`load_emnist`, :func:`build_flowers17_folders`, :func:`load_flowers17`
- ``text.py``       :func:`render_text_image`, lines of hand-printed text for the OCR chapter
- ``compare.py``    :func:`shape_statistics`, :func:`shape_table` (the generator's target: real NIST letters'
  framing, stroke, slant, edges and ink), :func:`image_statistics`, :func:`compare_table` (paper and noise too)

The generator study (networks trained on sets drawn with other settings) lives above this package, in
:mod:`helpers.generator_study`: data flows up from here, never back.
- ``cli.py``        ``python -m helpers data --help``

::

    from helpers.data import load_book_data, load_characters, load_mnist_digits
    train = load_book_data("train")      # the course's nist36_train.mat if present in data/, else generated
    train.X, train.Y                     # (N, 1024) float32 in [0, 1], (N, 36) one-hot
    train.images, train.labels           # (N, 32, 32) upright, ink dark; (N,) int64 in [0, 36)
    digits = load_mnist_digits()         # 5,000 real MNIST digits, same conventions, labels 26..35

Everything is deterministic (same seed and settings, same arrays) and cached in
:func:`helpers.config.data_dir` under a name that hashes the generator settings. The settings are
read from :mod:`helpers.data.generator` when a key is computed: change (or monkeypatch)
``generator.GENERATOR_VERSION`` there, not the copy of the name here.
"""
from __future__ import annotations

from .cache import cache_path, load_characters
from .charset import CLASSES, SPLITS, CharacterSet
from .cli import add_cli
from .compare import NIST_LETTERS_TARGET, compare_table, image_statistics, shape_statistics, shape_table
from .generator import GENERATOR_VERSION, LOWERCASE_SHARE, PARAMS, V2_PARAMS, generate_characters, style_groups, styles
from .loaders import (FIT_SIZE, FLOWERS17_CLASSES, NIST36Error, build_flowers17_folders, load_book_data,
                      load_emnist, load_flowers17, load_mnist_digits, load_nist36, nist36_paths)
from .text import render_text_image

__all__ = [
    "CLASSES", "SPLITS", "GENERATOR_VERSION", "PARAMS", "V2_PARAMS", "LOWERCASE_SHARE", "CharacterSet", "load_characters",
    "load_nist36",
    "load_book_data", "load_mnist_digits", "render_text_image", "styles", "style_groups", "cache_path",
    "nist36_paths", "generate_characters", "NIST36Error", "FIT_SIZE", "load_emnist", "FLOWERS17_CLASSES",
    "build_flowers17_folders", "load_flowers17", "image_statistics", "compare_table", "NIST_LETTERS_TARGET",
    "shape_statistics", "shape_table",
]
