"""Step 6: classify the crops and read words; the trained classifiers the chapter uses.

:func:`read_page` runs the whole pipeline on a photo with any classifier
``f(images (N, 32, 32) float32, ink dark) -> (N, 36) probabilities``; :func:`load_classifier` gives
the chapter-3 MLP or the chapter-6 CNN, trained and cached on first use; :func:`load_reader` binds
one to :func:`read_page`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..data import CLASSES
from .crops import prepare_crops
from .layout import LayoutParams, PageLayout, analyze_page, layout_params

MODELS = ("mlp", "cnn")
Classifier = Callable[[np.ndarray], np.ndarray]


@dataclass
class PageReading:
    """The result of reading a page: ``lines`` plus everything behind them.

    lines:  the recognized text, one string per line (spaces between words)
    layout: the :class:`PageLayout` (boxes in working pixels, ``layout.boxes_full()`` in input pixels)
    crops:  (K, 32, 32) float32 the classifier's inputs, in reading order
    probs:  (K, 36) float32 the classifier's outputs
    chars:  the K recognized characters in reading order (:func:`decode` of ``probs``)
    """

    lines: list
    layout: PageLayout
    crops: np.ndarray
    probs: np.ndarray
    chars: str


def decode(probs: np.ndarray, line_of: np.ndarray, space_before: np.ndarray, context: bool = True,
           lone_prior: float = 3.0) -> str:
    """The characters of K crops in reading order from their (K, 36) probabilities.

    Without context each crop is its most probable class. With ``context`` each word (a run of
    crops in one line without a space) is read either as all letters or as all digits, whichever
    has the larger likelihood ``sum_i log P_i(group)``: this settles O/0, S/5, I/1, Z/2, B/8 from
    the neighbours (a word such as 'B52' that mixes both would be misread). A one-character word has
    no neighbours inside it, so the word before it in its line decides: after a word of letters, the
    letter reading wins unless the digit reading is ``lone_prior`` times more likely (a lone I, A or O
    between words), after a number the digit reading is favoured the same way; a one-character word
    that starts its line (a list number, '1 MAKE A LIST') is decided by its own probabilities.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if not context or len(probs) == 0:
        return "".join(CLASSES[i] for i in probs.argmax(1))
    start = np.r_[True, (np.diff(line_of) != 0) | space_before[1:]]
    word = np.cumsum(start) - 1
    log_letter = np.bincount(word, np.log(probs[:, :26].sum(1) + 1e-12))
    log_digit = np.bincount(word, np.log(probs[:, 26:].sum(1) + 1e-12))
    prior = np.zeros(len(log_letter))
    size = np.bincount(word)
    first = np.nonzero(start)[0]  # the first crop of each word
    for w in np.nonzero(size == 1)[0]:
        k = first[w]
        if w > 0 and line_of[first[w - 1]] == line_of[k]:  # a word before it in the same line
            prior[w] = np.log(lone_prior) if log_letter[w - 1] >= log_digit[w - 1] else -np.log(lone_prior)
    letters = (log_letter + prior >= log_digit)[word]
    best = np.where(letters, probs[:, :26].argmax(1), 26 + probs[:, 26:].argmax(1))
    return "".join(CLASSES[i] for i in best)


def read_page(image, classifier: Classifier, *, details: bool = False,
              params: LayoutParams | None = None, **overrides):
    """Read a page: the text lines (``list[str]``), or a :class:`PageReading` with ``details=True``.

    classifier: ``f(images (N, 32, 32) float32, ink dark) -> (N, 36) probabilities`` in
                NIST36 order (A-Z, 0-9), e.g. from :func:`load_classifier`; called once, on all crops.
    """
    params = layout_params(params, overrides)
    layout = analyze_page(image, params)
    crops = prepare_crops(layout, params)
    if len(crops):
        probs = np.asarray(classifier(crops), dtype=np.float32)
        if probs.shape != (len(crops), len(CLASSES)):
            raise ValueError(f"classifier returned shape {probs.shape}; expected (N, {len(CLASSES)}) = "
                             f"({len(crops)}, {len(CLASSES)}): one row of {len(CLASSES)} class probabilities (A-Z, "
                             "0-9) per crop; check that the classifier takes (N, 32, 32) images and returns "
                             "probabilities for all N")
        chars = decode(probs, layout.line_of, layout.space_before, context=params.context)
    else:
        probs, chars = np.zeros((0, len(CLASSES)), np.float32), ""
    lines: list[str] = []
    for k, ch in enumerate(chars):
        ln = int(layout.line_of[k])
        while len(lines) <= ln:
            lines.append("")
        if layout.space_before[k] and lines[ln]:
            lines[ln] += " "
        lines[ln] += ch
    if details:
        return PageReading(lines, layout, crops, probs, chars)
    return lines


def resolve_model(model: str) -> str:
    """'best' -> 'cnn' when PyTorch is importable, else 'mlp'; checks the name."""
    if model not in MODELS + ("best",):
        raise ValueError(f"unknown model {model!r}; choose one of 'best', 'mlp', 'cnn'")
    if model != "best":
        return model
    import importlib.util

    return "cnn" if importlib.util.find_spec("torch") is not None else "mlp"


def load_classifier(model: str = "best", progress: bool = True, seed: int = 0) -> Classifier:
    """A trained character classifier ``f(images (N, 32, 32) float32 ink dark) -> (N, 36) probs``.

    model: 'mlp' (chapter 3's numpy 1024-64-36, :func:`helpers.mlp.chapter3_mlp`), 'cnn' (chapter 6's
           small CNN, :func:`helpers.torch_models.load_classifier`) or 'best' (the CNN when PyTorch is
           installed, else the MLP). Trains and caches the model on first use (progress bars on stderr).
    seed: the training seed (initial weights, batch order); 0 is the book's model, others show the spread.
    The returned function has an attribute ``model_name``.
    """
    name = resolve_model(model)
    if name == "mlp":
        from .. import mlp, nn

        params, _info = mlp.chapter3_mlp(progress=progress) if seed == 0 else mlp.train_mlp(seed=seed,
                                                                                               progress=progress)

        def classify(images: np.ndarray) -> np.ndarray:
            images = np.asarray(images, dtype=np.float32)
            return nn.predict(images.reshape(len(images), -1), params)
    else:
        from .. import torch_models

        classify = torch_models.load_classifier("cnn", progress=progress, seed=seed)
    classify.model_name = name  # type: ignore[attr-defined]
    return classify


def load_reader(model: str = "best", progress: bool = True, **overrides) -> Callable[[np.ndarray], list]:
    """``reader(image) -> list[str]``: :func:`read_page` with a loaded classifier (see
    :func:`load_classifier` for ``model``); ``overrides`` are :class:`LayoutParams` fields."""
    classifier = load_classifier(model, progress=progress)
    params = layout_params(None, overrides)

    def reader(image) -> list:
        return read_page(image, classifier, params=params)

    reader.model_name = classifier.model_name  # type: ignore[attr-defined]
    reader.classifier = classifier  # type: ignore[attr-defined]
    return reader
