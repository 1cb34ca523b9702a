"""Real photos with their true text: find them, read them, score them.

A folder (the book looks in ``data/photos``) holds photos ``NAME.jpg`` (or ``.jpeg``, ``.png``, in
any case) and beside each a text file ``NAME.txt`` with the page's text, one line of the file per
line of the page. Blank lines are skipped, letters upper-cased and runs of spaces made single, so
the truth is written as the page reads. :func:`find_photos` pairs the files, :func:`read_truth`
reads one truth file, :func:`score_lines` scores one reading, :func:`score_photos` reads and scores
a list of photos, :func:`total_score` sums them up, and :func:`format_scores` /
:func:`photo_table` show the result (``python -m helpers ocr --photos data/photos`` prints it).

Scores: the character accuracy of :func:`.evaluate.char_accuracy` (1 - edit distance / length of
the true text, lines joined by newlines), once as read and once with every space removed from both
texts (which leaves only the characters and the line breaks: word gaps found or missed do not
count), and whether the number of lines is right.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .evaluate import char_accuracy, edit_distance, line_count_correct
from .images import OCRImageError, read_image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class TruthError(ValueError):
    """A truth file is missing, unreadable or empty."""


@dataclass
class Photo:
    """A photo and its truth file (``None`` when the photo has none beside it)."""

    image: Path
    truth: Path | None = None


def find_photos(folder: str | Path) -> list[Photo]:
    """The photos of ``folder`` (``.jpg``, ``.jpeg``, ``.png``, any case), sorted by name, each with
    ``NAME.txt`` beside it when that exists. A missing folder holds no photos: returns []."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    photos = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name.lower()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            truth = next((t for t in (path.with_suffix(".txt"), path.with_suffix(".TXT")) if t.is_file()), None)
            photos.append(Photo(path, truth))
    return photos


