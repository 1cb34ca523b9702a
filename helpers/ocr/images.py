"""Images in: reading a photo file, checking an array, grayscale at a working size, resizing.

Everything here is plumbing the later steps share; none of it is specific to text.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


class OCRImageError(ValueError):
    """An input is missing, unreadable or not an image."""


def read_image(path: str | Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB, turned upright by its EXIF orientation (phone photos).

    Raises :class:`OCRImageError` with a readable message when the file is missing, is a folder,
    or is not an image PIL can decode.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise OCRImageError(f"{path}: no such file")
    if p.is_dir():
        raise OCRImageError(f"{path}: is a folder, not an image file")
    try:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit or float gray: scale to 8 bits
                x = np.asarray(im, dtype=np.float64)
                x = x / (65535.0 if x.max() > 255 else 255.0)
                arr = np.repeat((np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=2)
            elif "A" in im.getbands() or "transparency" in im.info:  # transparent parts become white paper
                rgba = im.convert("RGBA")
                paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                paper.alpha_composite(rgba)
                arr = np.asarray(paper.convert("RGB"))
            else:
                arr = np.asarray(im.convert("RGB"))
    except UnidentifiedImageError:
        raise OCRImageError(f"{path}: not an image file (PIL cannot identify it; use a JPEG or PNG photo)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise OCRImageError(f"{path}: unreadable image ({type(exc).__name__}: {exc}); the file may be cut short "
                            "(an interrupted copy or download): copy or export the photo again") from None
    if arr.ndim != 3 or arr.shape[0] < 8 or arr.shape[1] < 8:
        raise OCRImageError(f"{path}: image of shape {arr.shape} is too small to hold text; use a photo of the "
                            "page at least 8 pixels a side (a phone photo is thousands)")
    return arr


def check_image(image) -> np.ndarray:
    """``image`` as (H, W) or (H, W, 3) uint8, or float32 in [0, 1] (an alpha channel is dropped);
    raises ValueError saying what is wrong with any other input."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"image must be (H, W) gray or (H, W, 3) RGB (uint8, or float in [0, 1]); got shape "
                         f"{image.shape}")
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise ValueError(f"image of shape {image.shape} is too small to hold text")
    if image.dtype != np.uint8:
        if not np.issubdtype(image.dtype, np.number) or np.issubdtype(image.dtype, np.complexfloating):
            raise ValueError(f"image must hold numbers, got dtype {image.dtype}")
        image = image.astype(np.float32, copy=False)
        if not np.isfinite(image).all():
            raise ValueError("image contains NaN or infinite values")
        if image.max() > 1.0 + 1e-3 or image.min() < -1e-3:
            raise ValueError(f"a float image must be in [0, 1] (got [{image.min():.3g}, {image.max():.3g}]); "
                             "pass uint8 for 0-255 data")
    return image


_GRAY_WEIGHTS = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)  # skimage.color.rgb2gray


def gray_reduced(image: np.ndarray, factor: int) -> np.ndarray:
    """Grayscale (skimage's rgb2gray weights) averaged over factor x factor blocks.

    image: (H, W) or (H, W, 3) uint8, or float32 in [0, 1] (as :func:`check_image` returns).
    Returns (H // factor, W // factor) float32 in [0, 1].
    """
    if image.dtype == np.uint8:
        from PIL import Image

        im = Image.fromarray(image)
        if factor > 1:
            im = im.reduce(factor)  # box filter in C: fast even on 12-megapixel photos
        x = np.asarray(im, dtype=np.float32) * np.float32(1 / 255)
    else:
        x = image
        if factor > 1:
            h, w = x.shape[0] // factor * factor, x.shape[1] // factor * factor
            x = x[:h, :w].reshape(h // factor, factor, w // factor, factor, *x.shape[2:]).mean(axis=(1, 3))
    if x.ndim == 3:
        x = x @ _GRAY_WEIGHTS
    return np.ascontiguousarray(x, dtype=np.float32)


def resize(x: np.ndarray, shape: tuple[int, int], resample: str = "bilinear") -> np.ndarray:
    """Resize a (h, w) float image to ``shape`` with PIL (antialiased when shrinking): float32.

    resample: 'bilinear', 'box' or 'bicubic'.
    """
    from PIL import Image

    mode = {"bilinear": Image.BILINEAR, "box": Image.BOX, "bicubic": Image.BICUBIC}[resample]
    im = Image.fromarray(np.ascontiguousarray(x, dtype=np.float32), mode="F")
    return np.asarray(im.resize((int(shape[1]), int(shape[0])), mode), dtype=np.float32)


def blocks_to_pixels(x: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """Undo a factor x factor block reduction: repeat every pixel, cut or pad (edge) to ``shape``."""
    if factor <= 1:
        return x
    H, W = shape
    x = np.repeat(np.repeat(x, factor, axis=0), factor, axis=1)[:H, :W]
    if x.shape != (H, W):  # the last partial block
        x = np.pad(x, ((0, H - x.shape[0]), (0, W - x.shape[1])), mode="edge")
    return x
