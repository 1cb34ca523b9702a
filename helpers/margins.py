"""The margin report: every chapter executed for several seeds, each claim's margin per seed.

``python -m helpers claims --seeds 0 1 2`` runs every notebook of the book (quick budgets; ``--full`` for
the book's) once per seed, from a cold cache of its own (a fresh ``BOOK_CACHE_DIR``: the data drawn, the
models trained; ``--keep DIR`` keeps it, and a later report with the same ``--keep`` reuses it), two
notebooks at a time (:func:`streams`; the cache's locks keep them from training a network twice), with
``BOOK_CLAIMS=record`` so that a failing claim is recorded and the notebook goes
on. It prints each claim's value and margin per seed, the claims that fail for any seed, and each
notebook's execution time, and writes everything to ``--out`` (JSON). It exits 1 when a claim fails
for some seed, or a notebook stops on an error.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import config
from .claims import relative_margin

NOTEBOOKS = ["data", "01_softmax", "further_01_softmax", "02_backprop", "further_02_backprop", "03_mlp_training",
             "further_03_mlp", "04_ocr", "further_04_ocr", "05_autoencoder_pca", "further_05_autoencoder", "06_pytorch_finetuning", "further_06_pytorch",
             "further_data_generator"]


TIMING_KEY = "book_cell_seconds"   # notebook metadata: seconds per code cell, kept there by the book build


def _elapsed(timing: dict) -> float | None:
    """Seconds between nbclient's ``iopub.execute_input`` and ``shell.execute_reply`` stamps, or None."""
    from datetime import datetime

    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    return (datetime.fromisoformat(end.replace("Z", "+00:00"))
            - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()


def move_timings(nb) -> None:
    """Move nbclient's per-cell stamps out of the cells into ``nb.metadata[TIMING_KEY]`` (seconds per code
    cell): jupyter-cache hashes every cell's metadata, so stamps left there would change the notebook's key."""
    nb.metadata[TIMING_KEY] = [_elapsed(c.get("metadata", {}).pop("execution", None) or {})
                               for c in nb.cells if c.get("cell_type") == "code"]


def cell_seconds(nb) -> list[tuple[int, float, str]]:
    """``(code cell number, seconds, first line)`` of every executed code cell, slowest first, from the
    stamps nbclient records in each cell's metadata (``execution``) or, once :func:`move_timings` moved
    them, from the notebook's metadata."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    kept = nb.metadata.get(TIMING_KEY)
    out = []
    for i, cell in enumerate(code):
        sec = kept[i] if kept is not None and i < len(kept) else _elapsed(cell.get("metadata", {}).get("execution", {}))
        if sec is not None:
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            out.append((i, float(sec), first[:70]))
    return sorted(out, key=lambda r: -r[1])


def run_notebook(path: Path, env: dict[str, str], timeout: int = 1500,
                 timings: list | None = None) -> tuple[float, str | None]:
    """Execute one notebook (in its own folder) with ``env`` added to the kernel's environment.
    Returns ``(seconds, error)``; error is None when every cell ran. ``timings``, when given, receives
    :func:`cell_seconds` of the run."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    error = None
    try:   # the kernel gets this environment (not this process's: notebooks may run side by side)
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute(env=dict(os.environ, **env))
    except CellExecutionError as exc:
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        error = next((ln for ln in reversed(lines) if "Error" in ln), lines[-1] if lines else "error")
    finally:
        if timings is not None:
            timings.extend(cell_seconds(nb))
    return time.perf_counter() - t0, error


# longest first (measured cold, full mode), so that two streams finish together
ORDER = ["06_pytorch_finetuning", "04_ocr", "further_04_ocr", "further_data_generator", "further_06_pytorch", "further_05_autoencoder",
         "data", "05_autoencoder_pca", "03_mlp_training", "further_02_backprop", "02_backprop", "further_01_softmax",
         "further_03_mlp", "01_softmax"]


def streams() -> int:
    """Notebooks executed at once: ``BOOK_EXEC_STREAMS``, else 2 on two or more cores. They share data and
    networks only through the cache, whose locks keep two from training the same network twice."""
    value = os.environ.get("BOOK_EXEC_STREAMS")
    if value is None:
        return 2 if (os.cpu_count() or 1) >= 2 else 1
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"BOOK_EXEC_STREAMS must be a whole number of at least 1, got {value!r}")
    return int(value)


