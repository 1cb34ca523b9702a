"""Private part of :mod:`helpers.data`: where the character shapes come from, and how one is drawn.

A *style* is one source of letter shapes:

- ``pen-*``    centre lines of pen strokes, which we jitter and draw with a round pen of random width, like
               a felt-tip or ball-point pen: ``pen-sketch`` is a block-capital alphabet written here (with
               the variants people print: 1 with or without flag, 7 with or without bar, open or closed 4,
               ...), the others are Hershey stroke fonts (``Hershey-Fonts`` package);
- ``hand-*``   handwriting TrueType fonts from the ``fontpkg-*`` packages (Caveat, Indie Flower, Kalam,
               Permanent Marker, Shadows Into Light);
- ``print-*``  plain fonts matplotlib ships (DejaVu, STIX, Computer Modern), for neatly printed capitals.

Every glyph is stored in *normalized coordinates*: x from the glyph's left ink edge, y downwards with
the baseline at 0 and the top of a capital 'H' at -1. :func:`draw_glyph` maps it into a pixel frame
with a 2x2 matrix ``A`` and a translation ``t`` (pixel = A @ p + t) and returns an ink image
(uint8, ink 255, background 0).
"""
from __future__ import annotations

import functools
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class Style:
    """One source of letter shapes. ``split`` is ``'train'`` (train and valid) or ``'test'`` (held out)."""

    name: str
    kind: str  # "sketch" (our own strokes), "hershey" or "ttf"
    source: str  # Hershey font name, or "<package>/<file>" for a TrueType font
    group: str  # "pen", "hand" or "print"
    split: str
    weight: float = 0.0  # TrueType variation axis value (Caveat's weight); 0 = font default
    share: float = 1.0  # relative frequency within its group
    slant: float = 0.0  # added to the random slant: how far this hand leans right
    aspect: float = 0.0  # added to the random log width/height ratio (< 0: narrower)


# The held-out (test) styles are chosen so that each group keeps some of its members out of training.
STYLE_TABLE: tuple[Style, ...] = (
    Style("pen-sketch", "sketch", "helpers._glyphs", "pen", "train", share=6.0, slant=0.12, aspect=-0.12),
    Style("pen-futural", "hershey", "futural", "pen", "train"),
    Style("pen-futuram", "hershey", "futuram", "pen", "train"),
    Style("pen-timesr", "hershey", "timesr", "pen", "train", share=0.3),
    Style("pen-timesi", "hershey", "timesi", "pen", "train", share=0.3),
    Style("pen-rowmans", "hershey", "rowmans", "pen", "test"),
    Style("pen-rowmand", "hershey", "rowmand", "pen", "test"),
    Style("hand-caveat", "ttf", "fontpkg_caveat/Caveat[wght].ttf", "hand", "train", 400.0),
    Style("hand-caveat-bold", "ttf", "fontpkg_caveat/Caveat[wght].ttf", "hand", "train", 700.0),
    Style("hand-indie-flower", "ttf", "fontpkg_indie_flower/IndieFlower-Regular.ttf", "hand", "train"),
    Style("hand-permanent-marker", "ttf", "fontpkg_permanent_marker/PermanentMarker-Regular.ttf", "hand", "train"),
    Style("hand-kalam-light", "ttf", "fontpkg_kalam/Kalam-Light.ttf", "hand", "test"),
    Style("hand-kalam", "ttf", "fontpkg_kalam/Kalam-Regular.ttf", "hand", "test"),
    Style("hand-kalam-bold", "ttf", "fontpkg_kalam/Kalam-Bold.ttf", "hand", "test"),
    Style("hand-shadows-into-light", "ttf", "fontpkg_shadows_into_light/ShadowsIntoLight.ttf", "hand", "test"),
    Style("hand-zeyada", "ttf", "fontpkg_zeyada/Zeyada.ttf", "hand", "train"),
    Style("hand-delius", "ttf", "fontpkg_delius/Delius-Regular.ttf", "hand", "train"),
    Style("print-dejavu-sans", "ttf", "matplotlib/DejaVuSans.ttf", "print", "train"),
    Style("print-dejavu-sans-bold", "ttf", "matplotlib/DejaVuSans-Bold.ttf", "print", "train"),
    Style("print-dejavu-sans-oblique", "ttf", "matplotlib/DejaVuSans-Oblique.ttf", "print", "train"),
    Style("print-dejavu-serif", "ttf", "matplotlib/DejaVuSerif.ttf", "print", "train"),
    Style("print-stix", "ttf", "matplotlib/STIXGeneral.ttf", "print", "train"),
    Style("print-cmr", "ttf", "matplotlib/cmr10.ttf", "print", "train"),
    Style("print-cmtt", "ttf", "matplotlib/cmtt10.ttf", "print", "train"),
    Style("print-dejavu-sans-mono", "ttf", "matplotlib/DejaVuSansMono.ttf", "print", "test"),
    Style("print-cmss", "ttf", "matplotlib/cmss10.ttf", "print", "test"),
    Style("print-stix-italic", "ttf", "matplotlib/STIXGeneralItalic.ttf", "print", "test"),
)

