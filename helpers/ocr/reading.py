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
from .crops import crop_character, prepare_crops
from .layout import LayoutParams, PageLayout, analyze_page, layout_params

MODELS = ("mlp", "cnn")
DOUBT_FLOOR = 1e-9  # 1 - p below this (float32 rounding) counts as this
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
           lone_prior: float = 3.0, crop_cap: float = 20.0) -> str:
    """The characters of K crops in reading order from their (K, 36) probabilities.

    Without context each crop is its most probable class. With ``context`` each word (a run of
    crops in one line without a space) is read either as all letters or as all digits, whichever
    reading has the larger likelihood ``sum_i log max_{c in group} P_i(c)`` (the best letter string against the
    best digit string; summing each group's probability instead favours the 26 letters over the 10 digits
    when a network is unsure): this settles O/0, S/5, I/1, Z/2, B/8 from
    the neighbours (a word such as 'B52' that mixes both would be misread). Each crop's evidence is capped at
    ``crop_cap`` (a likelihood ratio of 20), so one over-confident crop cannot outvote the rest of its word
    ('829' read with a certain Z stays digits); the uncapped sum breaks ties. The line is context too:
    each word's reading is tilted ``lone_prior`` times towards what the *other* words of its line read
    as (letters or digits, by the sum of their log-likelihood ratios; on a tie, the word before it), so a lone I or A between
    words stays a letter, and a 1 or a 10 in a line of numbers stays digits. A one-character word that
    starts its line before a number is tilted towards digits once for every other word of the line that reads
    as digits ('1 2 34': twice); before letters it may be a
    list number ('1 MAKE A LIST') or a word ('I LOVE IT'), and the page decides: it is tilted the way
    the other lines' one-character starts read (other than I and 1, which are the question), towards
    letters when there are none.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if not context or len(probs) == 0:
        return "".join(CLASSES[i] for i in probs.argmax(1))
    start = np.r_[True, (np.diff(line_of) != 0) | space_before[1:]]
    word = np.cumsum(start) - 1
    crop_ratio = np.log(probs[:, :26].max(1) + 1e-12) - np.log(probs[:, 26:].max(1) + 1e-12)
    capped = np.clip(crop_ratio, -np.log(crop_cap), np.log(crop_cap))
    ratio = np.bincount(word, capped) + 1e-3 * np.bincount(word, crop_ratio)  # > 0: letters on its own
    own = np.where(ratio >= 0, 1, -1)
    size = np.bincount(word)
    first = np.nonzero(start)[0]  # the first crop of each word
    w_line = line_of[first]
    starts_line = np.r_[True, np.diff(w_line) != 0]
    prior = np.zeros(len(ratio))
    line_starts = []
    for w in range(len(ratio)):
        same = np.nonzero(w_line == w_line[w])[0]
        others = same[same != w]
        if len(others) == 0:
            continue
        if size[w] == 1 and w == same[0]:  # a lone character starting its line: decided below
            line_starts.append(w)
            continue
        vote = float(ratio[others].sum())  # the other words' evidence, letters against digits
        before = others[others < w]
        if vote == 0 and len(before):
            vote = float(own[before[-1]])
        prior[w] = np.sign(vote) * np.log(lone_prior)
    is_letters = ratio + prior >= 0
    for w in line_starts:  # a list number or I, A: before a number, a digit ('1 2 34'); else the page decides
        if not is_letters[w + 1]:  # every other word of the line that reads as digits tilts it once more
            same = np.nonzero(w_line == w_line[w])[0]
            is_letters[w] = ratio[w] - int(np.sum(~is_letters[same[same != w]])) * np.log(lone_prior) >= 0
            continue
        else:  # the other lines' lone first characters that are not I or 1 ('2 CHECK', 'A NAP')
            lone_starts = [v for v in np.nonzero(starts_line & (size == 1))[0]
                           if v != w and CLASSES[int(probs[first[v]].argmax())] not in "I1"]
            vote = int(own[lone_starts].sum()) if lone_starts else 1
        is_letters[w] = ratio[w] + np.sign(vote) * np.log(lone_prior) >= 0
    letters = is_letters[word]
    best = np.where(letters, probs[:, :26].argmax(1), 26 + probs[:, 26:].argmax(1))
    return "".join(CLASSES[i] for i in best)


def _line_is_digits(probs: np.ndarray, line_of: np.ndarray) -> np.ndarray:
    """(L,) bool per line: most of its crops hold more digit than letter probability."""
    n_lines = int(line_of.max()) + 1 if len(line_of) else 0
    digit = probs[:, 26:].sum(1) > probs[:, :26].sum(1)
    return np.bincount(line_of, np.where(digit, 1.0, -1.0), minlength=n_lines) > 0


def choose_splits(layout: PageLayout, crops: np.ndarray, probs: np.ndarray, whole_probs: np.ndarray,
                  groups: list, whole_crops: np.ndarray) -> tuple[PageLayout, np.ndarray, np.ndarray]:
    """Keep a cut of a wide box (:func:`.components.split_touching`) only where the evidence says so.

    groups: one index array per wide box that was cut (its pieces, in reading order); whole_crops
    (len(groups), 32, 32) and whole_probs (len(groups), 36): the whole box's crop and probabilities.
    A box cut in three or more, or over 1.75 times as wide as tall, is too wide for one character (a
    wide hand's M is at most about 1.6) and stays cut. For a box cut in two, the
    doubt of a reading is ``log(1 - p)`` of its best class ``p`` (the networks' probabilities often
    round to 1, and the doubt still tells 1 - 1e-9 from 1 - 1e-4), of the pieces their mean; in a line
    whose crops read mostly as digits only the digit classes count (a touching 34 is two digits,
    not an M). A piece that reads as the whole box does (the M of a touching AM) keeps the cut: half of
    a letter does not look like the whole letter. Otherwise the pieces stay only when they are read
    with less doubt than the whole (ten times less
    for a box under 1.2 times as wide as tall, the shape of most single M and W); else the box is put
    back together (an M, N, W or U read as one letter). Returns the layout, crops and probabilities with the boxes put
    back in place of their pieces.
    """
    from dataclasses import replace

    digits_line = _line_is_digits(probs, layout.line_of)
    merge = []
    for g, idx in enumerate(groups):
        b = layout.boxes[idx]
        aspect = (b[:, 3].max() - b[:, 1].min()) / max(b[:, 2].max() - b[:, 0].min(), 1)
        if len(idx) > 2 or aspect > 1.75:  # three letters wide, or twice as wide as tall: no one character
            continue
        cls = slice(26, None) if digits_line[layout.line_of[idx[0]]] else slice(None)
        if (probs[idx, cls].argmax(1) == whole_probs[g, cls].argmax()).any():
            continue  # a piece reads as the whole box does (AM read as M): half a letter never looks like it
        pieces = float(np.mean(np.log(1 - probs[idx, cls].max(1) + DOUBT_FLOOR)))
        whole = float(np.log(1 - whole_probs[g, cls].max() + DOUBT_FLOOR))
        margin = np.log(10.0) if aspect < 1.2 else 0.0  # about as wide as tall: most often one M or W
        if not pieces < whole - margin:
            merge.append(g)
    if not merge:
        return layout, crops, probs
    keep = np.ones(len(crops), bool)
    boxes, members = layout.boxes.copy(), list(layout.members)
    stroke, split_from = layout.stroke.copy(), layout.split_from.copy()
    crops, probs = crops.copy(), probs.copy()
    for g in merge:
        idx = groups[g]
        k = idx[0]
        keep[idx[1:]] = False
        b = layout.boxes[idx]
        boxes[k] = [b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()]
        members[k] = sorted({m for i in idx for m in layout.members[i]})
        stroke[k] = float(np.mean(layout.stroke[idx]))
        split_from[k] = -1
        crops[k], probs[k] = whole_crops[g], whole_probs[g]
    layout = replace(layout, boxes=boxes[keep], members=[m for m, kp in zip(members, keep) if kp],
                     line_of=layout.line_of[keep], space_before=layout.space_before[keep], stroke=stroke[keep],
                     split_from=split_from[keep])
    return layout, crops[keep], probs[keep]


def read_page(image, classifier: Classifier, *, details: bool = False,
              params: LayoutParams | None = None, **overrides):
    """Read a page: the text lines (``list[str]``), or a :class:`PageReading` with ``details=True``.

    classifier: ``f(images (N, 32, 32) float32, ink dark) -> (N, 36) probabilities`` in
                NIST36 order (A-Z, 0-9), e.g. from :func:`load_classifier`; called once, on all crops
                (and on the whole box of every wide box the layout cut, to keep a cut only where its
                pieces read better: :func:`choose_splits`).
    """
    params = layout_params(params, overrides)
    layout = analyze_page(image, params)
    crops = prepare_crops(layout, params)
    if len(crops):
        split_from = layout.split_from if layout.split_from is not None else np.full(len(crops), -1)
        groups = [np.nonzero(split_from == g)[0] for g in np.unique(split_from[split_from >= 0])]
        groups = [idx for idx in groups if len(idx) > 1]
        wholes = np.array([crop_character(layout, [layout.boxes[idx, 0].min(), layout.boxes[idx, 1].min(),
                                                   layout.boxes[idx, 2].max(), layout.boxes[idx, 3].max()],
                                          sorted({m for i in idx for m in layout.members[i]}), params)
                           for idx in groups], np.float32).reshape(-1, 32, 32)
        n = len(crops) + len(wholes)
        all_probs = np.asarray(classifier(np.concatenate([crops, wholes]) if len(wholes) else crops), dtype=np.float32)
        if all_probs.shape != (n, len(CLASSES)):
            raise ValueError(f"classifier returned shape {all_probs.shape}; expected (N, {len(CLASSES)}) = "
                             f"({n}, {len(CLASSES)}): one row of {len(CLASSES)} class probabilities (A-Z, "
                             "0-9) per crop; check that the classifier takes (N, 32, 32) images and returns "
                             "probabilities for all N")
        probs = all_probs[:len(crops)]
        if groups:
            layout, crops, probs = choose_splits(layout, crops, probs, all_probs[len(crops):], groups, wholes)
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
