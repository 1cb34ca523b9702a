"""Independent runs on all cores, with the same results as one after another.

The book trains with one thread per run (a thread count changes the order of float sums, so the
last digits of every loss; see :func:`helpers.torch_models.training._threads`), which leaves the
other cores idle. A study of many independent runs (learning rates, seeds, bottleneck sizes) can
use them instead: :func:`pmap` runs ``fn`` on each item in worker processes, each with one thread
for numpy's BLAS and for torch, and returns the results in the order of the items.

Every run seeds itself (:func:`helpers.config.seed_everything`, :func:`helpers.config.rng`), so a
run gives the same numbers in a worker as in the notebook's own process; ``BOOK_WORKERS=1`` runs
everything in the calling process (the test suite checks that both agree to the last bit).

``BOOK_WORKERS`` sets the number of worker processes (default: the number of cores, at most 4, in
full mode; 1 in quick mode, whose runs are shorter than a worker's start).
Workers are started with ``spawn`` (a fork of a process that already ran torch can hang) and
inherit the environment, so ``BOOK_MODE``, ``BOOK_SEED`` and the cache folders are theirs too.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable, Sequence

_CONTEXT: Any = None


def workers() -> int:
    """Worker processes for :func:`pmap`: ``BOOK_WORKERS``, else the number of cores (at most 4) in
    full mode and 1 in quick mode (whose runs take less time than starting a worker)."""
    value = os.environ.get("BOOK_WORKERS")
    if value is None:
        from . import config

        if config.is_quick():
            return 1
        return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                          else os.cpu_count() or 1))
    try:
        n = int(value)
        if n < 1:
            raise ValueError
    except ValueError:
        raise ValueError(f"BOOK_WORKERS must be a whole number of at least 1 (1 runs everything in this "
                         f"process), got {value!r}") from None
    return n


def context() -> Any:
    """The ``context`` object given to :func:`pmap` (in the worker, or in the calling process)."""
    return _CONTEXT


def _init_worker(ctx: Any) -> None:
    global _CONTEXT
    _CONTEXT = ctx
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)           # one BLAS / OpenMP thread per worker: the workers share the cores
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def pmap(fn: Callable[[Any], Any], items: Iterable[Any], *, ctx: Any = None, n_workers: int | None = None) -> list:
    """``[fn(item) for item in items]``, spread over worker processes.

    ``fn`` must be a module-level function of an importable module, not of a script or notebook
    (it is sent to the workers by name, and the workers do not run the caller's script); ``ctx`` is sent once
    to each worker and read there with :func:`context` (large shared inputs: a backbone, data sets).
    With one worker, or one item, everything runs here, in order. An exception in any run is raised
    here, with the item it came from."""
    items = list(items)
    n = min(workers() if n_workers is None else int(n_workers), len(items))
    if n <= 1:
        global _CONTEXT
        previous, _CONTEXT = _CONTEXT, ctx
        try:
            return [fn(item) for item in items]
        finally:
            _CONTEXT = previous
    import multiprocessing
    import multiprocessing.spawn as mp_spawn

    prepare = mp_spawn.get_preparation_data

    def without_main(name: str) -> dict:
        # the workers need only importable modules; re-running the caller's script (or notebook
        # launcher) in each worker would redo its work, or start workers of its own and hang
        data = prepare(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    mp_spawn.get_preparation_data = without_main
    try:
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                                 initargs=(ctx,)) as pool:
            futures = [pool.submit(fn, item) for item in items]
            return _collect(fn, items, futures)
    finally:
        mp_spawn.get_preparation_data = prepare


def _collect(fn: Callable, items: list, futures: list) -> list:
    out = []
    for item, future in zip(items, futures):
        try:
            out.append(future.result())
        except Exception as exc:
            raise RuntimeError(f"pmap: {getattr(fn, '__name__', fn)}({_short(item)}) failed in a worker: "
                               f"{type(exc).__name__}: {exc}") from exc
    return out


def _short(item: Any) -> str:
    text = " ".join(repr(item).split())
    return text if len(text) <= 80 else text[:77] + "..."
