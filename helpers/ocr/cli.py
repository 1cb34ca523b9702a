"""Command line: ``python -m helpers ocr [--model mlp|cnn] [--json] IMAGE...`` (see helpers/__main__.py).

With the true text the same command scores the reading: ``python -m helpers ocr photo.jpg --truth
photo.txt`` (one ``--truth`` per image, in order), or ``python -m helpers ocr --photos data/photos``
for every photo of a folder with its ``NAME.txt`` (:mod:`.photos`).
"""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import numpy as np

from .images import OCRImageError, read_image
from .photos import IMAGE_SUFFIXES, Photo, find_photos, format_scores, score_photos, total_score
from .reading import MODELS, load_classifier, read_page


def add_cli(subparsers) -> None:
    """Register ``python -m helpers ocr`` on an argparse subparsers object."""
    p = subparsers.add_parser(
        "ocr", help="read the text of photographed hand-printed pages",
        description="Read hand-printed capitals and digits from photos (JPEG, PNG, ...): prints the recognized "
                    "lines of each image. The first run trains the chosen model and caches it in the data "
                    "directory (BOOK_DATA_DIR or data/; BOOK_MODE=quick trains a small one). Exit status 1 when "
                    "some image could not be read (the others are still reported). With --truth or --photos the "
                    "readings are also scored against the true text: character accuracy with and without "
                    "spaces, and whether the number of lines is right, per photo and in total.")
    p.add_argument("images", nargs="*", metavar="IMAGE", help="image files to read")
    p.add_argument("--truth", action="append", metavar="FILE", default=[],
                   help="the true text of an IMAGE, one line of the page per line of the file; give one --truth "
                        "per IMAGE, in the same order, to score the readings")
    p.add_argument("--photos", metavar="FOLDER",
                   help="read and score every photo in FOLDER (NAME.jpg, .jpeg or .png, with its true text in "
                        "NAME.txt beside it), e.g. data/photos")
    p.add_argument("--model", choices=("best",) + MODELS, default="best",
                   help="character classifier: mlp (chapter 3, numpy) or cnn (chapter 6, PyTorch); "
                        "default: best available (cnn when PyTorch is installed)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {path: [lines]} (null for images that could not be read); with "
                        "--truth or --photos {\"photos\": {path: {lines, truth, scores, problem}}, \"total\": {...}}")
    p.add_argument("--quiet", action="store_true", help="no progress bars or training messages")
    p.set_defaults(func=_run_cli)


def _classifier(args):
    # training and loading messages go to stderr, so stdout holds only the text (or the JSON)
    with contextlib.redirect_stdout(sys.stderr):
        return load_classifier(args.model, progress=not args.quiet)


def _run_cli(args) -> int:
    if args.truth or args.photos:
        return _run_scoring(args)
    if not args.images:
        print("ocr: give the IMAGE files to read (or --photos FOLDER to read and score a folder of photos)",
              file=sys.stderr)
        return 2
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
        classifier = _classifier(args)
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


def _photos_of(args) -> tuple[list[Photo] | None, str, int]:
    """``(photos, '', 0)``: the photos to score, or ``(None, why it cannot start, exit status)``."""
    photos: list[Photo] = []
    if args.truth:
        if len(args.truth) != len(args.images):
            return None, (f"give one --truth file per IMAGE, in the same order: {len(args.images)} "
                          f"image{'s' if len(args.images) != 1 else ''} and {len(args.truth)} --truth"), 2
        photos += [Photo(Path(img), Path(t)) for img, t in zip(args.images, args.truth)]
    else:
        photos += [Photo(Path(img), None) for img in args.images]
    if args.photos:
        folder = Path(args.photos)
        if not folder.is_dir():
            return None, (f"{folder}: no such folder; put photos there (NAME.jpg, .jpeg or .png) with their true text "
                          "in NAME.txt, one line of the page per line"), 1
        found = find_photos(folder)
        if not found:
            return None, (f"{folder}: no photos ({', '.join(IMAGE_SUFFIXES)}) in it; add photos of hand-printed pages "
                          "with their true text in NAME.txt, one line of the page per line"), 1
        photos += found
    return photos, "", 0


def _run_scoring(args) -> int:
    photos, problem, status = _photos_of(args)
    if photos is None:
        print(f"ocr: {problem}", file=sys.stderr)
        return status
    classifier = None

    def reader(image):
        nonlocal classifier  # loaded (trained on first use) only when an image can be read
        classifier = classifier or _classifier(args)
        return read_page(image, classifier)

    rows = score_photos(photos, reader)
    failed = 0
    for ph, row in zip(photos, rows):
        # an image that could not be read, or a truth file given or found that could not be used, fails
        if row["lines"] is None or (ph.truth is not None and row["truth"] is None):
            failed += 1
        if row["problem"]:
            print(f"ocr: {row['path']}: {row['problem']}", file=sys.stderr)
    scored = [r for r in rows if "char_accuracy" in r]
    if args.json:
        keys = ("lines", "truth", "problem", "char_accuracy", "char_accuracy_no_spaces", "lines_true", "lines_read",
                "line_count_ok")
        print(json.dumps({"photos": {r["path"]: {k: r.get(k) for k in keys} for r in rows},
                          "total": total_score(rows)}, indent=1))
    else:
        for row in rows:
            if row["lines"] is None:
                continue
            print(f"== {row['path']} ==")
            print("\n".join(row["lines"]))
            print()
        print(format_scores(rows))
    return 1 if failed or not scored else 0

