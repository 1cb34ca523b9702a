"""tests/mutations.py stays runnable: every mutation still applies and names tests that exist.

The mutation run itself (a copy of the repository per mutation, minutes) is CI's job
(``python tests/mutations.py``); this file only checks the list, in a second. At the end: tests that
kill mutations in modules whose own test files are being rewritten elsewhere (move them there later).
"""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("mutations", ROOT / "tests" / "mutations.py")
mutations = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutations)
MUTATIONS = mutations.MUTATIONS


def test_mutation_ids_are_distinct_and_entries_complete():
    ids = [m["id"] for m in MUTATIONS]
    assert len(ids) == len(set(ids))
    for m in MUTATIONS:
        assert {"id", "file", "old", "new", "tests", "why"} <= set(m), m["id"]
        assert m["old"] != m["new"] and m["tests"] and m["why"], m["id"]


@pytest.mark.parametrize("m", MUTATIONS, ids=[m["id"] for m in MUTATIONS])
def test_old_text_occurs_exactly_once(m):
    """A refactor that moves or rewrites the mutated line must update the list, not silently skip it."""
    assert mutations.check_old_text(m) is None, f"{m['id']}: {mutations.check_old_text(m)}"


@pytest.mark.parametrize("m", MUTATIONS, ids=[m["id"] for m in MUTATIONS])
def test_mutated_file_still_parses(m, tmp_path):
    """A mutation must be a bug in the code, not a syntax error that any import would catch (JavaScript:
    checked with ``node --check`` where Node.js is installed)."""
    path = ROOT / m["file"]
    text = path.read_text().replace(m["old"], m["new"], 1)
    if path.suffix == ".js":
        import shutil
        import subprocess

        node = shutil.which("node") or shutil.which("nodejs")
        if node is None:
            pytest.skip("Node.js not installed: cannot check a JavaScript mutation's syntax")
        (tmp_path / path.name).write_text(text)
        proc = subprocess.run([node, "--check", str(tmp_path / path.name)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{m['id']}: the mutated script does not parse: {proc.stderr[-500:]}"
        return
    ast.parse(text, filename=m["file"])


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.name.startswith("test")}


@pytest.mark.parametrize("m", MUTATIONS, ids=[m["id"] for m in MUTATIONS])
def test_listed_tests_exist(m):
    for target in m["tests"]:
        file, _, name = target.partition("::")
        assert file.startswith("tests/") and not file.startswith("notebooks"), f"{m['id']}: unit tests only"
        assert (ROOT / file).is_file(), f"{m['id']}: {file} does not exist"
        if name:
            assert name.split("[")[0] in _test_names(ROOT / file), f"{m['id']}: no test {name} in {file}"


def test_every_mutated_file_is_in_the_copy():
    """The runner copies git's tracked and untracked-not-ignored files: each mutated file must be one."""
    files = set(mutations.tracked_files())
    for m in MUTATIONS:
        assert m["file"] in files, f"{m['id']}: {m['file']} is ignored by git, so the copy would lack it"
        for target in m["tests"]:
            assert target.partition("::")[0] in files, f"{m['id']}: {target} is ignored by git"


def test_runner_refuses_a_stale_list(tmp_path, capsys):
    """An ``old`` text that is gone fails the run (exit 1, 'STALE'), before anything is copied."""
    stale = dict(MUTATIONS[0], id="stale-example", old="this text is in no file")
    assert mutations.check_old_text(stale) is not None
    original = list(MUTATIONS)
    try:
        MUTATIONS[:] = [stale]
        assert mutations.main(["--only", "stale-example", "--no-baseline"]) == 1
    finally:
        MUTATIONS[:] = original
    assert "STALE" in capsys.readouterr().err
    assert mutations.main(["--only", "no-such-mutation"]) == 2


# --------------------------------------------------------------------------------------------------
# Tests that kill mutations of helpers/ocr/reading.py (their home: tests/test_ocr.py)
# --------------------------------------------------------------------------------------------------


def test_context_decoding_keeps_Z_a_letter():
    """Z is the last of the 26 letters: in a word read as letters a Z stays a Z (not the runner-up
    letter), and a Z that looks a bit like a 2 keeps a word of letters a word of letters."""
    from helpers import ocr
    from helpers.data import CLASSES

    Z, two, O, zero = CLASSES.index("Z"), CLASSES.index("2"), CLASSES.index("O"), CLASSES.index("0")
    assert Z == 25
    probs = np.full((4, 36), 1e-3, np.float32)
    probs[0, Z], probs[0, two] = 0.55, 0.40   # Z or 2
    probs[1, O], probs[1, zero] = 0.50, 0.45  # O or 0
    probs[2, Z] = 0.90                        # Z        -> word "ZOZ"
    probs[3, Z], probs[3, two] = 0.60, 0.35   # a one-letter word: Z
    line_of = np.zeros(4, int)
    space = np.array([False, False, False, True])
    assert ocr.decode(probs, line_of, space, context=False) == "ZOZZ"
    assert ocr.decode(probs, line_of, space, context=True) == "ZOZZ"
