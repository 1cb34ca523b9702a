"""The drawing pad of chapters 3 and 4: the reader draws a character and the chapter-3 network reads it.

The page's script ``book/_static/pad-pipeline.js`` runs these steps in the browser, line for line::

    strokes: list of (k, 2) polylines, x right and y down, in pad units (0 to PAD_SIZE)
      -> rasterize      ink amount on a PAD_SIZE x PAD_SIZE grid, drawn with a round pen of PEN units
      -> ink_box        the box of the pixels that are at least half ink
      -> ocr.frame_crop the OCR reader's framing (chapter 4): the ink box centred on a square, its larger
                        side ``fill`` of 32 pixels, the stroke width brought into the training range,
                        paper 1 and ink dark, 32x32
      -> the chapter-3 network: hidden = sigmoid(x W1 + b1), probs = softmax(hidden W2 + b2)

:func:`read_drawing` is the whole pipeline. At build time the book's Sphinx extension
(``book/_ext/book_build.py``) writes the cached chapter-3 network, the framing settings, a few training
images per class and some sample drawings into the site (:func:`write_model`), so the static page runs the
network the chapter trained, offline. ``tests/test_pad.py`` draws characters in a browser and checks that
the page's 32x32 image and probabilities equal :func:`read_drawing`'s.
"""
from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np

from . import nn
from .ocr.crops import INK_DEPTH, INK_GAIN, frame_crop
from .ocr.layout import LayoutParams

__all__ = ["PAD_SIZE", "PEN", "MODEL_FILE", "SAMPLE_CHARS", "rasterize", "ink_box", "pad_image", "read_drawing",
           "nearest_examples", "glyph_strokes", "export_model", "write_model", "load_model"]

PAD_SIZE = 128         # the strokes are rasterized on a PAD_SIZE x PAD_SIZE grid (pad units)
PEN = 9.0              # pen diameter in pad units: a character a reader draws 70-100 units tall gets strokes
#                        about 3 pixels wide at 32x32, in the training characters' range
MODEL_FILE = "pad-model.js"     # in the site's _static folder
SAMPLE_CHARS = "AK7R3SE5"       # the sample drawings offered as buttons (keyboard, screen readers)
EXAMPLES_PER_CLASS = 7          # training images per class in the site ("nearest training images")


def rasterize(strokes: list, size: int = PAD_SIZE, pen: float = PEN) -> np.ndarray:
    """Strokes drawn with a round pen: (size, size) float32 ink amount, 0 paper, 1 ink.

    strokes: list of (k, 2) polylines (x right, y down, pad units); a one-point stroke is a dot.
    Pixel (i, j) has its centre at (j + 0.5, i + 0.5); its ink falls from 1 to 0 over one pixel at the pen's
    edge, ``clip(pen/2 + 1/2 - d, 0, 1)`` with d its distance to the nearest segment.
    """
    ink = np.zeros((size, size))
    r = pen / 2
    for stroke in strokes:
        p = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        if len(p) == 0:
            continue
        for (ax, ay), (bx, by) in zip(p, p[1:]) if len(p) > 1 else [(p[0], p[0])]:
            x0, x1 = max(math.floor(min(ax, bx) - r - 1), 0), min(math.ceil(max(ax, bx) + r + 1), size)
            y0, y1 = max(math.floor(min(ay, by) - r - 1), 0), min(math.ceil(max(ay, by) + r + 1), size)
            if x0 >= x1 or y0 >= y1:
                continue                        # the segment lies off the pad
            px = np.arange(x0, x1)[None, :] + 0.5
            py = np.arange(y0, y1)[:, None] + 0.5
            dx, dy = bx - ax, by - ay
            len2 = dx * dx + dy * dy
            t = np.clip(((px - ax) * dx + (py - ay) * dy) / len2, 0, 1) if len2 > 0 else 0.0
            ex, ey = px - (ax + t * dx), py - (ay + t * dy)
            d = np.sqrt(ex * ex + ey * ey)
            ink[y0:y1, x0:x1] = np.maximum(ink[y0:y1, x0:x1], np.clip(r + 0.5 - d, 0, 1))
    return ink.astype(np.float32)


