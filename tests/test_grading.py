"""python -m helpers grade: points per check, each check graded on its own (a failure, an error or a
hang costs that check's points only), a per-check timeout, and the score out of the total."""
from __future__ import annotations

import json

import pytest

from helpers import grading


def _nb(*sources: str, metadata: list | None = None) -> dict:
    cells = []
    for i, src in enumerate(sources):
        meta = (metadata or [{}] * len(sources))[i]
        cells.append({"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": meta,
                      "outputs": [], "source": src})
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


SETUP = ("import sys, pathlib\nsys.path.insert(0, str(pathlib.Path.cwd().parent))\n"
         "import numpy as np\nfrom helpers import checks, nn")
GOOD = "def sigmoid(x):\n    return 1 / (1 + np.exp(-x))"
WRONG = ("def softmax(x):\n    e = np.exp(x - x.mean(axis=1, keepdims=True))\n"
         "    return e / e.sum(axis=1, keepdims=True)")
HANGS = "def numerical_gradient(f, p, eps=1e-6):\n    import time\n    time.sleep(60)"


def test_graded_checks_are_the_checks_of_the_readers_functions():
    nb = _nb(SETUP, GOOD, "checks.check_sigmoid(sigmoid)\nchecks.check_softmax(softmax)",
             "checks.check_sigmoid(nn.sigmoid)   # the book's: not graded", "checks.check_findLetters(findLetters)",
             metadata=[{}, {}, {}, {}, {"nbgrader": {"grade": True, "points": 5, "grade_id": "letters"}}])
    found = grading.graded_checks(nb)
    assert [(g.cell, g.check, g.points) for g in found] == [
        (2, "check_sigmoid", 1.0), (2, "check_softmax", 1.0), (4, "check_findLetters", 5.0)]
    assert found[1].source == "checks.check_softmax(softmax)"
    assert grading.graded_checks(_nb(SETUP, GOOD)) == []


def test_each_check_is_graded_on_its_own_with_a_timeout(tmp_path):
    pytest.importorskip("nbclient")
    path = tmp_path / "student.ipynb"
    path.write_text(json.dumps(_nb(SETUP, GOOD, WRONG, HANGS,
                                   # two checks in one cell: the failing first must not cost the second
                                   "checks.check_softmax(softmax)\nchecks.check_sigmoid(sigmoid)",
                                   "checks.check_numerical_gradient(numerical_gradient)",
                                   "checks.check_forward(forward)   # never written: a NameError",
                                   "checks.check_sigmoid(sigmoid)")))
    graded = grading.grade_notebook(path, timeout=4, cell_timeout=60)
    got = [(g.check, g.status, g.score) for g in graded]
    assert got == [("check_softmax", "failed", 0.0), ("check_sigmoid", "passed", 1.0),
                   ("check_numerical_gradient", "timed out", 0.0), ("check_forward", "error", 0.0),
                   ("check_sigmoid", "passed", 1.0)], got
    assert "[0, 2000]" in graded[0].message or "2000" in graded[0].message
    assert "NameError" in graded[3].message
    report = grading.format_report(path, graded)
    assert "Score: 2 / 5" in report and "timed out" in report


def test_the_cli_reports_and_exits(tmp_path, capsys):
    from helpers.__main__ import main

    assert main(["grade", str(tmp_path / "missing.ipynb")]) == 2
    empty = tmp_path / "empty.ipynb"
    empty.write_text(json.dumps(_nb(SETUP)))
    assert main(["grade", str(empty)]) == 2
    assert "no check cells" in capsys.readouterr().out
