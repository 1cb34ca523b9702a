"""Command line: ``python -m helpers data`` draws the generated character set into the cache."""
from __future__ import annotations

import time

from .. import config
from .cache import cache_path, load_characters
from .charset import SPLITS
from .generator import styles


def add_cli(subparsers) -> None:
    """Register ``python -m helpers data`` on an argparse subparsers object."""
    p = subparsers.add_parser(
        "data", help="draw the generated character set into the data cache",
        description="Draw the NIST36-compatible character set (offline) and cache it in the data directory "
                    "(BOOK_DATA_DIR or data/). Sizes follow BOOK_MODE (full: 300/100/50 per class).")
    p.add_argument("--split", choices=SPLITS + ("all",), default="all", help="which split (default: all)")
    p.add_argument("--n-per-class", type=int, default=None, help="images per class (default: the budget)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--force", action="store_true", help="draw again even if the cache exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    splits = SPLITS if args.split == "all" else (args.split,)
    print(f"mode {config.mode()}, data directory {config.data_dir()}")
    for split in splits:
        path = cache_path(split, args.n_per_class, args.seed)
        cached = path.exists() and not args.force
        t0 = time.perf_counter()
        data = load_characters(split, args.n_per_class, args.seed, progress=not args.quiet, force=args.force)
        dt = time.perf_counter() - t0
        how = "loaded from cache" if cached else "drawn"
        print(f"{split:5s}: {len(data):6d} images {how} in {dt:5.1f} s  ->  {path.name}")
        print(f"       styles: {', '.join(styles(split))}")
    return 0
