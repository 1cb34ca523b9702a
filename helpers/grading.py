"""Grading a student notebook, in nbgrader's convention: ``python -m helpers grade NOTEBOOK``.

The graded cells are the check cells of the chapters, ``checks.check_<name>(<the reader's function>)``
(a check run on the book's function, ``checks.check_sigmoid(nn.sigmoid)``, is not graded). Each check
is worth the points of its cell's nbgrader metadata (``{"nbgrader": {"grade": true, "points": 2}}``)
or else those of :data:`POINTS` (1 by default), and is graded on its own:

- the notebook's code cells run in order, in one kernel started in the repository's ``notebooks/``
  folder (as the chapters run), up to its last check; an error in a cell does not stop the run;
- every check call runs as a cell of its own, even where one cell holds two, with its own timeout
  (``--timeout``, the kernel is interrupted when it runs out), so that one failing or hanging check
  costs its own points only;
- a check earns its points when it prints its ``✔`` line; any error (CheckFailed, a NameError for a
  function never defined, a timeout) earns 0, with the first line of the message in the table.

The report is a table, one row per check, and the score out of the total; ``--json`` prints the same
as JSON. Exit status 0 when every check passed, 1 otherwise, 2 when the notebook has no checks.
"""
from __future__ import annotations

import ast
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["POINTS", "GradedCheck", "graded_checks", "grade_notebook", "format_report"]

ROOT = Path(__file__).resolve().parents[1]

# points per check where a cell's nbgrader metadata gives none: the larger exercises count more
POINTS = {"check_findLetters": 2, "check_group_lines": 2, "check_train_epoch": 2, "check_torch_train_epoch": 2,
          "check_autoencoder_backward": 2, "check_pca_by_svd": 2, "check_backwards": 2,
          "check_small_cnn": 2, "check_torch_train_step": 2}


@dataclass
class GradedCheck:
    """One graded check: where it is, what it is worth, and (after grading) what it earned."""
    cell: int            # index of its cell in the notebook
    source: str          # the check call, e.g. "checks.check_sigmoid(sigmoid)"
    check: str           # "check_sigmoid"
    points: float
    score: float = 0.0
    status: str = "not run"   # "passed", "failed", "error", "timed out", "not run"
    message: str = ""
    seconds: float = 0.0


def _cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def graded_checks(nb: dict) -> list[GradedCheck]:
    """Every check call on a reader's function in the code cells of ``nb`` (nbformat 4, as a dict)."""
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        src = _cell_source(cell)
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        calls = [node for node in tree.body if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                 and isinstance(node.value.func, ast.Attribute) and node.value.func.attr.startswith("check_")
                 and isinstance(node.value.func.value, ast.Name) and node.value.func.value.id == "checks"
                 and node.value.args and isinstance(node.value.args[0], ast.Name)]
        meta = cell.get("metadata", {}).get("nbgrader", {})
        from_meta = bool(meta.get("grade")) and meta.get("points") is not None
        for node in calls:
            check = node.value.func.attr
            points = float(meta["points"]) / len(calls) if from_meta else POINTS.get(check, 1)
            found.append(GradedCheck(cell=i, source=ast.get_source_segment(src, node) or "", check=check,
                                     points=float(points)))
    return found


def _outcome(outputs: list, timed_out: bool) -> tuple[str, str]:
    """(status, message) of a check cell from its outputs."""
    for out in outputs:
        if out.get("output_type") == "error":
            ename, evalue = out.get("ename", ""), out.get("evalue", "")
            if timed_out or ename == "KeyboardInterrupt":
                return "timed out", ""
            first = (evalue.strip().splitlines() or [""])[0]
            return ("failed" if ename == "CheckFailed" else "error"), (first if ename == "CheckFailed"
                                                                         else f"{ename}: {first}")
    if timed_out:
        return "timed out", ""
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    if "\u2714" in text:
        return "passed", text.strip().splitlines()[0]
    return "error", "the check printed no result"


