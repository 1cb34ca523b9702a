"""Speed and memory of the book's code on this machine.

    python benchmarks/run.py            # a readable table
    python benchmarks/run.py --json     # one JSON object
    python benchmarks/run.py --book     # also time the quick and full book builds (slow)
    python benchmarks/run.py --only mlp_epoch_numpy_s chars_generated_per_s
    python benchmarks/run.py --profile  # every notebook from a cold cache: seconds, 5 slowest cells
    python benchmarks/run.py --profile --mode quick --notebooks 03_mlp_training

Each case runs in a fresh subprocess so its peak memory (max resident set size, MiB) is its own.
Goals (from the issues): numpy MLP epoch <= 1.5x the same network in PyTorch; character
generation of the NIST36-size set (16,200 images) in <= 30 s; OCR <= 1 s per 12-megapixel photo;
a cached character split loads in well under a second; the full book cold in at most 15 minutes.
Timings are measured here, never asserted in the tests. The exit status is 1 when any case fails
(its row says why). The book's performance page runs these cases when it is built, and shows the
build's own per-notebook profile.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

THREADS = int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))
MLP = dict(n=10_800, d=1024, h=64, c=36, batch=32, epochs=5)


def _peak_mib(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0


def _limit_threads(n: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)


def _mlp_data():
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.random((MLP["n"], MLP["d"]), dtype=np.float32)
    y = rng.integers(0, MLP["c"], MLP["n"])
    Y = np.eye(MLP["c"], dtype=np.float32)[y]
    return X, Y


def case_mlp_epoch_numpy_s() -> dict:
    """One epoch of 1024-64-36 (sigmoid, softmax), batch 32, float32, helpers.nn; median of epochs."""
    import numpy as np

    from helpers import nn

    _limit_threads(THREADS)
    X, Y = _mlp_data()
    rng = np.random.default_rng(0)
    params = nn.build_mlp([MLP["d"], MLP["h"], MLP["c"]], ["sigmoid", "softmax"], rng=rng, dtype=np.float32)
    times = []
    for _ in range(MLP["epochs"]):
        t = time.perf_counter()
        nn.train_epoch_general(X, Y, params, lr=1e-3, batch_size=MLP["batch"], rng=rng, check=False)
        times.append(time.perf_counter() - t)
    return {"value": statistics.median(times), "unit": "s", "runs": times}


def case_mlp_epoch_torch_s() -> dict:
    """The same network, batch size and dtype in PyTorch (CPU), same thread count."""
    import torch

    torch.set_num_threads(THREADS)
    _limit_threads(THREADS)
    X, Y = _mlp_data()
    X, y = torch.from_numpy(X), torch.from_numpy(Y.argmax(1))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(MLP["d"], MLP["h"]), torch.nn.Sigmoid(), torch.nn.Linear(MLP["h"], MLP["c"]))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")
    times = []
    for _ in range(MLP["epochs"]):
        t = time.perf_counter()
        perm = torch.randperm(len(X))
        for i in range(0, len(X), MLP["batch"]):
            idx = perm[i:i + MLP["batch"]]
            opt.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    return {"value": statistics.median(times), "unit": "s", "runs": times}


def case_chars_generated_per_s() -> dict:
    """Character generation rate, cache disabled (the NIST36-size set is 16,200 images)."""
    from helpers import data

    n_per_class = 100
    t = time.perf_counter()
    cs = data.generate_characters("train", n_per_class=n_per_class, seed=12345)
    dt = time.perf_counter() - t
    n = len(cs)
    return {"value": n / dt, "unit": "images/s", "images": n, "seconds": dt,
            "nist36_size_s": 16_200 / (n / dt)}


def case_chars_cache_load_s() -> dict:
    """Loading a cached generated split (what every chapter does after the first draw): the quick-mode
    training split (40 per class, 1,440 images) drawn once into a temporary data folder, then loaded
    from its .npz file; median of 5 loads. (tests/test_data.py checks that the cache is used, this
    case how fast it is.)"""
    from helpers import data

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as folder:
        os.environ["BOOK_DATA_DIR"] = folder
        data.load_characters("train", 40, seed=0, progress=False)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            chars = data.load_characters("train", 40, seed=0, progress=False)
            times.append(time.perf_counter() - t)
    return {"value": statistics.median(times), "unit": "s", "runs": times, "images": len(chars)}


def case_ocr_s_per_12mp_photo() -> dict:
    """Full OCR pipeline on a generated 4000x3000 page photo, model already loaded."""
    from helpers import ocr

    return _time_reading(ocr.make_test_page(seed=0, size=(3000, 4000)).image)


def _time_reading(image) -> dict:
    """Median of 3 readings of one photo by the book's reader, after a warm-up reading."""
    from helpers import ocr

    reader = ocr.load_reader()
    reader(image)  # warm-up (imports, first-call allocations)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        reader(image)
        times.append(time.perf_counter() - t)
    return {"value": statistics.median(times), "unit": "s", "runs": times, "shape": list(image.shape)}


def case_ocr_s_per_12mp_desk_photo() -> dict:
    """The same on a page lying on a dark desk, turned 30 degrees: the sheet is found, masked and
    turned upright, so the page is analysed twice."""
    from helpers import ocr

    return _time_reading(ocr.make_test_page(seed=0, size=(3000, 4000), desk="dark", desk_angle=30.0).image)