def run_report(seeds: list[int], mode: str, notebooks: list[str], out: Path, keep: Path | None = None) -> dict:
    """Execute ``notebooks`` for each seed from a cold cache; returns (and writes to ``out``) the report."""
    root = config.ROOT / "notebooks"
    report: dict = {"mode": mode, "seeds": seeds, "notebooks": notebooks, "claims": [], "runs": []}
    for seed in seeds:
        if keep is None:
            cache = Path(tempfile.mkdtemp(prefix=f"claims-{mode}-seed{seed}-"))
        else:   # kept: a later report with the same --keep reuses this seed's data and models
            cache = keep / f"{mode}-seed{seed}"
            cache.mkdir(parents=True, exist_ok=True)
        log = cache / "claims.jsonl"
        log.unlink(missing_ok=True)
        def run(name: str) -> dict:
            # BOOK_STATIC=1: the sliders pre-render their frames as in the book build, with no live widgets
            # (a live ipywidgets figure can leave nbclient and the kernel waiting on each other until the
            # cell times out)
            env = {"BOOK_MODE": mode, "BOOK_SEED": str(seed), "BOOK_CACHE_DIR": str(cache), "BOOK_CLAIMS": "record",
                   "BOOK_CLAIMS_LOG": str(log), "BOOK_NOTEBOOK": name, "BOOK_STATIC": "1"}
            print(f"seed {seed}, {mode}: {name} ...", flush=True)
            cells: list = []
            seconds, error = run_notebook(root / f"{name}.ipynb", env, timings=cells)
            print(f"  {name}: {seconds:.0f} s" + (f"  ERROR: {error}" if error else ""), flush=True)
            return {"seed": seed, "notebook": name, "seconds": round(seconds, 1), "error": error,
                    "slowest_cells": [dict(cell=i, seconds=round(t, 1), source=src) for i, t, src in cells[:5]]}

        rank = {n: i for i, n in enumerate(ORDER)}
        todo = sorted(notebooks, key=lambda n: rank.get(n, len(rank)))
        with ThreadPoolExecutor(min(streams(), len(todo))) as pool:
            done = dict(zip(todo, pool.map(run, todo)))
        report["runs"] += [done[n] for n in notebooks]     # in the order asked for
        if log.exists():
            report["claims"] += [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        if keep is None:
            shutil.rmtree(cache, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        with config.atomic_path(out) as tmp:   # after every seed: a long run that stops keeps what it measured
            tmp.write_text(json.dumps(report, indent=1))
    return report


def table(report: dict) -> str:
    """The report as a Markdown table: one row per claim, its value and margin for each seed."""
    seeds = report["seeds"]
    by_id: dict[str, dict[int, dict]] = {}
    for c in report["claims"]:
        by_id.setdefault(c["id"], {})[c["seed"]] = c
    head = "| claim | bound | " + " | ".join(f"seed {s}: value (margin)" for s in seeds) + " | worst margin |"
    rows = [head, "|" + "---|" * (len(seeds) + 3)]
    for cid, per in by_id.items():
        any_c = next(iter(per.values()))
        cells = []
        for s in seeds:
            c = per.get(s)
            if c is None:
                cells.append("not reached")
                continue
            flag = {True: "", False: " **FAILS**", None: " (not checked)"}[c["passed"]]
            cells.append(f"{c['value']:.4g} ({c['margin']:+.3g}){flag}")
        worst = min((relative_margin(c) for c in per.values()), default=float("nan"))
        rows.append(f"| {cid} | {any_c['op']} {any_c['bound']:.4g} | " + " | ".join(cells) + f" | {100 * worst:+.1f}% |")
    return "\n".join(rows)


def failures(report: dict) -> list[str]:
    """The ids of claims that fail (were checked and do not hold) for some seed, and the seeds."""
    bad: dict[str, list[int]] = {}
    for c in report["claims"]:
        if c["passed"] is False:
            bad.setdefault(c["id"], []).append(c["seed"])
    return [f"{cid} (seed {', '.join(map(str, s))})" for cid, s in bad.items()]


def main(args: argparse.Namespace) -> int:
    mode = "full" if args.full else "quick"
    notebooks = args.notebooks or NOTEBOOKS
    unknown = sorted(set(notebooks) - set(NOTEBOOKS))
    if unknown:
        print(f"claims: unknown notebooks {unknown}; choose from {NOTEBOOKS}", file=sys.stderr)
        return 2
    out = Path(args.out or config.ROOT / "_build" / f"claims-report-{mode}.json")
    report = run_report(list(args.seeds), mode, notebooks, out, Path(args.keep) if args.keep else None)
    print()
    print(table(report))
    print()
    print("seconds per notebook: " + ", ".join(f"{r['notebook']} seed {r['seed']} {r['seconds']:.0f}"
                                                for r in report["runs"]))
    bad, errors = failures(report), [r for r in report["runs"] if r["error"]]
    for r in errors:
        print(f"ERROR in {r['notebook']} (seed {r['seed']}): {r['error']}")
    print(f"{len({c['id'] for c in report['claims']})} claims, {len(bad)} failing for some seed"
          + (": " + "; ".join(bad) if bad else "") + f"; report in {out}")
    return 1 if bad or errors else 0


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("claims", help="the margin report: every claim's margin over several seeds",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="BOOK_SEED values (default 0 1 2)")
    p.add_argument("--full", action="store_true", help="the book's budgets (default: quick)")
    p.add_argument("--notebooks", nargs="+", help=f"a subset of {NOTEBOOKS}")
    p.add_argument("--out", help="where to write the JSON report (default _build/claims-report-<mode>.json)")
    p.add_argument("--keep", help="keep each seed's cache in this folder, and reuse what an earlier report kept "
                                  "there (default: a fresh cache per seed, deleted after it)")
    p.set_defaults(func=main)