def read_truth(path: str | Path) -> list[str]:
    """The true lines of a page from a text file: one line of the file per line of the page, blank
    lines skipped, upper-cased, single spaces. Raises :class:`TruthError` when the file is missing
    or holds no text."""
    p = Path(path)
    if not p.is_file():
        raise TruthError(f"{path}: no such truth file; write the page's text into it, one line of the page per line")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TruthError(f"{path}: unreadable truth file ({type(exc).__name__}: {exc}); save it as UTF-8 "
                         "text") from None
    lines = [" ".join(line.upper().split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise TruthError(f"{path}: the truth file is empty; write the page's text into it, one line of the page per "
                         "line")
    return lines


def score_lines(pred_lines: Sequence[str], true_lines: Sequence[str]) -> dict:
    """Scores of one reading against its truth: ``char_accuracy``, ``char_accuracy_no_spaces``,
    ``errors`` and ``errors_no_spaces`` (edit distances), ``length`` and ``length_no_spaces`` (of the
    true text, newlines included), ``lines_true``, ``lines_read``, ``line_count_ok``."""
    no_spaces = lambda lines: [s.replace(" ", "") for s in lines]  # noqa: E731
    pred, truth = list(pred_lines), list(true_lines)
    return {"lines_true": len(truth), "lines_read": len(pred), "line_count_ok": line_count_correct(pred, truth),
            "char_accuracy": char_accuracy(pred, truth),
            "char_accuracy_no_spaces": char_accuracy(no_spaces(pred), no_spaces(truth)),
            "errors": edit_distance("\n".join(pred), "\n".join(truth)), "length": len("\n".join(truth)),
            "errors_no_spaces": edit_distance("\n".join(no_spaces(pred)), "\n".join(no_spaces(truth))),
            "length_no_spaces": len("\n".join(no_spaces(truth)))}


def score_photos(photos: Sequence[Photo], reader: Callable) -> list[dict]:
    """Read every photo with ``reader(image) -> lines`` (or a :class:`.reading.PageReading`, kept as
    ``reading``) and score it against its truth. One dict per photo: ``photo`` (file name), ``path``,
    ``lines`` (read, None when the image could not be read or the reader failed on it), ``truth``
    (None without a usable truth file), ``problem`` (what went wrong, '' if nothing) and, when
    scored, the keys of :func:`score_lines`."""
    rows = []
    for ph in photos:
        row: dict = {"photo": ph.image.name, "path": str(ph.image), "lines": None, "truth": None, "problem": ""}
        if ph.truth is None:
            row["problem"] = (f"no truth file {ph.image.with_suffix('.txt').name} beside it: read, not scored "
                              "(write the page's text there, one line of the page per line)")
        else:
            try:
                row["truth"] = read_truth(ph.truth)
            except TruthError as exc:
                row["problem"] = f"{exc} (read, not scored)"
        try:
            image = read_image(ph.image)
        except OCRImageError as exc:
            row["problem"] = str(exc)
            rows.append(row)
            continue
        try:
            out = reader(image)
        except Exception as exc:  # one photo that cannot be read must not stop the others
            row["problem"] = f"could not read the text ({type(exc).__name__}: {exc})"
            rows.append(row)
            continue
        if hasattr(out, "lines"):
            row["reading"] = out
            out = out.lines
        row["lines"] = list(out)
        if row["truth"] is not None:
            row.update(score_lines(row["lines"], row["truth"]))
        rows.append(row)
    return rows


def total_score(rows: Sequence[dict]) -> dict:
    """The scores summed over the scored photos: ``photos`` (scored), ``char_accuracy`` and
    ``char_accuracy_no_spaces`` (1 - all errors / all true characters, each photo's errors counted
    at most up to its length, as :func:`.evaluate.char_accuracy` clips; None when no photo was
    scored), ``lines_right`` (photos with
    the right number of lines), ``lines_true`` and ``lines_read``."""
    scored = [r for r in rows if "char_accuracy" in r]
    total = {"photos": len(scored), "lines_right": sum(bool(r["line_count_ok"]) for r in scored),
             "lines_true": sum(r["lines_true"] for r in scored), "lines_read": sum(r["lines_read"] for r in scored)}
    for suffix in ("", "_no_spaces"):
        length = sum(r["length" + suffix] for r in scored)
        errors = sum(min(r["errors" + suffix], r["length" + suffix]) for r in scored)
        total["char_accuracy" + suffix] = 1.0 - errors / length if length else None
    return total


def format_scores(rows: Sequence[dict]) -> str:
    """A plain-text table: one row per scored photo (lines true / read, character accuracy with and
    without spaces), the total, and a note for every photo that was not scored."""
    scored = [r for r in rows if "char_accuracy" in r]
    out = []
    if scored:
        width = max(12, *(len(r["photo"]) for r in scored))
        out.append(f"{'photo':<{width}}  {'lines true/read':>15}  {'accuracy':>8}  {'without spaces':>14}")
        for r in scored:
            out.append(f"{r['photo']:<{width}}  {str(r['lines_true']) + ' / ' + str(r['lines_read']):>15}  "
                       f"{100 * r['char_accuracy']:>7.1f}%  {100 * r['char_accuracy_no_spaces']:>13.1f}%")
        t = total_score(rows)
        out.append(f"{'total':<{width}}  {str(t['lines_true']) + ' / ' + str(t['lines_read']):>15}  "
                   f"{100 * t['char_accuracy']:>7.1f}%  {100 * t['char_accuracy_no_spaces']:>13.1f}%")
        out.append(f"{t['photos']} photo{'s' if t['photos'] != 1 else ''} scored, the line count right on "
                   f"{t['lines_right']}")
    else:
        out.append("no photo scored")
    out += [f"not scored: {r['photo']}: {r['problem']}" for r in rows if "char_accuracy" not in r]
    return "\n".join(out)


def photo_table(rows: Sequence[dict]):
    """A pandas DataFrame of the scored photos (lines true and read, character accuracy in % with
    and without spaces) with a last row for the total (no rows when no photo was scored)."""
    import pandas as pd

    scored = [r for r in rows if "char_accuracy" in r]
    t = total_score(rows)
    records = [{"photo": r["photo"], "lines (true / read)": f"{r['lines_true']} / {r['lines_read']}",
                "character accuracy (%)": 100 * r["char_accuracy"],
                "without spaces (%)": 100 * r["char_accuracy_no_spaces"]} for r in scored]
    if scored:
        records.append({"photo": f"total ({t['photos']} photo{'s' if t['photos'] != 1 else ''})",
                        "lines (true / read)": f"{t['lines_true']} / {t['lines_read']}",
                        "character accuracy (%)": 100 * t["char_accuracy"],
                        "without spaces (%)": 100 * t["char_accuracy_no_spaces"]})
    return pd.DataFrame.from_records(records, columns=["photo", "lines (true / read)", "character accuracy (%)",
                                                       "without spaces (%)"])
