"""The synthetic test pages: phone photos of hand-printed pages with known text.

:func:`make_test_page` writes a few lines (random words and numbers, or given text) in one of the
handwriting styles held out of the training characters, lays them on paper under uneven light,
turns, blurs, adds sensor noise and stores a JPEG. ``spacing`` and ``breaks`` make pages that break
the two assumptions of the connected-components method.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import config
from ..data import CLASSES
from .images import resize

HOMEWORK_PAGES: dict[str, list[str]] = {
    # the texts of the homework's four test photos (hand-printed capitals)
    "todo": ["TO DO LIST", "1 MAKE A TO DO LIST", "2 CHECK OFF THE FIRST", "THING ON TO DO LIST",
             "3 REALIZE YOU HAVE ALREADY", "COMPLETED 2 THINGS", "4 REWARD YOURSELF WITH", "A NAP"],
    "alphabet": ["ABCDEFG", "HIJKLMN", "OPQRSTU", "VWXYZ", "1234567890"],
    "haiku": ["HAIKUS ARE EASY", "BUT SOMETIMES THEY DONT MAKE SENSE", "REFRIGERATOR"],
    "deep": ["DEEP LEARNING", "DEEPER LEARNING", "DEEPEST LEARNING"],
}

_WORDS = (
    "THE OF AND TO IN IS IT THAT FOR ON WITH AS WAS AT BY BE THIS FROM OR HAVE AN ARE NOT BUT WE ALL CAN "
    "NEURAL NETWORK LAYER WEIGHT BIAS INPUT OUTPUT HIDDEN TRAIN TEST DATA BATCH EPOCH LOSS RATE LEARN "
    "DEEP MODEL IMAGE PIXEL LETTER DIGIT PAGE LINE WORD TEXT READ WRITE PEN INK PAPER PHOTO LIGHT SHADOW "
    "SOFTMAX SIGMOID GRADIENT MATRIX VECTOR SCORE CLASS LABEL FILTER KERNEL STRIDE POOL NOISE BLUR "
    "MONDAY FRIDAY JUNE MARCH CALL BUY MILK BREAD EGGS COFFEE TEA BOOK ROOM NOTE LIST DONE TODO MEET "
    "QUIZ JAZZ BOX FOX QUICK BROWN LAZY JUMPS OVER DOG ZERO SIX WAX VEX KEY JOB ZIP YES NO ONE TWO "
    "HOMEWORK LAB CODE PYTHON NUMPY TORCH PLOT GRAPH CHART TABLE ROW COLUMN SHAPE SIZE"
).split()


@dataclass
class TestPage:
    """A generated photo of a hand-printed page with its ground truth.

    image: (H, W, 3) uint8 RGB, as decoded from a JPEG
    lines: the text, one string per line (A-Z, 0-9 and single spaces)
    style: the handwriting style (a held-out style of :func:`helpers.data.styles`)
    ink, angle_deg, blur, noise, jpeg_quality, cap_height (capital height in pixels): the settings drawn
    sheet: (H, W) bool where the paper is, for a page on a desk (None: the paper fills the photo)
    """

    image: np.ndarray
    lines: list
    style: str
    ink: str
    angle_deg: float
    blur: float
    noise: float
    jpeg_quality: int
    cap_height: float
    shadow: bool
    sheet: np.ndarray | None = None

    @property
    def n_chars(self) -> int:
        """Characters to detect (spaces excluded)."""
        return sum(len(s.replace(" ", "")) for s in self.lines)


TestPage.__test__ = False  # type: ignore[attr-defined]  # not a pytest test class


def random_lines(rng: np.random.Generator, n_lines: int | None = None) -> list[str]:
    """Random page text: 3-8 lines of 1-4 words (about one word in six a number)."""
    n_lines = int(rng.integers(3, 9)) if n_lines is None else int(n_lines)
    lines = []
    for _ in range(n_lines):
        words = []
        for _ in range(int(rng.integers(1, 5))):
            if rng.random() < 0.17:
                words.append(str(int(rng.integers(0, 10 ** int(rng.integers(1, 5))))))
            else:
                words.append(_WORDS[int(rng.integers(len(_WORDS)))])
        lines.append(" ".join(words))
    return lines


WIDE_LETTERS = "MNWU"


def _compose_line(text: str, style: str, height: int, rng: np.random.Generator, spacing: float | None,
                  wide: float = 1.0) -> np.ndarray:
    """One line's ink (1 = ink) from :func:`helpers.data.render_text_image`; with ``spacing`` the
    characters are rendered one by one and placed ``spacing`` cap heights apart (negative: they
    overlap and touch), and the letters of :data:`WIDE_LETTERS` are stretched ``wide`` times across."""
    from ..data import render_text_image

    cap = 0.6 * height
    if spacing is None:
        # the leading space keeps every glyph inside the image whatever the glyph's left edge
        ink = 1.0 - render_text_image(" " + text, style, height, rng)
        cols = np.nonzero(ink.max(0) > 0.06)[0]
        return ink[:, max(cols[0] - int(0.3 * cap), 0):] if len(cols) else ink
    pieces, x = [], 0
    for ch in text:
        if ch == " ":
            x += int(round(0.9 * cap))
            continue
        ink = 1.0 - render_text_image(" " + ch, style, height, rng)
        cols = np.nonzero(ink.max(0) > 0.06)[0]
        if len(cols) == 0:
            continue
        ink = ink[:, cols[0]:cols[-1] + 1]
        if wide != 1.0 and ch in WIDE_LETTERS:
            ink = np.clip(resize(ink, (ink.shape[0], max(1, int(round(wide * ink.shape[1]))))), 0, 1)
        pieces.append((x, ink))
        x += ink.shape[1] + int(round(spacing * cap))
    pad = int(0.3 * cap)
    line = np.zeros((height, max(x, 1) + 2 * pad + max((p.shape[1] for _, p in pieces), default=0)), np.float32)
    for x0, ink in pieces:
        sl = line[:, pad + x0:pad + x0 + ink.shape[1]]
        np.maximum(sl, ink, out=sl)
    cols = np.nonzero(line.max(0) > 0.06)[0]
    return line[:, : (cols[-1] + pad + 1) if len(cols) else line.shape[1]]


def make_test_page(seed: int = 0, size: tuple[int, int] = (3000, 4000), *, lines: Sequence[str] | None = None,
                   style: str | None = None, ink: str | None = None, angle_deg: float | None = None,
                   blur: float | None = None, noise: float | None = None, jpeg_quality: int | None = None,
                   shadow: bool | None = None, cap_height: float | None = None, spacing: float | None = None,
                   breaks: float = 0.0, shear: float = 0.0, pen: float = 1.0, desk: str | None = None,
                   desk_angle: float | None = None, desk_fill: float = 1.0, wide: float = 1.0,
                   clutter: str | None = None) -> TestPage:
    """A realistic phone photo of a hand-printed page with known text (for evaluation).

    seed:   everything random is drawn from it (the same seed and arguments give the same page)
    size:   (H, W) of the photo; (3000, 4000) is a 12-megapixel photo
    lines:  the text (default: 3-8 random lines of words and numbers); upper-cased
    style:  handwriting style, default a random held-out style (``helpers.data.styles('test')``)
    ink:    'black' or 'blue' (default: random)
    angle_deg: rotation of the page in the photo (default uniform in [-3, 3])
    blur:   gaussian blur sigma in photo pixels, relative to a 4000-pixel-wide photo (default 0.5-2)
    noise:  sensor noise standard deviation (default 0.01-0.03)
    jpeg_quality: JPEG quality (default 70-92); 0 skips the compression
    shadow: add a soft shadow across part of the page (default: on 60% of pages)
    cap_height: capital height as a fraction of the photo height (default 0.03-0.055, smaller if a
            long line needs it)
    spacing: place characters this many cap heights apart (default: the natural spacing 0.1-0.3);
            negative values make neighbours overlap (breaks "characters are separated")
    breaks: thickness (in cap heights) of a paper-coloured band erased through about half of each
            line (breaks "every character is one connected piece"); 0 = none
    shear:  slant of the print, horizontal shift per unit of height (0.3 leans about 17 degrees right)
    pen:    stroke width relative to the style's (0.4 is a thin ball-point); 1 = unchanged
    desk:   None (the sheet fills the photo) or 'dark' / 'wood': the sheet lies on a desk, turned by
            ``desk_angle`` degrees (default 20-40, either sign) and partly out of frame; the text stays in frame
    desk_fill: with ``desk``, the turned sheet spans at most this fraction of the frame's width and height
            (0.5: a sheet covering about a quarter of the photo or less, on a large desk)
    wide:   the letters M, N, W and U drawn this many times as wide (needs ``spacing``: characters placed
            one by one)
    clutter: None, 'pen' (a pen lying across the page, with its shadow, where there is no text) or
            'edge' (the edge of a second page in view along one side of the photo, with the thin dark
            shadow it casts); drawn from a separate random stream, so the text and page are unchanged

