"""Mutation checks: plausible bugs that the unit tests must catch.

    python tests/mutations.py                 # every mutation; a table; exit 1 if one survived
    python tests/mutations.py --only ID ...   # some of them
    python tests/mutations.py --list          # the list, nothing run

Each mutation is a real bug someone could write: ``old`` (exact source text, found exactly once in
``file``) becomes ``new``. For each one the repository's files (``git ls-files -co
--exclude-standard``: tracked and untracked-not-ignored, so no data/ cache and no _build/) are
copied to a temporary folder, the mutation is applied there, and its ``tests`` (pytest node ids
or files; unit tests only, never notebooks) run in that copy with a fresh, empty ``BOOK_DATA_DIR``
(``data='repo'``: a copy of data/, for tests that need trained models). The tests must fail:
the mutation is *killed*. A mutation that passes its tests *survived*: a bug of that kind would
reach the book unnoticed. Before the mutations, the same tests run once on the unchanged copy
and must pass (otherwise every mutation would look killed).

Exit status 0 only when every mutation was killed; 1 when one survived, when an ``old`` text is
missing or ambiguous (a stale list fails loudly), or when the unchanged copy fails its tests.
tests/test_mutations.py checks the list itself in the normal test run (every ``old`` text occurs
exactly once, every listed test exists).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 300  # per pytest run; a mutation that makes its tests hang counts as killed ("timeout")

T_OCR = "tests/test_ocr.py"
T_MUT = "tests/test_mutations.py"
T_INT = "tests/test_interactive.py"
T_TM = "tests/test_torch_models.py"
T_DATA = "tests/test_data.py"
T_BENCH = "tests/test_benchmarks.py"
T_BUILD = "tests/test_book_build.py"
T_ANS = "tests/test_check_answers.py"
T_PAD = "tests/test_pad.py"

MUTATIONS: list[dict] = [
    # (p) helpers.parallel: workers run the caller's study with the caller's inputs
    dict(id="pmap-context-lost", file="helpers/parallel.py",
         old="initargs=(ctx,)",
         new="initargs=(None,)",
         tests=["tests/test_parallel.py::test_a_finetune_run_in_a_worker_equals_one_here"],
         why="the workers never receive the backbone and sets the runs share"),
    dict(id="pmap-quick-mode-parallel", file="helpers/parallel.py",
         old="        if config.is_quick():\n            return 1\n",
         new="",
         tests=["tests/test_parallel.py::test_workers_follow_book_workers_and_mode"],
         why="quick mode (the tests) starts worker processes that cost more than the runs they share"),
    dict(id="cache-lock-dropped", file="helpers/mlp.py",
         old="    with config.cache_lock(path):  # another process making it: wait, then load it",
         new="    if True:",
         tests=["tests/test_parallel.py::test_two_processes_needing_one_model_train_it_once"],
         why="two notebooks (or test workers) that need the same network both train it"),
    dict(id="timing-left-in-cells", file="helpers/margins.py",
         old='_elapsed(c.get("metadata", {}).pop("execution", None) or {})',
         new='_elapsed(c.get("metadata", {}).get("execution", None) or {})',
         tests=["tests/test_book_build.py::test_timed_execution_keeps_the_cache_key_and_records_each_cell"],
         why="cell timestamps change jupyter-cache's key: every build executes every notebook again"),
    # (a) OCR reading order: lines top to bottom, each left to right
    dict(id="ocr-order-x-only", file="helpers/ocr/lines.py",
         old="order = np.lexsort((along, line_of))",
         new="order = np.argsort(along, kind='stable')",
         tests=[f"{T_OCR}::test_group_lines_finds_tilted_lines_in_reading_order"],
         why="boxes sorted left to right across the whole page mix the lines"),
    dict(id="ocr-order-top-edge", file="helpers/ocr/lines.py",
         old="order = np.lexsort((along, line_of))",
         new="order = np.lexsort((boxes[:, 0], line_of))",
         tests=[f"{T_OCR}::test_group_lines_finds_tilted_lines_in_reading_order"],
         why="within a line, the tallest letter (highest top edge) is read first"),
    dict(id="ocr-lines-bottom-to-top", file="helpers/ocr/lines.py",
         old="line_of[by_height] = np.cumsum(new_line)",
         new="line_of[by_height] = np.cumsum(new_line)[::-1]",
         tests=[f"{T_OCR}::test_group_lines_finds_tilted_lines_in_reading_order"],
         why="lines numbered bottom to top: the page is read upwards"),
    # (e) context decoding: the letter group is A-Z, 26 classes
    dict(id="decode-drops-Z", file="helpers/ocr/reading.py",
         old="best = np.where(letters, probs[:, :26].argmax(1), 26 + probs[:, 26:].argmax(1))",
         new="best = np.where(letters, probs[:, :25].argmax(1), 26 + probs[:, 26:].argmax(1))",
         tests=[f"{T_MUT}::test_context_decoding_keeps_Z_a_letter"],
         why="Z falls out of the letter group: a Z in a word reads as another letter"),
    dict(id="decode-letter-likelihood-without-Z", file="helpers/ocr/reading.py",
         old="crop_ratio = np.log(probs[:, :26].max(1) + 1e-12)",
         new="crop_ratio = np.log(probs[:, :25].max(1) + 1e-12)",
         tests=[f"{T_MUT}::test_context_decoding_keeps_Z_a_letter"],
         why="a word's letter likelihood leaves Z out, so 'ZZ2'-like words turn into digits"),
    # (b) interactive figures: frame k is the picture drawn for the values frame_index names
    dict(id="frames-transposed", file="helpers/interactive.py",
         old="        for combo in itertools.product(*(s.values for s in self.sliders)):\n"
             "            values = dict(zip((s.name for s in self.sliders), combo))",
         new="        for combo in itertools.product(*(s.values for s in self.sliders[::-1])):\n"
             "            values = dict(zip((s.name for s in self.sliders[::-1]), combo))",
         tests=[f"{T_INT}::test_each_frame_shows_the_values_frame_index_names"],
         why="the grid drawn column-major while the player and frame_index read it row-major"),
    dict(id="frames-reversed", file="helpers/interactive.py",
         old="        self.frames = encoded[self.image_format]",
         new="        self.frames = encoded[self.image_format][::-1]",
         tests=[f"{T_INT}::test_each_frame_shows_the_values_frame_index_names"],
         why="frames stored in reverse slider order"),
    dict(id="thinning-drops-default", file="helpers/interactive.py",
         old="        keep.add(self._index)\n",
         new="",
         tests=[f"{T_INT}::test_default_budget_applies"],
         why="a long slider thinned to the frame budget loses the value the figure opens on"),
    dict(id="player-first-frame", file="helpers/interactive.py",
         old="            first = first * d + i",
         new="            first = i * d + first",
         tests=[f"{T_INT}::test_each_frame_shows_the_values_frame_index_names"],
         why="the static page opens on a frame that is not the sliders' default values"),
    # (c) chapter 6: the from-scratch baseline must not start from the pretrained backbone
    dict(id="scratch-from-pretrained", file="helpers/torch_models/transfer.py",
         old="        model = SqueezeNetClassifier(n_classes, backbone.in_channels, backbone.small_input)",
         new="        model = copy.deepcopy(backbone).cpu()\n        replace_head(model, n_classes)",
         tests=[f"{T_TM}::test_scratch_baseline_starts_from_fresh_weights"],
         why="'from scratch' silently fine-tunes the pretrained weights: the chapter's comparison is void"),
    # (d) EMNIST letters: label 1 is 'A'
    dict(id="emnist-letters-off-by-one", file="helpers/data/loaders.py",
         old="        return labels - 1\n",
         new="        return labels\n",
         tests=[f"{T_DATA}::test_load_emnist_letters_label_1_is_A"],
         why="EMNIST letters count from 1: every letter becomes the next one and 'Z' is lost"),
    dict(id="emnist-balanced-drops-Z", file="helpers/data/loaders.py",
         old="caps = (labels >= 10) & (labels < 36)",
         new="caps = (labels >= 10) & (labels < 35)",
         tests=[f"{T_DATA}::test_load_emnist_idx_files"],
         why="the last capital ('Z') of the balanced set dropped"),
    # (f) the character cache key covers the drawing code
    dict(id="char-cache-key-without-code", file="helpers/data/cache.py",
         old='"code": _code_digest(), ',
         new="",
         tests=[f"{T_DATA}::test_cache_key_follows_the_drawing_code"],
         why="an edited generator would load characters drawn by the old code"),
    dict(id="char-cache-digest-glyphs-only", file="helpers/data/cache.py",
         old="parts = [inspect.getsource(G), inspect.getsource(generator)]",
         new="parts = [inspect.getsource(G)]",
         tests=[f"{T_DATA}::test_cache_key_follows_the_drawing_code"],
         why="edits to helpers/data/generator.py would not change the key"),
    # (i) the generator's NIST36 look, and settings that leak into the defaults
    dict(id="data-v1-paper-back", file="helpers/data/generator.py",
         old='    "noise": (0.0, 0.0),         # pixel noise sd (none: NIST36\'s paper is clean)',
         new='    "noise": (0.0, 0.03),        # pixel noise sd',
         tests=[f"{T_DATA}::test_the_nist36_look"],
         why="noisy paper again: the generated set no longer looks like NIST36's clean scans"),
    dict(id="data-v2-framing-back", file="helpers/data/generator.py",
         old='    "size": (19.5, 29.5),        # larger side of the character\'s ink box',
         new='    "size": (27.0, 31.0),        # larger side of the character\'s ink box',
         tests=[f"{T_DATA}::test_the_nist36_look", f"{T_DATA}::test_mnist_framing_matches_the_generator",
                f"{T_DATA}::test_version3_matches_the_measured_nist_statistics"],
         why="version 2's large characters again, off the measured NIST statistics, real digits framed unlike them"),
    dict(id="data-lowercase-ignored", file="helpers/data/generator.py",
         old='        char = CLASSES[labels[i]].lower() if p["lower"][i] else CLASSES[labels[i]]',
         new='        char = CLASSES[labels[i]]',
         tests=[f"{T_DATA}::test_lowercase_forms_follow_the_measured_shares"],
         why="the lowercase forms are drawn as capitals"),
    dict(id="data-settings-leak", file="helpers/data/generator.py",
         old="    merged = dict(PARAMS)",
         new="    merged = PARAMS",
         tests=[f"{T_DATA}::test_settings_replace_ranges_for_one_call_only"],
         why="one call's settings overwrite the defaults: every later set is drawn with them"),
    # (g) + item 2: checkpoints
    dict(id="corrupt-checkpoint-crashes", file="helpers/torch_models/checkpoints.py",
         old="except (CheckpointError, RuntimeError) as exc:",
         new="except RuntimeError as exc:",
         tests=[f"{T_TM}::test_corrupt_checkpoint_is_retrained_with_a_message"],
         why="garbage at a checkpoint path ends the chapter with a traceback instead of retraining"),
    dict(id="corrupt-checkpoint-retrained-unseeded", file="helpers/torch_models/checkpoints.py",
         old="            config.seed_everything(int(settings.get(\"seed\", 0)))\n            model = build_fn()\n"
             "        history",
         new="            model = build_fn()\n        history",
         tests=[f"{T_TM}::test_corrupt_checkpoint_is_retrained_with_a_message"],
         why="the model retrained after a corrupt file starts from other weights than a first training"),
    dict(id="checkpoint-key-without-code", file="helpers/torch_models/checkpoints.py",
         old='"code": code_digest(), ',
         new="",
         tests=[f"{T_TM}::test_checkpoint_key_follows_the_training_code"],
         why="an edited training loop or model would reload checkpoints trained by the old code"),
    dict(id="checkpoint-key-without-settings", file="helpers/torch_models/checkpoints.py",
         old='blob = json.dumps({"settings": settings, ',
         new='blob = json.dumps({"settings": None, ',
         tests=[f"{T_TM}::test_checkpoint_round_trip_and_train_or_load"],
         why="other epochs or learning rates would reload the same checkpoint"),
    # (h) benchmarks: a failing case fails the run
    dict(id="bench-exit-0-on-error", file="benchmarks/run.py",
         old='return 0 if all("value" in r for r in results.values()) else 1',
         new="return 0",
         tests=[f"{T_BENCH}::test_a_failing_case_fails_the_run"],
         why="CI would record a broken benchmark as a success"),
    dict(id="bench-child-error-swallowed", file="benchmarks/run.py",
         old="    if proc.returncode != 0:\n",
         new="    if proc.returncode != 0 and proc.stdout.strip():\n",
         tests=[f"{T_BENCH}::test_a_failing_case_fails_the_run"],
         why="a case that crashes in its child process is not reported as an error"),
    # (i) the book's execution cache key ignores bytecode caches
    dict(id="fingerprint-counts-pycache", file="book/_ext/book_build.py",
         old='if f.exists() and "__pycache__" not in f.parts:',
         new="if f.exists():",
         tests=[f"{T_BUILD}::test_fingerprint_ignores_bytecode_caches"],
         why="files under __pycache__ would change the key: every build would execute every chapter again"),
    dict(id="fingerprint-pycache-by-name", file="book/_ext/book_build.py",
         old='"__pycache__" not in f.parts',
         new='"__pycache__" not in f.name',
         tests=[f"{T_BUILD}::test_fingerprint_ignores_bytecode_caches"],
         why="the cache folder tested against the file's name instead of its folders"),
    dict(id="fingerprint-ignores-helpers", file="book/_ext/book_build.py",
         old='files = sorted((root / "helpers").rglob("*.py")) + [',
         new='files = [',
         tests=[f"{T_BUILD}::test_fingerprint_follows_helpers_and_requirements",
                f"{T_BUILD}::test_fingerprint_ignores_bytecode_caches"],
         why="an edited helper would not re-execute the chapters that import it"),
    # issue 17: the student edition must never ship an answer
    dict(id="student-keeps-the-answer", file="helpers/student.py",
         old='return _REGION.sub(lambda m: f"{m[\'indent\']}{STUB}\\n", source)',
         new='return source',
         tests=["tests/test_student.py::test_clear_solutions_keeps_the_stub_and_the_hints",
                "tests/test_student.py::test_student_notebook_has_no_answer_and_no_output"],
         why="the student notebooks would still hold every reference answer"),
    dict(id="student-pages-keep-listings", file="book/_ext/book_build.py",
         old='if "reference-code" in block.get("classes", []):',
         new='if "reference-code-x" in block.get("classes", []):',
         tests=["tests/test_student.py::test_student_pages_doctree"],
         why="the student edition's pages would show the book's listing of each answer"),
    dict(id="student-pages-keep-check-output", file="book/_ext/book_build.py",
         old="                cell.remove(out)",
         new="                pass",
         tests=["tests/test_student.py::test_student_pages_doctree"],
         why="a check's pass line, printed for the reference answer, would mislead a student"),
    # item 5: a corrupt NIST36 file is reported with its path and what to do
    dict(id="nist36-corrupt-file-traceback", file="helpers/data/loaders.py",
         old="        mat = sio.loadmat(str(path))\n    except Exception as exc:",
         new="        mat = sio.loadmat(str(path))\n    except OSError as exc:",
         tests=[f"{T_DATA}::test_nist36_damaged_files_name_the_file_and_the_fix",
                f"{T_DATA}::test_nist36_malformed_files_are_explained"],
         why="a damaged .mat file gives scipy's bare error instead of which file and what to do"),
    # (i) the seed switch and claims as data
    dict(id="seed-ignored-by-the-generator", file="helpers/data/generator.py",
         old="np.random.default_rng([config.seeded(int(seed)), SPLITS.index(split), 36_2017])",
         new="np.random.default_rng([int(seed), SPLITS.index(split), 36_2017])",
         tests=["tests/test_claims.py::test_another_seed_changes_the_drawn_data_and_the_initial_weights"],
         why="BOOK_SEED=1 would draw seed 0's characters: the seed runs would test nothing about the data"),
    dict(id="seed-ignored-by-torch-batches", file="helpers/config.py",
         old="return torch.Generator().manual_seed(seeded(seed))",
         new="return torch.Generator().manual_seed(int(seed))",
         tests=["tests/test_claims.py::test_another_seed_changes_the_drawn_data_and_the_initial_weights"],
         why="every seed would see the same batch order"),
    dict(id="seed-shares-the-cache", file="helpers/config.py",
         old='(data_dir() / f"seed{n}" if n else data_dir())',
         new="data_dir()",
         tests=["tests/test_claims.py::test_each_seed_caches_apart"],
         why="BOOK_SEED=1 would reload seed 0's trained models and report seed 0's numbers"),
    dict(id="seed-shares-the-notebook-cache", file="book/_ext/book_build.py",
         old='path = base / f"{mode}-seed{seed}-{code_fingerprint()}"',
         new='path = base / f"{mode}-{code_fingerprint()}"',
         tests=["tests/test_claims.py::test_the_executed_notebook_cache_is_kept_per_seed"],
         why="a build with another seed would reuse seed 0's executed notebooks"),
    dict(id="claim-margin-sign", file="helpers/claims.py",
         old='return value - bound if op in (">", ">=") else bound - value',
         new="return abs(value - bound)",
         tests=["tests/test_claims.py::test_margins_rank_claims_of_different_units"],
         why="a failing claim would report a positive margin, and the margin report would call it safe"),
    dict(id="claim-never-fails", file="helpers/claims.py",
         old='if checked and not ok and os.environ.get("BOOK_CLAIMS", "check")',
         new='if checked and not ok and os.environ.get("BOOK_CLAIMS", "record")',
         tests=["tests/test_claims.py::test_a_claim_that_fails_names_itself_its_value_bound_and_seed"],
         why="claims would be recorded but never fail the build"),
    dict(id="claim-full-only-ignored", file="helpers/claims.py",
         old="checked = not (full_only and config.is_quick())",
         new="checked = not full_only",
         tests=["tests/test_claims.py::test_record_mode_keeps_going_and_full_only_claims_are_recorded_in_quick_mode"],
         why="the full book would never check its full-mode claims"),
    dict(id="claims-read-back-first-record", file="helpers/claims.py",
         old='        last[r["id"]] = r   # a dict',
         new='        last.setdefault(r["id"], r)   # a dict',
         tests=["tests/test_claims.py::test_claims_are_read_back_from_an_executed_notebook"],
         why="a re-run cell's claim would be reported with its first, stale value"),
    # issue 27: the drawing pad reads in the page exactly as helpers.pad does in Python
    dict(id="pad-js-ink-black", file="book/_static/pad-pipeline.js",
         old="out.a[i * 32 + j] = 1 - f.ink_depth * mean;",
         new="out.a[i * 32 + j] = 1 - mean;",
         tests=[f"{T_PAD}::test_page_reads_drawings_like_python"],
         why="the page's 32x32 image normalized with full-black ink, unlike the training images and the Python pipeline"),
    dict(id="pad-js-weights-transposed", file="book/_static/pad-pipeline.js",
         old="s += x[i] * model.W1[i * 64 + j];",
         new="s += x[i] * model.W1[j * 1024 + i];",
         tests=[f"{T_PAD}::test_page_reads_drawings_like_python"],
         why="the page reads W1 column-major: the network in the page is not the chapter's"),
    dict(id="pad-js-resize-not-antialiased", file="book/_static/pad-pipeline.js",
         old="fs = Math.max(scale, 1),",
         new="fs = 1,",
         tests=[f"{T_PAD}::test_page_reads_drawings_like_python"],
         why="a large drawing shrunk without PIL's widened filter: aliased strokes the Python crops never have"),
    dict(id="pad-js-dilation-leans-wrong", file="book/_static/pad-pipeline.js",
         old="const lo = dilate ? -(s - 1 - Math.floor(s / 2)) : -Math.floor(s / 2),",
         new="const lo = -Math.floor(s / 2),",
         tests=[f"{T_PAD}::test_page_reads_drawings_like_python"],
         why="an even-sized grey dilation centred like scipy's erosion: thickened strokes shift by a pixel"),
    dict(id="pad-py-pen-radius", file="helpers/pad.py",
         old="    r = pen / 2\n    for stroke in strokes:",
         new="    r = pen\n    for stroke in strokes:",
         tests=[f"{T_PAD}::test_rasterize_draws_a_round_pen"],
         why="the pen's diameter used as its radius: strokes twice as thick as the pad draws them"),
    dict(id="pad-py-column-major", file="helpers/pad.py",
         old="x = image.reshape(1, 1024)",
         new="x = image.T.reshape(1, 1024)",
         tests=[f"{T_PAD}::test_read_drawing_is_the_ocr_framing_and_the_chapter3_forward_pass"],
         why="the drawing flattened column-major: the network sees it on its side"),
    # issue 24: the exercise checks grade like a teaching assistant
    dict(id="checks-no-side-effect-guard", file="helpers/checks/_core.py",
         old="    saved = _snapshot(args, names, dict_arrays)\n",
         new="    saved = []\n",
         tests=[T_ANS],
         why="a reader's function that changes its input in place (x -= x.max(...), delta *= ...) would pass"),
    dict(id="checks-float64-tolerance-loose", file="helpers/checks/_core.py",
         old="RTOL = {np.dtype(np.float64): 1e-7, np.dtype(np.float32): 1e-5}",
         new="RTOL = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 1e-5}",
         tests=[T_ANS],
         why="a float64 answer off by 1e-6 (e written as 2.71828) would pass as right"),
    dict(id="checks-float32-held-to-float64", file="helpers/checks/_core.py",
         old="np.issubdtype(dt, np.floating) and dt.itemsize < 8:",
         new="np.issubdtype(dt, np.floating) and dt.itemsize < 4:",
         tests=[T_ANS],
         why="right float32 answers rejected for differences in the 7th digit"),
    dict(id="checks-group-lines-one-page", file="helpers/checks/ocr.py",
         old="    for lines, h, seed in ((SMALL_LINES, SMALL_HEIGHT, 4), (LARGE_LINES, LARGE_HEIGHT, 6)):",
         new="    for lines, h, seed in ():",
         tests=[T_ANS],
         why="only the visible three-line page: a fixed pixel gap or a hard-coded count of 3 lines would pass"),
    dict(id="checks-book-function-graded", file="helpers/checks/_core.py",
         old="    if fn is reference:\n",
         new="    if fn is reference and False:\n",
         tests=[T_ANS],
         why="handing in the book's own function (sigmoid = nn.sigmoid) would pass every check"),
    # (issue 26) the book's editions: the PDF check and the launch buttons
    dict(id="pdf-check-accepts-unresolved", file="tests/check_pdf.py",
         old="    if UNRESOLVED in raw:\n",
         new="    if UNRESOLVED in raw and False:\n",
         tests=["tests/test_book_editions.py::test_check_pdf_passes_a_complete_book_and_fails_an_unresolved_reference"],
         why="a PDF whose cross-references print as '??' (an unresolved label) would pass CI"),
    dict(id="launch-buttons-without-repository", file="book/_ext/book_build.py",
         old="    if not url:\n        opts.update(binderhub_url=\"\", jupyterhub_url=\"\")\n",
         new="    if not url:\n        pass\n",
         tests=["tests/test_book_editions.py::test_launch_buttons_only_with_a_public_repository"],
         why="a clone with no public remote (or BOOK_REPOSITORY_URL=none) would offer Binder links to no repository"),
]


def tracked_files(root: Path = ROOT) -> list[str]:
    """The repository's files a clone would have, plus new files not yet committed (not ignored ones)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, check=True,
                         capture_output=True).stdout.decode()
    return sorted({f for f in out.split("\0") if f and (root / f).is_file()})


