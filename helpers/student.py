"""The student edition: the same notebooks with every reference answer taken out.

Two kinds of answer are marked in the chapters:

- code: the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in a code cell (nbgrader's
  markers). :func:`clear_solutions` replaces each such region by ``raise NotImplementedError()`` at the
  marker's indentation, as nbgrader's ``ClearSolutions`` preprocessor does; the starter comments and the
  ``def`` line outside the markers stay, so the cell still defines the function and only its check fails;
- prose: the ``{solution}`` blocks (sphinx-exercise) in Markdown cells, removed by :func:`strip_solutions`;
- the book's own answers shown or run beside the reader's: the listings of ``helpers/`` code
  (``literalinclude`` with ``:class: reference-code``, removed by :func:`strip_listings`) and the cells that
  run a check on the book's function (``checks.check_sigmoid(nn.sigmoid)``, removed by
  :func:`strip_reference_checks`), which would pass whatever the reader wrote.

``python -m helpers student OUT`` writes the student notebooks of ``notebooks/`` to the folder OUT; the
book's ``BOOK_SOLUTIONS=hide`` build uses the same functions for its pages and downloads.
"""
from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

__all__ = ["BEGIN", "END", "STUB", "clear_solutions", "strip_solutions", "strip_listings", "strip_reference_checks",
           "student_notebook", "reference_answers", "write_student_notebooks"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = "raise NotImplementedError()"
ROOT = Path(__file__).resolve().parents[1]

_REGION = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(?:\n|\Z)",
                     re.M | re.S)
SOLUTION_BLOCK = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{solution\}[^\n]*\n.*?^(?P=fence)[ \t]*(?:\n|\Z)", re.M | re.S)
LISTING_BLOCK = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{literalinclude\}[^\n]*\n.*?^(?P=fence)[ \t]*(?:\n|\Z)", re.M | re.S)


def clear_solutions(source: str) -> str:
    """Replace every marked region (markers included) by ``raise NotImplementedError()``.

    >>> clear_solutions("def f(x):\\n    # hint\\n    ### BEGIN SOLUTION\\n    return x\\n    ### END SOLUTION\\n")
    'def f(x):\\n    # hint\\n    raise NotImplementedError()\\n'
    """
    _check_markers(source)
    return _REGION.sub(lambda m: f"{m['indent']}{STUB}\n", source)


def _check_markers(source: str) -> None:
    begins, ends = source.count(BEGIN), source.count(END)
    if begins != ends:
        raise ValueError(f"unbalanced solution markers: {begins} '{BEGIN}' against {ends} '{END}'; "
                         "every answer region needs both lines")


def strip_solutions(text: str) -> str:
    """Remove every fenced ``{solution}`` block (backtick or colon fence; nested shorter fences
    inside a solution are part of it)."""
    return SOLUTION_BLOCK.sub("", text)


def strip_listings(text: str) -> str:
    """Remove every ``literalinclude`` listing of the book's answers (``:class: reference-code``)."""
    return LISTING_BLOCK.sub(lambda m: "" if "reference-code" in m.group(0) else m.group(0), text)


def _reference_checks(source: str) -> list[tuple[int, int]]:
    """(first, last) line (1-based) of every statement ``checks.check_<name>(<module>.<function>, ...)``:
    a check run on the book's function rather than on the reader's."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr.startswith("check_") and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "checks" and call.args and isinstance(call.args[0], ast.Attribute)):
            found.append((node.lineno, node.end_lineno or node.lineno))
    return found


def strip_reference_checks(source: str) -> str:
    """``source`` without its statements that run a check on the book's function (with their comments)."""
    spans = _reference_checks(source)
    if not spans:
        return source
    lines = source.splitlines(keepends=True)
    drop = {i for a, b in spans for i in range(a - 1, b)}
    return "".join(line for i, line in enumerate(lines) if i not in drop)


def _blank(source: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in source.splitlines())


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def student_notebook(nb: dict) -> dict:
    """A copy of the notebook ``nb`` (nbformat 4 as a dict) with no reference answer and no output."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.get("cells", []):
        src = _source(cell)
        if cell.get("cell_type") == "code":
            checked = strip_reference_checks(src)
            if checked != src and _blank(checked):
                continue                       # a cell that only checked the book's function
            cell["source"] = clear_solutions(checked)
            cell["outputs"] = []
            cell["execution_count"] = None
        elif cell.get("cell_type") == "markdown":
            text = strip_listings(strip_solutions(src))
            if text != src and not text.strip():
                continue                       # a cell that only held a listing of the answer
            cell["source"] = text
        cells.append(cell)
    nb["cells"] = cells
    return nb


def reference_answers(nb: dict) -> list[str]:
    """Where ``nb`` still holds an answer: one line per cell with a marker or a solution block."""
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        src = _source(cell)
        if BEGIN in src or END in src:
            found.append(f"cell {i}: a '{BEGIN}' region")
        if cell.get("cell_type") == "markdown" and re.search(r"^(`{3,}|:{3,})\{solution\}", src, re.M):
            found.append(f"cell {i}: a {{solution}} block")
        if cell.get("cell_type") == "markdown" and strip_listings(src) != src:
            found.append(f"cell {i}: a listing of the book's answer (literalinclude, reference-code)")
        if cell.get("cell_type") == "code" and _reference_checks(src):
            found.append(f"cell {i}: a check run on the book's function")
    return found


def write_student_notebooks(out: str | Path, src: str | Path | None = None) -> list[Path]:
    """Write the student edition of every ``*.ipynb`` in ``src`` (default: ``notebooks/``) to ``out``."""
    src = Path(src) if src else ROOT / "notebooks"
    out = Path(out)
    if out.resolve() == src.resolve():
        raise ValueError(f"student notebooks would overwrite the originals in {src}; name another folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for f in sorted(src.glob("*.ipynb")):
        nb = student_notebook(json.loads(f.read_text(encoding="utf-8")))
        target = out / f.name
        tmp = target.with_suffix(".ipynb.tmp")
        tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(target)
        written.append(target)
    return written


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("student", help="write the student notebooks (no reference answers) to a folder",
                              description="Write every chapter notebook with its answers replaced by "
                                          "`raise NotImplementedError()` and its solutions removed.")
    p.add_argument("out", help="folder for the student notebooks (created if missing)")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    for f in write_student_notebooks(args.out):
        print(f)
    print("Open them in Jupyter (and put the repository root on the path: run Jupyter from the repository root, "
          "or copy the folder into notebooks/ under another name).")
    return 0