# Share of each group in every split: mostly handwriting shapes, as in NIST36 (pen strokes look most
# like hand printing; the serif stroke fonts timesr/timesi and the print group are kept rare).
GROUP_WEIGHTS = {"pen": 0.55, "hand": 0.40, "print": 0.05}


class StyleError(ValueError):
    """A style name is unknown or its font is not installed."""


def font_path(source: str) -> Path | None:
    """The .ttf file of ``"<package>/<file>"``, or None when the package is not installed."""
    package, filename = source.split("/", 1)
    if package == "matplotlib":
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / filename
        return path if path.exists() else None
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for candidate in (Path(folder) / "files" / filename, Path(folder) / filename):
            if candidate.exists():
                return candidate
    return None


@functools.lru_cache(maxsize=None)
def available_styles() -> tuple[Style, ...]:
    """The styles of STYLE_TABLE whose fonts are installed (Hershey fonts ship with their package)."""
    found = []
    for style in STYLE_TABLE:
        if style.kind == "sketch":
            found.append(style)
        elif style.kind == "hershey":
            if importlib.util.find_spec("HersheyFonts") is not None:
                found.append(style)
        elif font_path(style.source) is not None:
            found.append(style)
    return tuple(found)


def get_style(name: str) -> Style:
    for style in available_styles():
        if style.name == name:
            return style
    known = [s.name for s in STYLE_TABLE]
    if name in known:
        raise StyleError(f"style {name!r} needs a font that is not installed; pip install -r requirements.txt")
    raise StyleError(f"unknown style {name!r}; known styles: {', '.join(known)}")


# ---------------------------------------------------------------------------------------------------
# Glyphs in normalized coordinates
# ---------------------------------------------------------------------------------------------------


