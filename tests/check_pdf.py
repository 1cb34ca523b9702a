"""Check the printed book: ``python tests/check_pdf.py _build/latex/book.pdf [--student]``.

The PDF that ``jupyter-book build . --builder pdflatex`` makes (.ci/run calls this after building it):

- it has at least ``--min-pages`` pages (``pdfinfo``);
- every page of ``_toc.yml`` is in it: the first heading of each, as ``pdftotext`` reads the PDF;
- no reference is left unresolved: LaTeX prints ``??`` for each, and the text has none;
- the LaTeX source beside it (``book.tex``) holds no ANSI escape (they break xelatex);
- every slider figure printed its default frame with the line that sends the reader to the web edition,
  and the drawing pad its still image;
- the exercises are printed; the full edition prints solutions, the student edition (``--student``,
  ``BOOK_SOLUTIONS=hide``) none: no "Solution to Exercise", no answer region of a code exercise.

Exit status 0 when all hold; 1 with one line per problem otherwise. Needs poppler-utils.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNRESOLVED = "??"
SLIDER_LINE = "In the web edition of this book"
PAD_LINE = "The drawing pad, printed"
SOLUTION_HEADING = re.compile(r"Solution to\s*Exercise")
EXERCISE_HEADING = re.compile(r"Exercise\s+\d+\.\d+")
ANSWER_MARKERS = ("BEGIN SOLUTION", "END SOLUTION")


def squash(text: str) -> str:
    """Text for comparison: ligatures and quotes as typed, hyphenation at line ends undone, one space."""
    text = text.replace("\ufb01", "fi").replace("\ufb02", "fl").replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"-\n(?=[a-z])", "", text)
    return " ".join(text.split())


def toc_titles(root: Path = ROOT) -> dict[str, str]:
    """``{file: first heading}`` of every page of ``_toc.yml`` (Markdown markup removed)."""
    titles = {}
    for f in re.findall(r"(?:file|root):\s*(\S+)", (root / "_toc.yml").read_text()):
        if (root / f"{f}.ipynb").is_file():
            nb = json.loads((root / f"{f}.ipynb").read_text(encoding="utf-8"))
            text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        else:
            text = (root / f"{f}.md").read_text(encoding="utf-8")
        heading = re.search(r"(?m)^# (.+)$", text)
        if heading:
            titles[f] = re.sub(r"[`*_]|\{[a-z]+\}", "", heading.group(1)).strip()
    return titles


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"(?m)^Pages:\s+(\d+)", info).group(1))


def problems(pdf: Path, student: bool, min_pages: int, root: Path = ROOT) -> list[str]:
    out = []
    if not pdf.is_file():
        return [f"{pdf}: no PDF (jupyter-book build . --builder pdflatex makes it)"]
    pages = page_count(pdf)
    if pages < min_pages:
        out.append(f"{pdf}: {pages} pages, fewer than {min_pages}: a part of the book is missing")
    raw = pdf_text(pdf)
    text = squash(raw)
    for f, title in toc_titles(root).items():
        if squash(title) not in text:
            out.append(f"{f}: its title {title!r} is not in the PDF")
    if UNRESOLVED in raw:
        where = [squash(raw[max(0, m.start() - 60):m.end() + 20]) for m in re.finditer(re.escape(UNRESOLVED), raw)]
        out.append(f"{len(where)} unresolved references ('??'), e.g. {where[:3]}")
    tex = pdf.with_suffix(".tex")
    if tex.is_file() and "\x1b" in tex.read_text(encoding="utf-8", errors="replace"):
        out.append(f"{tex}: ANSI escapes left in the LaTeX source")
    if SLIDER_LINE not in text:
        out.append("no slider figure printed with its note on the web edition")
    if PAD_LINE not in text:
        out.append("the drawing pad is not printed")
    if not EXERCISE_HEADING.search(text):
        out.append("no exercise printed")
    solutions = len(SOLUTION_HEADING.findall(text))
    if student:
        if solutions:
            out.append(f"student edition: {solutions} solutions printed")
        left = [m for m in ANSWER_MARKERS if m in text]
        if left:
            out.append(f"student edition: answer regions printed ({', '.join(left)})")
    elif not solutions:
        out.append("full edition: no solution printed")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pdf", type=Path)
    ap.add_argument("--student", action="store_true", help="the student edition (BOOK_SOLUTIONS=hide)")
    ap.add_argument("--min-pages", type=int, default=100)
    args = ap.parse_args(argv)
    found = problems(args.pdf, args.student, args.min_pages)
    for p in found:
        print(f"check_pdf: {p}", file=sys.stderr)
    if not found:
        edition = "student" if args.student else "full"
        print(f"check_pdf: {args.pdf}: {page_count(args.pdf)} pages, {edition} edition, every chapter, no '??'")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