The defaults of ``shear``, ``pen`` and ``desk`` draw nothing from the random generator, so pages made
without them are identical to earlier versions of this function.

    The paper is off-white with a lighting gradient, vignetting, fibre texture and optional shadow;
    ink is black or blue; the photo is blurred, noisy and JPEG-compressed.
    """
    from PIL import Image
    from scipy import ndimage

    from ..data import styles as data_styles

    H, W = int(size[0]), int(size[1])
    if H < 64 or W < 64:
        raise ValueError(f"size must be at least (64, 64), got {size}")
    rng = np.random.default_rng([config.seeded(int(seed)), 4_2017])
    text = [" ".join(str(s).upper().split()) for s in lines] if lines is not None else random_lines(rng)
    bad = sorted({c for s in text for c in s if c != " " and c not in CLASSES})
    if bad:
        raise ValueError(f"lines may hold only A-Z, 0-9 and spaces; found {bad}")
    test_styles = data_styles("test")
    style = style if style is not None else test_styles[int(rng.integers(len(test_styles)))]
    ink = ink if ink is not None else ("blue" if rng.random() < 0.5 else "black")
    if ink not in ("black", "blue"):
        raise ValueError(f"ink must be 'black' or 'blue', got {ink!r}")
    angle_deg = float(rng.uniform(-3, 3)) if angle_deg is None else float(angle_deg)
    blur = float(rng.uniform(0.5, 2.0)) if blur is None else float(blur)
    noise = float(rng.uniform(0.01, 0.03)) if noise is None else float(noise)
    jpeg_quality = int(rng.integers(70, 93)) if jpeg_quality is None else int(jpeg_quality)
    shadow = bool(rng.random() < 0.6) if shadow is None else bool(shadow)
    cap_frac = float(rng.uniform(0.03, 0.055)) if cap_height is None else float(cap_height)

    # 1. the lines, rendered at about half the final resolution
    cap_final = cap_frac * H
    render_h = int(np.clip(round(cap_final / 0.6 / 2.0), 24, 200))
    if clutter not in (None, "pen", "edge"):
        raise ValueError(f"clutter must be None, 'pen' or 'edge', got {clutter!r}")
    if wide != 1.0 and spacing is None:
        raise ValueError("wide needs spacing (the characters are placed one by one)")
    inks = [_compose_line(s, style, render_h, rng, spacing, wide) for s in text]
    if shear:
        inks = [_shear(im, shear) for im in inks]
    if pen != 1.0:
        inks = [_thin_strokes(im, pen) for im in inks]
    if breaks > 0:
        cap = 0.6 * render_h
        seg = max(int(cap), 1)
        for im in inks:
            # a paper-coloured band through the middle of the letters, over about half of the line
            y0 = int(0.78 * render_h - rng.uniform(0.3, 0.6) * cap)
            band = slice(max(y0, 0), y0 + max(1, int(round(breaks * cap))))
            for x in range(0, im.shape[1], seg):
                if rng.random() < 0.5:
                    im[band, x:x + seg] = 0.0
    pitch = render_h * rng.uniform(1.05, 1.5)
    block_w = max(im.shape[1] for im in inks)
    block_h = pitch * (len(inks) - 1) + render_h
    # 2. scale: render pixels -> photo pixels, so the block fits with margins
    S = min(cap_final / (0.6 * render_h), 0.88 * W / block_w, 0.85 * H / block_h)
    if desk is not None:
        if desk not in ("dark", "wood"):
            raise ValueError(f"desk must be None, 'dark' or 'wood', got {desk!r}")
        if desk_angle is None:
            desk_angle = float(rng.uniform(20, 40)) * (1 if rng.random() < 0.5 else -1)
        # the turned sheet (the block plus margins) must fit: shrink the writing
        t = math.radians(abs(desk_angle))
        sheet_h, sheet_w = 1.5 * block_h + 0.2 * block_w, 1.2 * block_w
        fit_w = (sheet_w * math.cos(t) + sheet_h * math.sin(t)) / W
        fit_h = (sheet_w * math.sin(t) + sheet_h * math.cos(t)) / H
        S = min(S, float(desk_fill) / max(fit_w, fit_h))
    page_h, page_w = int(math.ceil(H / S)), int(math.ceil(W / S))
    alpha = np.zeros((page_h, page_w), np.float32)
    x_room = max(page_w - block_w, 0)
    y_room = max(page_h - block_h, 0)
    x0 = int(rng.uniform(0.2, 0.8) * x_room) if x_room else 0
    y0 = int(rng.uniform(0.25, 0.75) * y_room) if y_room else 0
    for i, im in enumerate(inks):
        yy = int(y0 + i * pitch)
        xx = int(np.clip(x0 + rng.normal(0, 0.2) * render_h, 0, max(page_w - im.shape[1], 0)))
        h_, w_ = min(im.shape[0], page_h - yy), min(im.shape[1], page_w - xx)
        if h_ > 0 and w_ > 0:
            sl = alpha[yy:yy + h_, xx:xx + w_]
            np.maximum(sl, im[:h_, :w_], out=sl)
    sheet = None
    if desk is not None:
        alpha, sheet = _on_desk(alpha, (y0, x0, y0 + block_h, x0 + block_w), desk_angle, rng)
    # 3. camera: rotation and blur at render scale, then up to the photo size
    if angle_deg:
        alpha = np.asarray(Image.fromarray(alpha, mode="F").rotate(angle_deg, resample=Image.BILINEAR), np.float32)
    blur_r = blur * (W / 4000) / S
    if blur_r > 0.2:
        alpha = ndimage.gaussian_filter(alpha, blur_r)
    alpha = np.clip(resize(alpha, (H, W), "bilinear"), 0, 1)
    if sheet is not None:
        if blur_r > 0.2:
            sheet = ndimage.gaussian_filter(sheet, blur_r)
        sheet = np.clip(resize(sheet, (H, W), "bilinear"), 0, 1)
    # 4. paper, light and shadow (smooth fields at 1/16 scale)
    h16, w16 = max(H // 16, 4), max(W // 16, 4)
    yy, xx = np.mgrid[0:h16, 0:w16].astype(np.float32)
    yy, xx = yy / h16 - 0.5, xx / w16 - 0.5
    phi = rng.uniform(0, 2 * np.pi)
    light = 1.0 + rng.uniform(0.1, 0.3) * (np.cos(phi) * xx + np.sin(phi) * yy) \
        - rng.uniform(0.05, 0.2) * (xx ** 2 + yy ** 2) * 2
    if shadow:
        psi = rng.uniform(0, 2 * np.pi)
        d = np.cos(psi) * xx + np.sin(psi) * yy - rng.uniform(0.2, 0.45)
        light = light * (1 - rng.uniform(0.25, 0.45) / (1 + np.exp(-d / rng.uniform(0.02, 0.06))))
    texture = ndimage.gaussian_filter(rng.normal(0, 1, (h16, w16)).astype(np.float32), 1.5) * rng.uniform(0.01, 0.03)
    light = light * (1 + texture) * rng.uniform(0.8, 0.95)
    light = resize(light.astype(np.float32), (H, W))
    if sheet is not None:  # the desk: darker, brownish, with grain; the paper colour is mixed in below
        desk_rgb, desk_tex = _desk_surface(desk, (H, W), rng)
    paper = np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.88, 0.97)], np.float32)
    ink_rgb = (np.array([0.10, 0.10, 0.12]) + rng.uniform(-0.05, 0.05)) if ink == "black" else \
        np.array([rng.uniform(0.05, 0.15), rng.uniform(0.12, 0.25), rng.uniform(0.45, 0.65)])
    ink_rgb = np.asarray(ink_rgb, np.float32)
    # photo = light * (paper - alpha * (paper - ink)) + grain, in place on 12-megapixel arrays
    grain = rng.standard_normal((H, W), dtype=np.float32)
    grain *= np.float32(noise * 255)
    grain += np.float32(0.5)
    alpha *= light
    photo = np.empty((H, W, 3), np.uint8)
    ch = np.empty((H, W), np.float32)
    for c in range(3):
        np.multiply(light, np.float32(255 * paper[c]), out=ch)
        if sheet is not None:
            ch *= sheet
            ch += (1 - sheet) * light * desk_tex * np.float32(255 * desk_rgb[c])
        ch -= alpha * np.float32(255 * (paper[c] - ink_rgb[c]))
        ch += grain
        np.clip(ch, 0, 255, out=ch)
        photo[..., c] = ch
    if clutter is not None:  # block: the text's box in photo pixels (the small camera turn ignored)
        block_px = (y0 * H / page_h, x0 * W / page_w, (y0 + block_h) * H / page_h, (x0 + block_w) * W / page_w)
        _add_clutter(photo, clutter, block_px, cap_final, np.random.default_rng([config.seeded(int(seed)), 4_2017, 7]))
    # 5. JPEG
    if jpeg_quality > 0:
        import io

        buf = io.BytesIO()
        Image.fromarray(photo).save(buf, format="JPEG", quality=jpeg_quality)
        buf.seek(0)
        photo = np.asarray(Image.open(buf).convert("RGB"))
    return TestPage(photo, text, style, ink, angle_deg if desk is None else angle_deg + desk_angle, blur, noise,
                    jpeg_quality, cap_final * 1.0, shadow, None if sheet is None else sheet > 0.5)


def _shear(ink: np.ndarray, shear: float) -> np.ndarray:
    """A line's ink slanted: the image is widened and row y shifted by ``shear * (h - 1 - y)``."""
    h, w = ink.shape
    extra = int(math.ceil(abs(shear) * h))
    out = np.zeros((h, w + extra), np.float32)
    out[:, :w] = ink
    return _shear_rows(out, shear)


