"""Command line: ``python -m helpers ocr [--model mlp|cnn] [--json] IMAGE...`` (see helpers/__main__.py)."""
from __future__ import annotations

import contextlib
import json
import sys

import numpy as np

from .images import OCRImageError, read_image
from .reading import MODELS, load_classifier, read_page



def add_cli(subparsers) -> None:
    """Register ``python -m helpers ocr`` on an argparse subparsers object."""
    p = subparsers.add_parser(
        "ocr", help="read the text of photographed hand-printed pages",
        description="Read hand-printed capitals and digits from photos (JPEG, PNG, ...): prints the recognized "
                    "lines of each image. The first run trains the chosen model and caches it in the data "
                    "directory (BOOK_DATA_DIR or data/; BOOK_MODE=quick trains a small one). Exit status 1 when "
                    "some image could not be read (the others are still reported).")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to read")
    p.add_argument("--model", choices=("best",) + MODELS, default="best",
                   help="character classifier: mlp (chapter 3, numpy) or cnn (chapter 6, PyTorch); "
                        "default: best available (cnn when PyTorch is installed)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {path: [lines]} (null for images that could not be read)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or training messages")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    images: dict[str, np.ndarray | None] = {}
    failed = 0
    for path in args.images:
        try:
            images[path] = read_image(path)
        except OCRImageError as exc:
            print(f"ocr: {exc}", file=sys.stderr)
            images[path] = None
            failed += 1
    results: dict[str, list | None] = {p: None for p in args.images}
    if any(v is not None for v in images.values()):
        # training and loading messages go to stderr, so stdout holds only the text (or the JSON)
        with contextlib.redirect_stdout(sys.stderr):
            classifier = load_classifier(args.model, progress=not args.quiet)
        for path, image in images.items():
            if image is None:
                continue
            try:
                results[path] = read_page(image, classifier)
            except Exception as exc:  # one bad image must not stop the others
                print(f"ocr: {path}: could not read the text ({type(exc).__name__}: {exc})", file=sys.stderr)
                failed += 1
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for i, (path, lines) in enumerate(results.items()):
            if lines is None:
                continue
            print(f"== {path} ==")
            print("\n".join(lines))
            if i < len(results) - 1:
                print()
    return 1 if failed else 0
