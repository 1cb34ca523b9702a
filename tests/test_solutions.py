"""The answer on the page is the library's code (issue 23, item 3).

A Your-turn solution cell (a code cell with ``### BEGIN SOLUTION`` / ``### END SOLUTION``) carries
the cell metadata ``"solution_of": "helpers.<module>.<name>"``. The function or class ``<name>``
defined in that cell must be the same code as ``helpers.<module>.<name>``: both are parsed with
``ast`` and compared, docstrings removed on both sides (comments are not in the tree; the solution
markers are comments). One normalisation: in the notebook, ``nn.sigmoid`` (the helper module
called by its last name, as the chapters import it) reads as ``sigmoid``, the name the module
itself uses.

Every solution cell needs ``solution_of`` unless it is listed in ``ALLOWED`` with the reason.
The checks are functions of a notebooks folder, so that a test can feed them a copy with a bug.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import json
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BEGIN = "### BEGIN SOLUTION"

# (notebook file name, name defined in the solution cell) -> why it is not a helpers/ function
ALLOWED: dict[tuple[str, str], str] = {
}


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def solution_cells(nb_dir: Path = NOTEBOOKS) -> list[tuple[str, int, dict]]:
    """(notebook name, cell index, cell) of every code cell with a solution region."""
    found = []
    for path in sorted(Path(nb_dir).glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell.get("cell_type") == "code" and BEGIN in _source(cell):
                found.append((path.name, i, cell))
    return found


def _defined_names(src: str) -> list[str]:
    return [n.name for n in ast.parse(src).body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


class _ModuleAlias(ast.NodeTransformer):
    """``nn.X`` -> ``X`` where ``nn`` is the last name of the helper module."""

    def __init__(self, alias: str):
        self.alias = alias

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == self.alias:
            return ast.copy_location(ast.Name(id=node.attr, ctx=node.ctx), node)
        return node


def _definition(src: str, name: str) -> ast.AST | None:
    for node in ast.parse(textwrap.dedent(src)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node
    return None


def _dump(node: ast.AST) -> str:
    return ast.dump(_strip_docstrings(node), include_attributes=False)


def _library_source(dotted: str) -> str:
    module, _, name = dotted.rpartition(".")
    obj = getattr(importlib.import_module(module), name)
    return textwrap.dedent(inspect.getsource(inspect.unwrap(obj)))


def compare(cell_src: str, dotted: str) -> str | None:
    """None when the cell defines ``dotted``'s name as the same code, else a message showing both."""
    module, _, name = dotted.rpartition(".")
    mine = _definition(cell_src, name)
    if mine is None:
        return f"the cell defines {_defined_names(cell_src)}, not {name!r} (solution_of: {dotted})"
    mine = _ModuleAlias(module.rpartition(".")[2]).visit(mine)
    lib_src = _library_source(dotted)
    theirs = _definition(lib_src, name)
    if _dump(mine) == _dump(theirs):
        return None
    return (f"the solution cell and {dotted} differ (compared as parsed code, docstrings and comments "
            f"ignored).\n--- solution cell (as parsed) ---\n{ast.unparse(_strip_docstrings(mine))}\n"
            f"--- {dotted} (as parsed) ---\n{ast.unparse(_strip_docstrings(theirs))}\n"
            "Make the teaching function in helpers/ and the solution cell the same code; validation and "
            "options wrap it from outside.")


def mismatches(nb_dir: Path = NOTEBOOKS) -> list[str]:
    """One message per solution cell whose code differs from its helpers/ function."""
    out = []
    for nb_name, i, cell in solution_cells(nb_dir):
        dotted = cell.get("metadata", {}).get("solution_of")
        if dotted:
            msg = compare(_source(cell), dotted)
            if msg:
                out.append(f"{nb_name} cell {i}: {msg}")
    return out


def unmarked(nb_dir: Path = NOTEBOOKS, allowed: dict = ALLOWED) -> list[str]:
    """Solution cells with neither ``solution_of`` nor an ALLOWED entry for every name they define."""
    out = []
    for nb_name, i, cell in solution_cells(nb_dir):
        if cell.get("metadata", {}).get("solution_of"):
            continue
        names = _defined_names(_source(cell))
        if not names or any((nb_name, n) not in allowed for n in names):
            out.append(f"{nb_name} cell {i} (defines {names}): add cell metadata "
                       "\"solution_of\": \"helpers.<module>.<name>\", or list it in ALLOWED with the reason")
    return out