def check_old_text(m: dict, root: Path = ROOT) -> str | None:
    """None when ``m['old']`` occurs exactly once in ``m['file']``, else what is wrong."""
    path = root / m["file"]
    if not path.is_file():
        return f"{m['file']} does not exist"
    n = path.read_text().count(m["old"])
    if n != 1:
        return f"the old text occurs {n} times in {m['file']} (expected once): the list is stale"
    return None


def copy_repo(dest: Path, root: Path = ROOT) -> None:
    for rel in tracked_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)


def run_tests(copy: Path, tests: list[str], data_dir: Path) -> tuple[int, float, str]:
    """pytest on ``tests`` in the copy: (exit code, seconds, last lines of output); 124 on timeout."""
    env = dict(os.environ, BOOK_MODE="quick", BOOK_DATA_DIR=str(data_dir), PYTHONDONTWRITEBYTECODE="1",
               MPLBACKEND="Agg")
    env.pop("PYTEST_ADDOPTS", None)
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-n", "0", *tests]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return 124, time.perf_counter() - t0, f"timed out after {TIMEOUT_S} s"
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
    return proc.returncode, time.perf_counter() - t0, tail


def fresh_data_dir(work: Path, m: dict) -> Path:
    """An empty BOOK_DATA_DIR, or (``data='repo'``) a copy of the repository's data/ cache."""
    d = Path(tempfile.mkdtemp(prefix=f"data-{m['id']}-", dir=work))
    if m.get("data") == "repo" and (ROOT / "data").is_dir():
        shutil.rmtree(d)
        shutil.copytree(ROOT / "data", d)
    return d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", metavar="ID", help="run only these mutations")
    ap.add_argument("--list", action="store_true", help="print the mutations and exit")
    ap.add_argument("--no-baseline", action="store_true", help="skip the run of the tests on the unchanged copy")
    ap.add_argument("-v", "--verbose", action="store_true", help="show the test output of each run")
    args = ap.parse_args(argv)

    ids = [m["id"] for m in MUTATIONS]
    if len(set(ids)) != len(ids):
        print("mutations.py: mutation ids must be distinct", file=sys.stderr)
        return 1
    chosen = MUTATIONS
    if args.only:
        unknown = sorted(set(args.only) - set(ids))
        if unknown:
            print(f"mutations.py: unknown mutation id(s) {unknown}; known: {', '.join(ids)}", file=sys.stderr)
            return 2
        chosen = [m for m in MUTATIONS if m["id"] in args.only]
    if args.list:
        for m in chosen:
            print(f"{m['id']:38s} {m['file']:40s} {m['why']}")
        return 0

    stale = {m["id"]: err for m in chosen if (err := check_old_text(m)) is not None}
    for mid, err in stale.items():
        print(f"STALE {mid}: {err}", file=sys.stderr)

    start = time.perf_counter()
    rows: list[tuple[str, str, str, float]] = []
    with tempfile.TemporaryDirectory(prefix="mutations-") as tmp:
        work = Path(tmp)
        copy = work / "repo"
        copy_repo(copy)
        if not args.no_baseline:
            tests = sorted({t for m in chosen if m["id"] not in stale for t in m["tests"]})
            code, seconds, tail = run_tests(copy, tests, fresh_data_dir(work, {"id": "baseline"}))
            print(f"baseline (unchanged copy, {len(tests)} test targets): "
                  f"{'pass' if code == 0 else 'FAIL'} in {seconds:.0f} s", flush=True)
            if code != 0:
                print(tail, file=sys.stderr)
                print("mutations.py: the tests fail without any mutation; fix them first", file=sys.stderr)
                return 1
        for m in chosen:
            if m["id"] in stale:
                rows.append((m["id"], "STALE", m["file"], 0.0))
                continue
            path = copy / m["file"]
            original = path.read_text()
            path.write_text(original.replace(m["old"], m["new"], 1))
            try:
                code, seconds, tail = run_tests(copy, m["tests"], fresh_data_dir(work, m))
            finally:
                path.write_text(original)
            # pytest: 1 = tests failed, 124 = our timeout; 2-4 (interrupted, internal or usage error,
            # e.g. a listed test that no longer exists) and 5 (nothing collected) prove nothing
            status = {0: "SURVIVED", 1: "killed", 124: "killed (timeout)"}.get(code, f"ERROR (pytest exit {code})")
            rows.append((m["id"], status, m["file"], seconds))
            print(f"{m['id']:38s} {status:18s} {seconds:6.1f} s", flush=True)
            if args.verbose or not status.startswith("killed"):
                print("    " + tail.replace("\n", "\n    "), flush=True)

    print(f"\n{'mutation':38s} {'result':18s} {'seconds':>8s}  file")
    for mid, status, file, seconds in rows:
        print(f"{mid:38s} {status:18s} {seconds:8.1f}  {file}")
    bad = [r for r in rows if not r[1].startswith("killed")]
    print(f"\n{len(rows) - len(bad)} of {len(rows)} mutations killed in {time.perf_counter() - start:.0f} s"
          + (f"; not killed: {', '.join(r[0] for r in bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