def ink_box(amount: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y1, x1, y2, x2) of the pixels at least half ink (y2, x2 exclusive), None for an empty pad."""
    ys, xs = np.nonzero(amount > 0.5)
    if len(ys) == 0:
        return None
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1


def pad_image(strokes: list, framing: LayoutParams | None = None, pen: float = PEN) -> np.ndarray | None:
    """The drawing as the network sees it: (32, 32) float32 in [0, 1], paper 1, ink dark; None if empty.

    framing: the OCR reader's crop settings (``fill``, ``stroke_range``, ``normalize_stroke``); default
    ``LayoutParams()``, the ones chapter 4 reads pages with.
    """
    amount = rasterize(strokes, pen=pen)
    box = ink_box(amount)
    return None if box is None else frame_crop(amount, box, framing)


def read_drawing(strokes: list, params: dict, framing: LayoutParams | None = None, pen: float = PEN) -> dict | None:
    """The whole pad pipeline: strokes -> 32x32 image -> the chapter-3 network's answer.

    params: the chapter-3 network (``mlp.chapter3_mlp()[0]``: Wlayer1 (1024, 64), blayer1, Woutput (64, 36),
    boutput). Returns None for an empty drawing, else ``{'image': (32, 32), 'hidden': (64,),
    'probs': (36,)}`` (float32; ``probs.argmax()`` indexes ``data.CLASSES``).
    """
    image = pad_image(strokes, framing, pen)
    if image is None:
        return None
    x = image.reshape(1, 1024)                                          # row-major, like CharacterSet.X
    hidden = nn.sigmoid(x @ params["Wlayer1"] + params["blayer1"])      # (1, 64)
    probs = nn.softmax(hidden @ params["Woutput"] + params["boutput"])  # (1, 36)
    return {"image": image, "hidden": hidden[0], "probs": probs[0]}


def nearest_examples(hidden: np.ndarray, model: dict, label: int, k: int = 5) -> list[int]:
    """Indices into the exported examples (:func:`export_model`) of class ``label``, nearest first by the
    distance between their hidden activations and ``hidden`` (64,): what the network saw alike."""
    codes = _unpack(model["examples"]["hidden"], np.uint8).reshape(-1, 64).astype(np.float64) / 255
    labels = np.asarray(model["examples"]["labels"])
    idx = np.flatnonzero(labels == label)
    dist = ((codes[idx] - np.asarray(hidden, np.float64)) ** 2).sum(1)
    return [int(i) for i in idx[np.argsort(dist, kind="stable")][:k]]


def glyph_strokes(char: str, variant: int = 0, height: float = 0.62, slant: float = 0.0,
                  size: int = PAD_SIZE) -> list[list[list[float]]]:
    """A character of the generator's own pen-stroke alphabet (style ``pen-sketch``) as pad strokes.

    height: cap height as a share of the pad; the character is centred, its points rounded to 0.01 pad
    units (the page gets the very numbers Python uses). slant: x moves right by ``slant`` per unit
    of height. Returns ``[[[x, y], ...], ...]``, one list per stroke.
    """
    from ._glyphs import sketch_glyph

    g = sketch_glyph(char, variant)
    s = height * size
    strokes = [np.column_stack((q[:, 0] - slant * q[:, 1], q[:, 1])) * s for q in g.strokes]
    pts = np.concatenate(strokes)
    shift = size / 2 - (pts.min(0) + pts.max(0)) / 2
    return [np.round(q + shift, 2).tolist() for q in strokes]


def _pack(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).decode("ascii")


def _unpack(text: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.dtype(dtype).newbyteorder("<"))


def export_model(params: dict, train, framing: LayoutParams | None = None, per_class: int = EXAMPLES_PER_CLASS,
                 info: dict | None = None) -> dict:
    """What the page needs, as JSON-ready data: the network (float32, base64 little-endian, row-major), the
    framing settings, ``per_class`` training images of each class (4-bit gray levels) with their hidden
    activations (uint8), and the sample drawings of :data:`SAMPLE_CHARS`.

    params: the chapter-3 network; train: the :class:`helpers.data.CharacterSet` it was trained on.
    """
    from .data import CLASSES

    f = framing or LayoutParams()
    W1, b1 = np.asarray(params["Wlayer1"], np.float32), np.asarray(params["blayer1"], np.float32)
    W2, b2 = np.asarray(params["Woutput"], np.float32), np.asarray(params["boutput"], np.float32)
    if W1.shape != (1024, 64) or W2.shape != (64, 36):
        raise ValueError(f"export_model: expected the chapter-3 network 1024-64-36, got W1 {W1.shape}, W2 {W2.shape}")
    pick = np.concatenate([np.flatnonzero(train.labels == c)[:per_class] for c in range(len(CLASSES))])
    images = train.images[pick]
    levels = np.rint(np.clip(images, 0, 1) * 15).astype(np.uint8).reshape(len(pick), -1)
    packed = (levels[:, 0::2] << 4) | levels[:, 1::2]                 # two pixels a byte, the first high
    hidden = nn.sigmoid(images.reshape(len(pick), -1) @ W1 + b1)
    return {
        "version": 1, "classes": CLASSES, **(info or {}),
        "framing": {"pad_size": PAD_SIZE, "pen": PEN, "fill": int(f.fill), "stroke_range": list(f.stroke_range),
                    "normalize_stroke": bool(f.normalize_stroke), "ink_gain": INK_GAIN, "ink_depth": INK_DEPTH},
        "W1": _pack(W1), "b1": _pack(b1), "W2": _pack(W2), "b2": _pack(b2),
        "examples": {"labels": train.labels[pick].tolist(), "images": _pack(packed.astype(np.uint8)),
                     "hidden": _pack(np.rint(hidden * 255).astype(np.uint8))},
        "samples": [{"char": c, "strokes": glyph_strokes(c)} for c in SAMPLE_CHARS],
    }


def write_model(path: str | Path, model: dict | None = None) -> Path:
    """Write ``model`` (default: :func:`export_model` of the cached chapter-3 network, trained if missing,
    and its training set) as a script that sets ``window.PAD_MODEL`` (a script, not a JSON file to fetch:
    the page then works from the disk too, where browsers refuse to fetch files)."""
    from . import config

    if model is None:
        from . import mlp
        from .data import load_book_data

        params, info = mlp.chapter3_mlp(progress=False)
        model = export_model(params, load_book_data("train"),
                             info={"source": info["source"], "mode": config.mode(), "seed": config.book_seed()})
    body = ("// The chapter-3 network for the drawing pad, written at build time by helpers.pad.write_model.\n"
            "window.PAD_MODEL = " + json.dumps(model, separators=(",", ":")) + ";\n")
    with config.atomic_path(path) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return Path(path)


def load_model(path: str | Path) -> tuple[dict, dict]:
    """Read a file of :func:`write_model` back: ``(params, model)``, params as :func:`read_drawing` takes
    them (the weights the page runs) and the model's other data."""
    text = Path(path).read_text(encoding="utf-8")
    model = json.loads(text[text.index("{"):text.rstrip().rstrip(";").rindex("}") + 1])
    params = {"Wlayer1": _unpack(model["W1"], np.float32).reshape(1024, 64),
              "blayer1": _unpack(model["b1"], np.float32),
              "Woutput": _unpack(model["W2"], np.float32).reshape(64, 36),
              "boutput": _unpack(model["b2"], np.float32)}
    return params, model


def framing_of(model: dict) -> LayoutParams:
    """The OCR crop settings a model file was exported with (what :func:`read_drawing` takes)."""
    f = model["framing"]
    return LayoutParams(fill=f["fill"], stroke_range=tuple(f["stroke_range"]), normalize_stroke=f["normalize_stroke"])