def _shear_rows(img: np.ndarray, shear: float) -> np.ndarray:
    """Shift each row of ``img`` right by ``shear * (h - 1 - y)`` pixels (linear interpolation)."""
    h, w = img.shape
    out = np.zeros_like(img)
    xs = np.arange(w, dtype=np.float64)
    base = 0.0 if shear > 0 else shear * (h - 1)
    for y in range(h):
        shift = shear * (h - 1 - y) - base
        out[y] = np.interp(xs - shift, xs, img[y], left=0.0, right=0.0)
    return out


def _thin_strokes(ink: np.ndarray, pen: float) -> np.ndarray:
    """A line's ink drawn with a pen ``pen`` times as wide (< 1 thinner: grey erosion; > 1 dilation)."""
    from scipy import ndimage

    from .crops import stroke_width

    width = stroke_width(ink > 0.5)
    k = int(round(abs(1 - pen) * width))
    if k < 1:
        return ink
    if pen < 1:
        return ndimage.grey_erosion(ink, size=(k + 1, k + 1))
    return ndimage.grey_dilation(ink, size=(k + 1, k + 1))


def _on_desk(alpha: np.ndarray, block: tuple, angle_deg: float, rng: np.random.Generator):
    """The page's ink on a sheet turned by ``angle_deg`` about the text block's centre and shifted so
    that a corner of the sheet leaves the frame while the text stays inside. Returns (alpha, sheet), both
    (h, w) float32 in [0, 1] at the render scale."""
    from scipy import ndimage

    h, w = alpha.shape
    y0, x0, y1, x1 = block
    bh, bw = y1 - y0, x1 - x0
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    # the sheet: the block with margins (more below, as on a half-written page)
    sy0, sy1 = cy - 0.5 * bh - 0.15 * bw - 0.1 * bh, cy + 0.5 * bh + 0.05 * bw + 0.4 * bh
    sx0, sx1 = cx - 0.6 * bw, cx + 0.6 * bw
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sheet = ((yy >= sy0) & (yy < sy1) & (xx >= sx0) & (xx < sx1)).astype(np.float32)
    t = math.radians(angle_deg)
    c, s = math.cos(t), math.sin(t)
    # where the block's corners land after turning about the frame centre, to choose a shift that keeps them in
    fy, fx = h / 2, w / 2
    corners = np.array([[y0, x0], [y0, x1], [y1, x0], [y1, x1]], np.float64) - [fy, fx]
    rot = np.array([[c, s], [-s, c]])  # (dy, dx) -> turned by angle_deg counter-clockwise on screen
    cr = corners @ rot.T
    lo, hi = -np.array([fy, fx]) * 0.97 - cr.min(0), np.array([fy, fx]) * 0.97 - cr.max(0)
    # near one end of the allowed range, so the sheet's margin usually leaves the frame
    u = np.where(rng.random(2) < 0.5, rng.uniform(0.0, 0.12, 2), rng.uniform(0.88, 1.0, 2))
    shift = np.where(hi > lo, lo + u * (hi - lo), 0.0)
    # output pixel p reads input rot^-1 (p - centre - shift) + centre
    inv = rot.T
    offset = np.array([fy, fx]) - inv @ (np.array([fy, fx]) + shift)
    turn = lambda a: ndimage.affine_transform(a, inv, offset=offset, order=1, output_shape=a.shape, cval=0.0)
    return turn(alpha).astype(np.float32), turn(sheet).astype(np.float32)