# --- the book's notebooks ---------------------------------------------------------------------
@pytest.mark.parametrize("nb_name,index,cell", solution_cells(),
                         ids=[f"{n}:{i}" for n, i, _ in solution_cells()])
def test_solution_cell_is_the_library_function(nb_name, index, cell):
    dotted = cell.get("metadata", {}).get("solution_of")
    if not dotted:
        pytest.skip("no solution_of (see test_every_solution_cell_names_its_function)")
    msg = compare(_source(cell), dotted)
    assert msg is None, f"{nb_name} cell {index}: {msg}"


def test_every_solution_cell_names_its_function():
    problems = unmarked()
    assert not problems, "\n".join(problems)


def test_allow_list_entries_exist():
    """An ALLOWED entry whose cell is gone (or now carries solution_of) is stale."""
    live = {(n, name) for n, _, cell in solution_cells() if not cell.get("metadata", {}).get("solution_of")
            for name in _defined_names(_source(cell))}
    assert not set(ALLOWED) - live, f"stale ALLOWED entries: {sorted(set(ALLOWED) - live)}"


# --- the checks themselves fail on plausible bugs (a copy of a notebook in a tmp folder) ------
def _write_nb(folder: Path, name: str, cells: list[dict]) -> None:
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / name).write_text(json.dumps(nb), encoding="utf-8")


def _cell(src: str, solution_of: str | None = None) -> dict:
    md = {"solution_of": solution_of} if solution_of else {}
    return {"cell_type": "code", "source": src, "metadata": md, "outputs": [], "execution_count": None}


def _marked_cells() -> list[tuple[str, int, dict]]:
    return [c for c in solution_cells() if c[2].get("metadata", {}).get("solution_of")]


def test_a_changed_solution_is_caught(tmp_path):
    """A copy of a real solution cell with one operator changed (the bias subtracted, a sum turned
    into a mean, ...) must fail, and the message must show both versions."""
    marked = _marked_cells()
    if not marked:
        pytest.skip("no solution_of cell yet")
    nb_name, _, cell = marked[0]
    src = _source(cell)
    tree = ast.parse(src)
    for node in ast.walk(tree):              # the first binary operator changes: + <-> -, * <-> /, @ -> *
        if isinstance(node, ast.BinOp):
            swap = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.MatMult: ast.Mult}
            node.op = swap.get(type(node.op), ast.Add)()
            break
    else:
        pytest.skip("the first marked solution has no binary operator")
    buggy = "### BEGIN SOLUTION\n" + ast.unparse(tree) + "\n### END SOLUTION\n"
    _write_nb(tmp_path, nb_name, [_cell(src, cell["metadata"]["solution_of"]),
                                  _cell(buggy, cell["metadata"]["solution_of"])])
    found = mismatches(tmp_path)
    assert len(found) == 1 and "cell 1" in found[0], found
    assert "--- solution cell" in found[0] and cell["metadata"]["solution_of"] in found[0]


def test_comments_docstrings_and_module_prefix_do_not_count(tmp_path):
    marked = _marked_cells()
    if not marked:
        pytest.skip("no solution_of cell yet")
    nb_name, _, cell = marked[0]
    dotted = cell["metadata"]["solution_of"]
    name = dotted.rpartition(".")[2]
    node = _definition(_library_source(dotted), name)
    node = _strip_docstrings(node)
    node.body.insert(0, ast.Expr(ast.Constant("a different docstring")))
    src = "# a hint\n### BEGIN SOLUTION\n" + ast.unparse(node) + "\n### END SOLUTION\n"
    _write_nb(tmp_path, nb_name, [_cell(src, dotted)])
    assert mismatches(tmp_path) == []


def test_wrong_name_and_missing_mark_are_caught(tmp_path):
    _write_nb(tmp_path, "x.ipynb", [
        _cell("def sigmoid(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n", "helpers.nn.softmax"),
        _cell("def helper(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"),
        _cell("def allowed(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"),
    ])
    found = mismatches(tmp_path)
    assert len(found) == 1 and "not 'softmax'" in found[0]
    missing = unmarked(tmp_path, allowed={("x.ipynb", "allowed"): "a reason"})
    assert len(missing) == 1 and "cell 1" in missing[0]