@dataclass
class Glyph:
    """One character of one style in normalized coordinates (baseline y=0, cap top y=-1).

    points:  (K, 2) float64 points on the ink (stroke vertices or a subsample of ink pixels)
    strokes: list of (k, 2) float64 polylines (Hershey) or None
    image:   PIL 'L' image of the ink (TrueType) or None; pixel = p * scale + offset
    stroke:  nominal stroke width in cap heights (0 for pen styles: the pen sets it)
    """

    points: np.ndarray
    strokes: list[np.ndarray] | None = None
    image: Image.Image | None = None
    scale: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)
    stroke: float = 0.0
    advance: float = 0.0  # width of the ink box, in cap heights

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max) of the ink in normalized coordinates."""
        lo, hi = self.points.min(0), self.points.max(0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


@functools.lru_cache(maxsize=None)
def _hershey_font(name: str):
    from HersheyFonts import HersheyFonts

    font = HersheyFonts()
    font.load_default_font(name)
    return font


@functools.lru_cache(maxsize=4096)
def hershey_glyph(font_name: str, char: str) -> Glyph:
    font = _hershey_font(font_name)
    opts = font.render_options
    cap, base = float(opts["cap_line"]), float(opts["base_line"])
    height = base - cap
    strokes = [np.asarray(s, dtype=np.float64) for s in font.strokes_for_text(char)]
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        raise StyleError(f"Hershey font {font_name!r} has no glyph for {char!r}")
    allpts = np.concatenate(strokes)
    x0 = allpts[:, 0].min()
    norm = [np.column_stack(((s[:, 0] - x0) / height, (s[:, 1] - base) / height)) for s in strokes]
    pts = np.concatenate(norm)
    return Glyph(points=pts, strokes=norm, advance=float(pts[:, 0].max()))


@functools.lru_cache(maxsize=64)
def _ttf(path: str, size: int, weight: float) -> ImageFont.FreeTypeFont:
    font = ImageFont.truetype(path, size)
    if weight:
        font.set_variation_by_axes([weight])
    return font


def _stroke_width(ink: np.ndarray) -> float:
    """Nominal stroke width in pixels of a binary ink image: 2 * area / perimeter."""
    area = ink.sum()
    if area == 0:
        return 0.0
    edges = (ink[1:, :] != ink[:-1, :]).sum() + (ink[:, 1:] != ink[:, :-1]).sum()
    return float(2.0 * area / max(edges, 1))


@functools.lru_cache(maxsize=8192)
def ttf_glyph(source: str, weight: float, char: str, cap_px: int) -> Glyph:
    """Render ``char`` with a cap height of about ``cap_px`` pixels; cached per size."""
    path = font_path(source)
    if path is None:
        raise StyleError(f"font {source} is not installed; pip install -r requirements.txt")
    probe = _ttf(str(path), 200, weight)
    cap_h = -probe.getbbox("H", anchor="ls")[1]  # height of 'H' above the baseline at size 200
    size = max(4, int(round(200 * cap_px / cap_h)))
    font = _ttf(str(path), size, weight)
    cap = -font.getbbox("H", anchor="ls")[1]
    left, top, right, bottom = font.getbbox(char, anchor="ls")
    if right <= left or bottom <= top:
        raise StyleError(f"font {source} has no visible glyph for {char!r}")
    pad = 4
    width, height = right - left + 2 * pad, bottom - top + 2 * pad
    image = Image.new("L", (width, height), 0)
    ImageDraw.Draw(image).text((pad - left, pad - top), char, font=font, fill=255, anchor="ls")
    arr = np.asarray(image)
    ys, xs = np.nonzero(arr > 127)
    if len(xs) == 0:
        raise StyleError(f"font {source} draws nothing for {char!r}")
    # normalized coordinates: p = (pixel - offset) / scale with the baseline at pixel row pad - top
    scale = float(cap)
    x_ink0 = xs.min()
    offset = (float(x_ink0), float(pad - top))
    step = max(1, len(xs) // 600)
    pts = np.column_stack(((xs[::step] + 0.5 - offset[0]) / scale, (ys[::step] + 0.5 - offset[1]) / scale))
    # include the extreme pixels so the box is exact
    ext = np.array([[xs.min(), ys[np.argmin(xs)]], [xs.max() + 1, ys[np.argmax(xs)]],
                    [xs[np.argmin(ys)], ys.min()], [xs[np.argmax(ys)], ys.max() + 1]], dtype=np.float64)
    ext = (ext - np.array(offset)) / scale
    pts = np.concatenate([pts, ext])
    return Glyph(points=pts, image=image, scale=scale, offset=offset,
                 stroke=_stroke_width(arr > 127) / scale, advance=float((xs.max() + 1 - x_ink0) / scale))


def glyph(style: Style, char: str, cap_px: float = 48, variant: int = 0) -> Glyph:
    """The glyph of ``char`` in ``style``; TrueType glyphs are rendered at a cap height from a ladder of
    sizes (steps of sqrt 2) at or above ``cap_px``, so drawing never shrinks them by more than 1.41x."""
    if style.kind == "hershey":
        return hershey_glyph(style.source, char)
    if style.kind == "sketch":
        return sketch_glyph(char, variant)
    level = int(round(2 ** (np.clip(np.ceil(2 * np.log2(max(cap_px, 8))), 8, 18) / 2)))  # 16 .. 512 px
    return ttf_glyph(style.source, style.weight, char, level)


# ---------------------------------------------------------------------------------------------------
# "pen-sketch": a single-stroke block-capital alphabet written for this book, with the variants
# people actually print (a 1 with or without flag and foot, a 7 with or without bar, open and closed 4s,
# straight and curved 9s, ...). Normalized coordinates: baseline y = 0, cap top y = -1, x to the right.
# ---------------------------------------------------------------------------------------------------


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float) -> list[tuple[float, float]]:
    """Points on an elliptic arc from angle a0 to a1 (degrees; y down, so -90 is the top, 90 the bottom)."""
    n = max(3, int(abs(a1 - a0) / 15) + 1)
    a = np.deg2rad(np.linspace(a0, a1, n))
    return [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in a]


def _line(*pts: tuple[float, float]) -> list[tuple[float, float]]:
    """A polyline with extra points on long segments (so the pen wobble bends it)."""
    out = [pts[0]]
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
        k = max(1, int(math.hypot(x1 - x0, y1 - y0) / 0.25))
        out += [(x0 + (x1 - x0) * j / k, y0 + (y1 - y0) * j / k) for j in range(1, k + 1)]
    return out


@functools.lru_cache(maxsize=1)
def _sketch_table() -> dict[str, list[list[list[tuple[float, float]]]]]:
    """char -> list of variants; a variant is a list of strokes; a stroke is a list of points."""
    L, A = _line, _arc
    O = [A(0.36, -0.5, 0.36, 0.5, -80, 285)]
    T: dict[str, list] = {
        "A": [[L((0, 0), (0.36, -1), (0.72, 0)), L((0.14, -0.38), (0.58, -0.38))],
              [L((0, 0), (0.3, -1), (0.4, -1), (0.7, 0)), L((0.15, -0.4), (0.55, -0.4))]],
        "B": [[L((0, 0), (0, -1)), L((0, -1), (0.33, -1)) + A(0.33, -0.76, 0.25, 0.24, -90, 90)
               + L((0.33, -0.52), (0, -0.52)), L((0, -0.52), (0.38, -0.52)) + A(0.38, -0.26, 0.28, 0.26, -90, 90)
               + L((0.38, 0), (0, 0))]],
        "C": [[A(0.4, -0.5, 0.4, 0.5, -40, -320)]],
        "D": [[L((0, 0), (0, -1)), L((0, -1), (0.25, -1)) + A(0.25, -0.5, 0.42, 0.5, -90, 90) + L((0.25, 0), (0, 0))],
              [L((0, -1), (0, 0)) + A(0.0, -0.5, 0.65, 0.5, 90, -90)]],
        "E": [[L((0.6, -1), (0, -1), (0, 0), (0.62, 0)), L((0, -0.5), (0.48, -0.5))],
              [L((0, -1), (0, 0)), L((0, -1), (0.6, -1)), L((0, -0.5), (0.45, -0.5)), L((0, 0), (0.6, 0))]],
        "F": [[L((0.6, -1), (0, -1), (0, 0)), L((0, -0.5), (0.45, -0.5))]],
        "G": [[A(0.4, -0.5, 0.4, 0.5, -40, -360) + L((0.8, -0.5), (0.45, -0.5))],
              [A(0.4, -0.5, 0.4, 0.5, -40, -340) + L((0.78, -0.33), (0.78, -0.05)), L((0.5, -0.4), (0.8, -0.4))]],
        "H": [[L((0, -1), (0, 0)), L((0.65, -1), (0.65, 0)), L((0, -0.5), (0.65, -0.5))]],
        "I": [[L((0.15, -1), (0.15, 0))],
              [L((0, -1), (0.34, -1)), L((0.17, -1), (0.17, 0)), L((0, 0), (0.34, 0))]],
        "J": [[L((0.5, -1), (0.5, -0.28)) + A(0.26, -0.28, 0.24, 0.28, 0, 180)],
              [L((0.2, -1), (0.75, -1)), L((0.5, -1), (0.5, -0.28)) + A(0.26, -0.28, 0.24, 0.28, 0, 180)]],
        "K": [[L((0, -1), (0, 0)), L((0.6, -1), (0, -0.42)), L((0.2, -0.6), (0.65, 0))],
              [L((0, -1), (0, 0)), L((0.6, -1), (0.02, -0.5), (0.62, 0))]],
        "L": [[L((0, -1), (0, 0), (0.55, 0))]],
        "M": [[L((0, 0), (0, -1), (0.4, -0.3), (0.8, -1), (0.8, 0))],
              [L((0, 0), (0.12, -1), (0.4, -0.35), (0.68, -1), (0.8, 0))]],
        "N": [[L((0, 0), (0, -1), (0.65, 0), (0.65, -1))]],
        "O": [O, [A(0.36, -0.5, 0.36, 0.5, -120, 250)]],
        "P": [[L((0, 0), (0, -1), (0.33, -1)) + A(0.33, -0.74, 0.28, 0.26, -90, 90) + L((0.33, -0.48), (0, -0.48))]],
        "Q": [O + [L((0.42, -0.25), (0.82, 0.06))], O + [L((0.55, -0.15), (0.8, 0.08))]],
        "R": [[L((0, 0), (0, -1), (0.33, -1)) + A(0.33, -0.74, 0.28, 0.26, -90, 90) + L((0.33, -0.48), (0, -0.48)),
               L((0.28, -0.48), (0.66, 0))],
              [L((0, 0), (0, -1), (0.33, -1)) + A(0.33, -0.74, 0.28, 0.26, -90, 90) + L((0.33, -0.48), (0.05, -0.48),
                                                                                      (0.66, 0))]],
        "S": [[A(0.33, -0.75, 0.28, 0.25, -20, -270) + A(0.33, -0.25, 0.3, 0.25, -90, 160)]],
        "T": [[L((0, -1), (0.7, -1)), L((0.35, -1), (0.35, 0))]],
        "U": [[L((0, -1), (0, -0.3)) + A(0.31, -0.3, 0.31, 0.3, 180, 0) + L((0.62, -0.3), (0.62, -1))],
              [L((0, -1), (0, -0.3)) + A(0.31, -0.3, 0.31, 0.3, 180, 0) + L((0.62, -0.3), (0.62, -1), (0.64, 0))]],
        "V": [[L((0, -1), (0.33, 0), (0.66, -1))]],
        "W": [[L((0, -1), (0.22, 0), (0.45, -0.7), (0.68, 0), (0.9, -1))],
              [L((0, -1), (0.2, 0), (0.45, -1), (0.7, 0), (0.9, -1))]],
        "X": [[L((0, -1), (0.65, 0)), L((0.65, -1), (0, 0))]],
        "Y": [[L((0, -1), (0.33, -0.5), (0.66, -1)), L((0.33, -0.5), (0.33, 0))],
              [L((0, -1), (0.33, -0.5)), L((0.66, -1), (0.05, 0.02))]],
        "Z": [[L((0, -1), (0.65, -1), (0, 0), (0.65, 0))],
              [L((0, -1), (0.65, -1), (0, 0), (0.65, 0)), L((0.15, -0.5), (0.5, -0.5))]],
        "0": [[A(0.3, -0.5, 0.3, 0.5, -80, 285)], [A(0.3, -0.5, 0.32, 0.5, -60, 300)]],
        "1": [[L((0.2, -1), (0.2, 0))], [L((0, -0.75), (0.22, -1), (0.22, 0))],
              [L((0, -0.75), (0.22, -1), (0.22, 0)), L((0, 0), (0.44, 0))]],
        "2": [[A(0.3, -0.7, 0.3, 0.3, -165, 20) + L((0.57, -0.6), (0, 0), (0.65, 0))],
              [A(0.3, -0.7, 0.3, 0.3, -165, 40) + L((0.53, -0.5), (0.1, -0.05)) + A(0.22, -0.14, 0.14, 0.13, 150, -200)
               + L((0.12, -0.02), (0.7, 0))]],
        "3": [[A(0.3, -0.75, 0.28, 0.25, -160, 90) + A(0.3, -0.26, 0.32, 0.26, -90, 160)],
              [L((0, -1), (0.6, -1), (0.22, -0.58)) + A(0.3, -0.3, 0.32, 0.3, -105, 160)]],
        "4": [[L((0.5, 0), (0.5, -1), (0, -0.3), (0.7, -0.3))],
              [L((0.08, -1), (0.0, -0.38), (0.66, -0.38)), L((0.52, -1), (0.52, 0))],
              [L((0.1, -1), (0.0, -0.4), (0.62, -0.42)), L((0.5, -0.75), (0.5, 0))]],
        "5": [[L((0.6, -1), (0.1, -1), (0.05, -0.55)) + A(0.3, -0.3, 0.32, 0.3, -125, 155)],
              [L((0.08, -1), (0.05, -0.55)) + A(0.3, -0.3, 0.32, 0.3, -125, 155), L((0.08, -1), (0.6, -1))]],
        "6": [[L((0.55, -1), (0.3, -0.85), (0.1, -0.6)) + A(0.32, -0.3, 0.3, 0.3, 180, -180)],
              [A(0.55, -0.45, 0.55, 0.55, -100, -180) + A(0.3, -0.28, 0.3, 0.28, 180, -180)]],
        "7": [[L((0, -1), (0.65, -1), (0.2, 0))], [L((0, -1), (0.65, -1), (0.2, 0)), L((0.2, -0.5), (0.6, -0.5))],
              [L((0, -0.92), (0.05, -1), (0.65, -1), (0.35, -0.45), (0.3, 0))]],
        "8": [[A(0.32, -0.76, 0.26, 0.24, 90, 450), A(0.32, -0.26, 0.32, 0.26, -90, 270)],
              [A(0.32, -0.76, 0.24, 0.24, -30, -235) + A(0.32, -0.26, 0.3, 0.26, -60, 240)
               + A(0.32, -0.76, 0.24, 0.24, 55, -30)]],
        "9": [[A(0.3, -0.7, 0.3, 0.3, 0, -360) + L((0.6, -0.7), (0.6, 0))],
              [A(0.3, -0.7, 0.3, 0.3, 0, -360) + L((0.6, -0.7), (0.55, -0.3), (0.4, 0))],
              [A(0.3, -0.7, 0.3, 0.3, 10, -350) + L((0.6, -0.65), (0.45, 0))]],
        # lowercase forms that NIST writers use for some letter classes (helpers.data.generator.LOWERCASE_SHARE);
        # x-height at -0.6, ascender at -1, descender at +0.4
        "f": [[A(0.52, -0.82, 0.2, 0.18, -20, -180) + L((0.32, -0.82), (0.32, 0)), L((0.08, -0.55), (0.58, -0.55))],
              [L((0.62, -0.95), (0.45, -1.0)) + A(0.45, -0.78, 0.16, 0.22, -90, -180) + L((0.29, -0.78), (0.29, 0.3))
               + A(0.16, 0.3, 0.13, 0.12, 0, 160), L((0.05, -0.55), (0.55, -0.55))]],
        "m": [[L((0, -0.6), (0, 0)), L((0, -0.38)) + A(0.2, -0.4, 0.2, 0.2, 180, 360) + L((0.4, -0.4), (0.4, 0)),
               L((0.4, -0.4)) + A(0.6, -0.4, 0.2, 0.2, 180, 360) + L((0.8, -0.4), (0.8, 0))],
              [L((0, 0), (0, -0.6)) + A(0.2, -0.42, 0.2, 0.18, 180, 360) + L((0.4, -0.42), (0.4, 0), (0.4, -0.42))
               + A(0.6, -0.42, 0.2, 0.18, 180, 360) + L((0.8, -0.42), (0.8, 0))]],
        "n": [[L((0, -0.6), (0, 0)), L((0, -0.38)) + A(0.25, -0.38, 0.25, 0.22, 180, 360) + L((0.5, -0.38), (0.5, 0))],
              [L((0, 0), (0, -0.6)) + A(0.26, -0.4, 0.26, 0.2, 180, 360) + L((0.52, -0.4), (0.52, 0))]],
        "q": [[A(0.26, -0.3, 0.26, 0.3, -30, -360), L((0.52, -0.6), (0.52, 0.4))],
              [A(0.26, -0.3, 0.26, 0.3, -30, -360), L((0.52, -0.6), (0.52, 0.3), (0.66, 0.2))]],
        "u": [[L((0, -0.6), (0, -0.22)) + A(0.25, -0.22, 0.25, 0.22, 180, 0) + L((0.5, -0.22), (0.5, -0.6)),
               L((0.5, -0.6), (0.52, 0))],
              [L((0, -0.6), (0, -0.22)) + A(0.25, -0.22, 0.25, 0.22, 180, 0) + L((0.5, -0.22), (0.5, -0.6), (0.5, 0),
                                                                                  (0.6, 0.02))]],
        "y": [[L((0, -0.6), (0.28, 0)), L((0.56, -0.6), (0.12, 0.4))],
              [L((0, -0.6), (0, -0.25)) + A(0.25, -0.25, 0.25, 0.22, 180, 0), L((0.5, -0.6), (0.5, 0.2))
               + A(0.27, 0.2, 0.23, 0.2, 0, 150)]],
        # punctuation for lines of text (render_text_image); not part of the 36 classes
        ".": [[[(0.04, -0.03)]]],
        ",": [[L((0.07, -0.06), (0.0, 0.16))]],
        ":": [[[(0.04, -0.55)], [(0.04, -0.03)]]],
        ";": [[[(0.07, -0.55)], L((0.07, -0.06), (0.0, 0.16))]],
        "!": [[L((0.05, -1), (0.05, -0.3)), [(0.05, -0.02)]]],
        "?": [[A(0.28, -0.72, 0.28, 0.28, -170, 90) + L((0.28, -0.44), (0.28, -0.28)), [(0.28, -0.02)]]],
        "-": [[L((0, -0.45), (0.4, -0.45))]],
        "+": [[L((0, -0.45), (0.5, -0.45)), L((0.25, -0.7), (0.25, -0.2))]],
        "'": [[L((0.05, -1.02), (0.02, -0.8))]],
        "/": [[L((0.5, -1.05), (0, 0.05))]],
        "(": [[A(0.35, -0.45, 0.3, 0.62, -110, -250)]],
        ")": [[A(-0.05, -0.45, 0.3, 0.62, -70, 70)]],
    }
    return T


@functools.lru_cache(maxsize=None)
def sketch_glyph(char: str, variant: int) -> Glyph:
    variants = _sketch_table().get(char)
    if not variants:
        extra = "".join(sorted(c for c in _sketch_table() if not c.isalnum()))
        raise StyleError(f"style pen-sketch has no glyph for {char!r} (it has A-Z, 0-9 and {extra})")
    strokes = [np.asarray(s, dtype=np.float64) for s in variants[variant % len(variants)]]
    x0 = min(s[:, 0].min() for s in strokes)
    strokes = [s - np.array([x0, 0.0]) for s in strokes]
    pts = np.concatenate(strokes)
    return Glyph(points=pts, strokes=strokes, advance=float(pts[:, 0].max()))


def n_variants(style: Style, char: str) -> int:
    """How many allographs ``style`` has for ``char`` (only pen-sketch has more than one)."""
    if style.kind == "sketch":
        return len(_sketch_table().get(char, [None]))
    return 1


# ---------------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------------


def draw_glyph(g: Glyph, A: np.ndarray, t: np.ndarray, size: tuple[int, int], pen: float = 0.0,
               jitter: np.ndarray | None = None) -> np.ndarray:
    """Draw glyph ``g`` into a (H, W) uint8 ink image (ink 255), pixel = A @ p + t.

    pen:    pen diameter in output pixels (pen styles only; TrueType glyphs carry their own width)
    jitter: per-point offsets in normalized units for pen strokes, (total points, 2), or None
    """
    h, w = size
    if g.strokes is not None:
        ss = 2  # supersampling for the pen; reduced with a box filter
        canvas = Image.new("L", (w * ss, h * ss), 0)
        draw = ImageDraw.Draw(canvas)
        width = max(1, int(round(pen * ss)))
        r = width / 2.0
        k = 0
        for stroke in g.strokes:
            p = stroke
            if jitter is not None:
                p = p + jitter[k:k + len(p)]
            k += len(stroke)
            q = (p @ A.T + t) * ss - 0.5  # PIL puts integer coordinates at pixel centres
            pts = [tuple(v) for v in q]
            if len(pts) > 1:
                draw.line(pts, fill=255, width=width, joint="curve")
            for x, y in (pts[0], pts[-1]):  # round pen ends
                draw.ellipse((x - r + 0.5, y - r + 0.5, x + r - 0.5, y + r - 0.5), fill=255)
        return np.asarray(canvas.reduce(ss))
    # TrueType: inverse map output pixel -> glyph image pixel
    Ainv = np.linalg.inv(A)
    M = g.scale * Ainv
    c = np.asarray(g.offset) - M @ t
    # PIL samples at pixel centres: input(x + .5) = M (out + .5) + c  ->  shift by (M - I) @ .5
    c = c + (M @ np.array([0.5, 0.5]) - 0.5)
    data = (M[0, 0], M[0, 1], c[0], M[1, 0], M[1, 1], c[1])
    out = g.image.transform((w, h), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)
    return np.asarray(out)