def grade_notebook(path: str | Path, timeout: float = 120.0, cell_timeout: float = 900.0,
                   kernel_name: str = "python3") -> list[GradedCheck]:
    """Run the notebook at ``path`` and grade each of its checks independently (see the module text)."""
    import nbclient
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    graded = graded_checks(nb)
    if not graded:
        return graded
    last = max(g.cell for g in graded)
    by_cell: dict[int, list[GradedCheck]] = {}
    for g in graded:
        by_cell.setdefault(g.cell, []).append(g)
    # the cells that run: every code cell up to the last check, each check call a cell of its own
    cells, plan = [], []
    for i, cell in enumerate(nb.cells[: last + 1]):
        if cell.cell_type != "code":
            continue
        if i in by_cell:
            for g in by_cell[i]:
                cells.append(nbformat.v4.new_code_cell(g.source))
                plan.append(g)
        else:
            cells.append(nbformat.v4.new_code_cell(cell.source))
            plan.append(None)
    run = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    client = nbclient.NotebookClient(run, timeout=cell_timeout, kernel_name=kernel_name, allow_errors=True,
                                     interrupt_on_timeout=True,
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    with client.setup_kernel():
        for k, (cell, g) in enumerate(zip(run.cells, plan)):
            client.timeout = int(timeout if g is not None else cell_timeout)
            t = time.perf_counter()
            client.execute_cell(cell, k)
            if g is None:
                continue
            g.seconds = time.perf_counter() - t
            g.status, g.message = _outcome(cell.get("outputs", []), g.seconds >= timeout)
            if g.status == "timed out":
                g.message = f"no result within {timeout:g} s (the kernel was interrupted)"
            g.score = g.points if g.status == "passed" else 0.0
    return graded


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def format_report(path: str | Path, graded: list[GradedCheck]) -> str:
    """The per-check table and the total, as nbgrader's report gives them."""
    name_w = max([len(g.check) for g in graded] + [5])
    lines = [f"Grading {path}", "",
             f"{'cell':>4}  {'check':<{name_w}}  {'points':>6}  {'status':<9}  message",
             f"{'-' * 4}  {'-' * name_w}  {'-' * 6}  {'-' * 9}  {'-' * 40}"]
    for g in graded:
        pts = f"{g.score:g}/{g.points:g}"
        lines.append(f"{g.cell:>4}  {g.check:<{name_w}}  {pts:>6}  {g.status:<9}  {_short(g.message, 100)}")
    total, out_of = sum(g.score for g in graded), sum(g.points for g in graded)
    passed = sum(g.status == "passed" for g in graded)
    lines += ["", f"Score: {total:g} / {out_of:g}  ({passed} of {len(graded)} checks passed)"]
    return "\n".join(lines)


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("grade", help="grade a student notebook: points per check, a score out of the total",
                              description="Run a (student) chapter notebook and grade each of its checks on its "
                                          "own, with a timeout per check; print a table and the score.")
    p.add_argument("notebook", help="the notebook to grade (a chapter, or its student edition once filled in)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds allowed to each check (default 120)")
    p.add_argument("--cell-timeout", type=float, default=900.0,
                   help="seconds allowed to each other cell (default 900)")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    path = Path(args.notebook)
    if not path.is_file():
        print(f"grade: {path} not found; name a .ipynb file (python -m helpers student OUT writes the student "
              "notebooks)")
        return 2
    graded = grade_notebook(path, timeout=args.timeout, cell_timeout=args.cell_timeout)
    if not graded:
        print(f"grade: {path} has no check cells (checks.check_<name>(<your function>)) to grade")
        return 2
    if args.json:
        total, out_of = sum(g.score for g in graded), sum(g.points for g in graded)
        print(json.dumps({"notebook": str(path), "score": total, "out_of": out_of,
                          "checks": [asdict(g) for g in graded]}, indent=1, ensure_ascii=False))
    else:
        print(format_report(path, graded))
    return 0 if all(g.status == "passed" for g in graded) else 1
