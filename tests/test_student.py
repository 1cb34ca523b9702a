"""The student edition (helpers.student and the BOOK_SOLUTIONS=hide build): no reference answer
survives, the stubs still run, and a student notebook stops at its first check."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from helpers import student

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import book_build  # noqa: E402

CHAPTERS = sorted((ROOT / "notebooks").glob("0*.ipynb"))

SOLVED = '''def forward(X, params):
    """X: (N, D) -> (N, M)"""
    # pre-activation, then the activation
    ### BEGIN SOLUTION
    pre = X @ params["W"] + params["b"]
    return sigmoid(pre)
    ### END SOLUTION

def g(x):
    if x:
        ### BEGIN SOLUTION
        return 1
        ### END SOLUTION
    return 0
'''


def test_clear_solutions_keeps_the_stub_and_the_hints():
    out = student.clear_solutions(SOLVED)
    assert "BEGIN SOLUTION" not in out and "END SOLUTION" not in out
    assert "sigmoid(pre)" not in out and "return 1" not in out
    assert "    # pre-activation, then the activation\n    raise NotImplementedError()\n" in out
    assert "        raise NotImplementedError()\n    return 0" in out  # the marker's indentation
    ns: dict = {}
    exec(out, ns)  # the student's cell still runs: it defines the functions
    with pytest.raises(NotImplementedError):
        ns["forward"](None, None)
    assert student.clear_solutions(out) == out


def test_unbalanced_markers_are_an_error():
    with pytest.raises(ValueError, match="unbalanced"):
        student.clear_solutions("### BEGIN SOLUTION\nx = 1\n")


def test_student_notebook_has_no_answer_and_no_output():
    nb = {"cells": [
        {"cell_type": "code", "source": SOLVED.splitlines(True), "outputs": [{"output_type": "stream"}],
         "execution_count": 3, "metadata": {}},
        {"cell_type": "markdown", "source": "```{exercise} E\n:label: ex-e\nDo it.\n```\n\n"
                                             "````{solution} ex-e\n:class: dropdown\nThe answer.\n````\n",
         "metadata": {}},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert len(student.reference_answers(nb)) == 2
    out = student.student_notebook(nb)
    assert student.reference_answers(out) == []
    assert out["cells"][0]["outputs"] == [] and out["cells"][0]["execution_count"] is None
    assert "Do it." in out["cells"][1]["source"] and "The answer." not in out["cells"][1]["source"]
    assert nb["cells"][0]["outputs"], "the original notebook is not modified"


def test_listings_and_checks_of_the_books_functions_leave_the_student_edition():
    """A listing of the answer, or a check run on the book's function (which passes whatever the reader
    wrote), would give the exercise away: both go, the rest of their cells stays."""
    listing = ("Before.\n\n```{literalinclude} ../helpers/nn.py\n:pyobject: sigmoid\n:class: reference-code\n```\n\n"
               "```{literalinclude} ../helpers/plots.py\n:pyobject: show\n```\nAfter.\n")
    out = student.strip_listings(listing)
    assert "pyobject: sigmoid" not in out and "pyobject: show" in out and "Before." in out and "After." in out
    code = "x = 1\nchecks.check_sigmoid(nn.sigmoid)   # the book's version\nchecks.check_sigmoid(sigmoid)\n"
    assert student.strip_reference_checks(code) == "x = 1\nchecks.check_sigmoid(sigmoid)\n"
    nb = {"cells": [
        {"cell_type": "markdown", "source": listing.split("After.")[0].split("Before.")[1], "metadata": {}},
        {"cell_type": "code", "source": "checks.check_forward(nn.forward, )\n", "outputs": [], "execution_count": 1,
         "metadata": {}},
        {"cell_type": "code", "source": code, "outputs": [], "execution_count": 2, "metadata": {}},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert len(student.reference_answers(nb)) == 3
    out = student.student_notebook(nb)
    assert student.reference_answers(out) == []
    assert [c["cell_type"] for c in out["cells"]] == ["markdown", "code"]   # the emptied check cell goes
    assert "checks.check_sigmoid(sigmoid)" in out["cells"][1]["source"]


def _solution_regions(source: str) -> tuple[list[str], str]:
    """(the answer's lines, the comments outside the answer) of a solution cell."""
    import re

    inside = re.findall(r"### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION", source, re.S | re.M)
    outside = re.sub(r"### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION", "", source, flags=re.S | re.M)
    comments = " ".join(line.split("#", 1)[1] for line in outside.splitlines() if line.strip().startswith("#"))
    return [line.strip() for block in inside for line in block.splitlines()], comments


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_hint_spells_out_the_answer(path):
    """The starter comments a student keeps hint at the answer; none repeats a line of it."""
    def bare(text: str) -> str:
        return "".join(text.split())

    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or student.BEGIN not in source:
            continue
        answer, comments = _solution_regions(source)
        given = [line for line in answer if len(bare(line)) >= 20 and not line.startswith("#")
                 and bare(line) in bare(comments)]
        assert not given, f"{path.name} cell {i}: a hint spells out the answer line(s) {given}"


def test_every_chapter_has_code_exercises_and_the_student_edition_removes_them(tmp_path):
    written = student.write_student_notebooks(tmp_path / "student")
    assert [p.name for p in written] == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    marked = 0
    for path in written:
        nb = json.loads(path.read_text())
        assert student.reference_answers(nb) == [], path.name
        original = json.loads((ROOT / "notebooks" / path.name).read_text())
        marked += sum(student.BEGIN in "".join(c["source"]) for c in original["cells"])
        stubs = sum(student.STUB in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        assert stubs >= sum(student.BEGIN in "".join(c["source"]) for c in original["cells"])
    assert marked >= 13, f"only {marked} code answers are marked in the chapters"
    with pytest.raises(ValueError, match="overwrite"):
        student.write_student_notebooks(ROOT / "notebooks")


def test_student_pages_doctree():
    """BOOK_SOLUTIONS=hide: answer regions of code cells are stubbed on the page, the check cell's
    output goes, and a reference-code listing is replaced by a note."""
    from docutils import nodes

    def cell(source: str, output: str) -> nodes.container:
        c = nodes.container(classes=["cell"])
        inp = nodes.container(classes=["cell_input"])
        inp += nodes.literal_block(source, source)
        out = nodes.container(classes=["cell_output"])
        out += nodes.literal_block(output, output)
        c += [inp, out]
        return c

    doc = nodes.document(None, None)
    answer, check = cell(SOLVED, ""), cell("checks.check_forward(forward)", "\u2714 forward: right")
    wrapper = nodes.container(classes=["literal-block-wrapper"])
    wrapper += nodes.caption(text="helpers/nn.py — forward")
    wrapper += nodes.literal_block("def forward(X): ...", "def forward(X): ...", classes=["reference-code"])
    plain = nodes.literal_block("print(1)", "print(1)")
    doc += [answer, check, wrapper, plain]
    os.environ["BOOK_SOLUTIONS"] = "hide"
    try:
        book_build._student_pages(None, doc, "page")
    finally:
        del os.environ["BOOK_SOLUTIONS"]
    text = doc.astext()
    assert "sigmoid(pre)" not in text and "raise NotImplementedError()" in text
    assert "right" not in text, "a check's output from the reference answer would mislead"
    assert "def forward(X): ..." not in text and book_build.REFERENCE_NOTE in text
    assert "print(1)" in text


def _first_check_cell(nb: dict) -> int:
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] == "code" and "checks.check_" in "".join(c["source"]):
            return i
    raise AssertionError("no check cell")


@pytest.mark.parametrize("path", CHAPTERS[1:], ids=lambda p: p.stem)
def test_student_notebook_stops_at_its_first_check(path, tmp_path):
    """Executed with every stub left in, a student notebook fails exactly at its first check cell,
    with the check's own message (not a NameError earlier, not silently later)."""
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    nb = student.student_notebook(json.loads(path.read_text()))
    if not any(student.STUB in "".join(c["source"]) for c in nb["cells"]):
        pytest.fail(f"{path.name} has no code exercise")
    first = _first_check_cell(nb)
    folder = tmp_path / "student"  # a sibling of the repository's notebooks/ for the path cell
    folder.mkdir()
    # run only up to and including the first check (the rest is not needed to see where it stops)
    nb["cells"] = nb["cells"][: first + 1]
    node = nbformat.from_dict(nb)
    client = nbclient.NotebookClient(node, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    with pytest.raises(nbclient.exceptions.CellExecutionError) as err:
        client.execute()
    assert err.value.ename == "CheckFailed", f"{path.name} stopped with {err.value.ename}: {err.value.evalue}"
    assert "not written yet" in err.value.evalue
    failed = [i for i, c in enumerate(node.cells) if c["cell_type"] == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert failed == [first], f"{path.name}: failed at cells {failed}, the first check is cell {first}"