def _desk_surface(kind: str, shape: tuple, rng: np.random.Generator):
    """The desk's colour (3,) and brightness texture (H, W) float32: a dark desk or wood grain."""
    from scipy import ndimage

    H, W = shape
    h16, w16 = max(H // 8, 4), max(W // 8, 4)
    if kind == "dark":
        rgb = np.array([0.16, 0.15, 0.15]) * rng.uniform(0.6, 1.6)
        tex = 1 + 0.15 * ndimage.gaussian_filter(rng.normal(0, 1, (h16, w16)), 2.0)
    else:
        rgb = np.array([0.45, 0.30, 0.18]) * rng.uniform(0.6, 1.1)
        phi = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h16, 0:w16] / max(h16, w16)
        u = np.cos(phi) * xx + np.sin(phi) * yy
        grain = np.sin(2 * np.pi * (u * rng.uniform(20, 40) + 0.8 * ndimage.gaussian_filter(
            rng.normal(0, 1, (h16, w16)), 6.0) * 10))
        tex = 1 + 0.25 * grain + 0.1 * ndimage.gaussian_filter(rng.normal(0, 1, (h16, w16)), 1.0)
    return np.asarray(rgb, np.float32), np.clip(resize(tex.astype(np.float32), (H, W)), 0.2, 2.0)