def _build(mode: str) -> dict:
    out = tempfile.mkdtemp(prefix=f"book-{mode}-")
    env = dict(os.environ, BOOK_MODE=mode)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(ROOT), "--path-output", out],
                   env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - t
    return {"value": seconds, "unit": "s", "peak_mib_children": _peak_mib(children=True),
            **page_weights(Path(out) / "_build" / "html"),
            "note": "executes every notebook unless _build/.jupyter_cache holds this mode's outputs; "
                    "trained models come from the data cache when present"}


def page_weights(html: Path) -> dict:
    """What a reader downloads: the heaviest page (figures and slider frames are inline) and the
    whole site, theme, MathJax and search index included."""
    pages = {str(f.relative_to(html)): f.stat().st_size for f in html.rglob("*.html")}
    heaviest = max(pages, key=pages.get)
    site = sum(f.stat().st_size for f in html.rglob("*") if f.is_file())
    return {"heaviest_page": heaviest, "heaviest_page_mib": pages[heaviest] / 2**20, "site_mib": site / 2**20}


def case_book_build_quick_s() -> dict:
    return _build("quick")


def case_book_build_full_s() -> dict:
    return _build("full")


CASES = {name[5:]: fn for name, fn in dict(globals()).items() if name.startswith("case_")}
BOOK_CASES = ["book_build_quick_s", "book_build_full_s"]


def profile(mode: str, notebooks: list[str], out: Path | None) -> dict:
    """Every notebook (in the book's order) executed once from a cold cache of its own (a fresh
    ``BOOK_CACHE_DIR``: data drawn, models trained), as nbclient runs them in the book build:
    ``{'mode', 'notebooks': [{'notebook', 'seconds', 'error', 'slowest_cells'}], 'total_s'}``."""
    from helpers import margins

    report = margins.run_report([0], mode, notebooks, out or Path(tempfile.mkdtemp()) / "profile.json")
    rows = [dict(notebook=r["notebook"], seconds=r["seconds"], error=r["error"], slowest_cells=r["slowest_cells"])
            for r in report["runs"]]
    return {"mode": mode, "notebooks": rows, "total_s": round(sum(r["seconds"] for r in rows), 1)}


def print_profile(prof: dict) -> None:
    print(f"\n{prof['mode']} mode, cold: {prof['total_s']:.0f} s in all")
    for r in prof["notebooks"]:
        print(f"{r['notebook']:24s} {r['seconds']:7.0f} s" + (f"  ERROR {r['error']}" if r["error"] else ""))
        for c in r["slowest_cells"]:
            print(f"    cell {c['cell']:3d} {c['seconds']:7.1f} s  {c['source']}")


def run_case(name: str) -> dict:
    """Run one case in a fresh interpreter; add its peak memory. A case that fails (non-zero exit,
    or no JSON result) gives ``{'error': [last line of its output]}``."""
    proc = subprocess.run([sys.executable, __file__, "--case", name], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]}
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": [f"no result: {proc.stdout.strip()[-200:]!r}"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--book", action="store_true", help="also time the quick and full book builds")
    ap.add_argument("--only", nargs="+", choices=sorted(CASES), help="run only these cases")
    ap.add_argument("--profile", action="store_true",
                    help="execute every notebook from a cold cache; per notebook: seconds, 5 slowest cells")
    ap.add_argument("--mode", choices=["quick", "full"], default="full", help="BOOK_MODE of --profile (default full)")
    ap.add_argument("--notebooks", nargs="+", help="with --profile: only these notebooks (names without .ipynb)")
    ap.add_argument("--out", type=Path, help="with --profile: also write the JSON report here")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.case:  # child process: one measurement
        if args.case not in CASES:
            print(f"run.py: unknown case {args.case!r}; known: {', '.join(sorted(CASES))}", file=sys.stderr)
            return 2
        result = CASES[args.case]()
        # a book build's memory is in its children (jupyter-book, then each notebook's kernel)
        result["peak_mib"] = max(_peak_mib(), result.pop("peak_mib_children", 0.0))
        print(json.dumps(result))
        return 0

    if args.profile:
        from helpers import margins

        prof = profile(args.mode, args.notebooks or margins.NOTEBOOKS, None)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(prof, indent=1) + "\n")
        print(json.dumps(prof, indent=1) if args.json else "", end="")
        if not args.json:
            print_profile(prof)
        return 1 if any(r["error"] for r in prof["notebooks"]) else 0

    names = args.only or [n for n in CASES if n not in BOOK_CASES or args.book]
    results = {n: run_case(n) for n in names}
    report = {
        "machine": {"cpus": os.cpu_count(), "threads": THREADS, "python": platform.python_version(),
                    "platform": platform.platform()},
        "results": results,
    }
    ok = {n: r["value"] for n, r in results.items() if "value" in r}
    if "mlp_epoch_numpy_s" in ok and "mlp_epoch_torch_s" in ok:
        report["results"]["mlp_numpy_over_torch"] = {"value": ok["mlp_epoch_numpy_s"] / ok["mlp_epoch_torch_s"],
                                                     "unit": "ratio", "goal": "<= 1.5"}
    report["measured"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"{'benchmark':28s} {'value':>12s} {'unit':>9s} {'peak MiB':>9s}")
        for n, r in report["results"].items():
            if "value" in r:
                peak = f"{r['peak_mib']:.0f}" if "peak_mib" in r else ""
                print(f"{n:28s} {r['value']:12.3f} {r['unit']:>9s} {peak:>9s}")
            else:
                print(f"{n:28s} {'error':>12s}  {r['error']}")
    failed = [n for n, r in results.items() if "value" not in r]
    if failed:
        print(f"run.py: {len(failed)} case(s) failed: {', '.join(failed)}", file=sys.stderr)
    return 0 if all("value" in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