def _add_clutter(photo: np.ndarray, kind: str, block: tuple, cap: float, rng: np.random.Generator) -> None:
    """Draw non-text into ``photo`` (H, W, 3) uint8, in place, away from the text ``block`` (y0, x0, y1, x1
    in photo pixels; ``cap`` the capital height in pixels).

    'pen': a dark pen body (0.8-1.3 cap heights thick, 40-60% of the photo long) with a lighter highlight
    along it, a pointed tip and a soft shadow, lying in the widest empty band above or below the text;
    'edge': a second page whose edge runs along one side (the widest empty band), a little brighter or
    darker than this page, casting a thin dark shadow whose depth varies along it (so a threshold breaks it
    into dashes)."""
    H, W = photo.shape[:2]
    y0, x0, y1, x1 = block
    bands = {"top": y0, "bottom": H - y1, "left": x0, "right": W - x1}
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    img = photo.astype(np.float32)
    if kind == "pen":
        side = "top" if bands["top"] > bands["bottom"] else "bottom"
        band = bands[side]
        cy = 0.5 * band if side == "top" else H - 0.5 * band
        length = float(rng.uniform(0.4, 0.6)) * W
        width = float(rng.uniform(0.8, 1.3)) * cap
        room = max(band - 2 * width, 1.0)
        max_tilt = math.degrees(math.asin(min(1.0, room / length)))
        tilt = math.radians(float(rng.uniform(-1, 1)) * min(12.0, 0.8 * max_tilt))
        cx = float(rng.uniform(0.3, 0.7)) * W
        c, s = math.cos(tilt), math.sin(tilt)
        u = (xx - cx) * c + (yy - cy) * s  # along the pen
        v = -(xx - cx) * s + (yy - cy) * c  # across it
        half = length / 2
        # the body, and a tip narrowing to a point over the last 12% of the length
        taper = np.clip((half - u) / (0.12 * length), 0, 1)
        radius = np.where(u > half - 0.12 * length, 0.5 * width * (0.25 + 0.75 * taper), 0.5 * width)
        body = (np.abs(u) <= half) & (np.abs(v) <= radius)
        shadow = np.exp(-np.maximum(np.abs(v - 0.6 * width) - 0.3 * width, 0) ** 2 / (2 * (0.4 * width) ** 2))
        shadow = shadow * np.clip((half + 0.5 * width - np.abs(u)) / width, 0, 1)  # soft at the ends too
        img *= (1 - 0.35 * shadow)[..., None]
        colour = np.array([[30, 30, 40], [25, 40, 110], [110, 20, 25]][int(rng.integers(3))], np.float32)
        shade = 1 + 1.6 * np.exp(-((v + 0.2 * width) / (0.12 * width)) ** 2)  # the highlight along the body
        pen_rgb = np.clip(colour[None, None, :] * shade[..., None], 0, 255)
        img = np.where(body[..., None], pen_rgb, img)
    else:
        side = max(bands, key=bands.get)
        band = bands[side]
        gap = float(rng.uniform(0.35, 0.6)) * band  # the edge's distance from the photo's side
        tilt = math.tan(math.radians(float(rng.uniform(-3, 3))))
        if side in ("top", "bottom"):
            along, across, ref = xx, yy, (gap if side == "top" else H - gap)
            sign = -1.0 if side == "top" else 1.0
        else:
            along, across, ref = yy, xx, (gap if side == "left" else W - gap)
            sign = -1.0 if side == "left" else 1.0
        d = (across - ref - tilt * (along - along.mean())) * sign  # > 0 beyond the edge: the second page
        second = 1 + float(rng.choice([-1, 1])) * float(rng.uniform(0.04, 0.1))
        soft = 1 / (1 + np.exp(-np.clip(d / 1.5, -50, 50)))
        n = max(8, int(along.max() / (2 * cap)))
        prof = np.interp(np.linspace(0, 1, int(along.max()) + 1), np.linspace(0, 1, n), rng.uniform(0.2, 0.75, n))
        depth = prof[along.astype(np.int64)]
        sigma = float(rng.uniform(0.08, 0.15)) * cap
        line = depth * np.exp(-(d + 0.5 * sigma) ** 2 / (2 * sigma ** 2))
        img *= ((1 + (second - 1) * soft) * (1 - line))[..., None]
    np.clip(img, 0, 255, out=img)
    photo[...] = img.astype(np.uint8)
