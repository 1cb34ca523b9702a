"""pytest runs the book in quick mode: small budgets, same code paths.

MPLBACKEND is deliberately left alone: kernels started by nbval and by the book build inherit the
environment, and a forced Agg backend there turns every glued figure into "<Figure size ...>" text.
Headless matplotlib picks Agg by itself."""
import os

os.environ.setdefault("BOOK_MODE", "quick")

import pytest  # noqa: E402

SLOW_MODULES = ("test_book_browser.py",)   # build the book (quick) and read it in Chromium


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true",
                     help="also run the slow tests: the built book read in Chromium (tests/test_book_browser.py), "
                          "which build the quick book first; CI runs them after its own quick build")


def pytest_collection_modifyitems(config, items):
    """``python -m pytest`` runs the unit tests and every notebook (nbval); the tests of the built book
    run with ``--slow``, with ``BOOK_SLOW_TESTS=1``, or when their file is named on the command line."""
    named = any(m in str(a) for a in config.args for m in SLOW_MODULES)
    if config.getoption("--slow") or os.environ.get("BOOK_SLOW_TESTS") == "1" or named:
        return
    skip = pytest.mark.skip(reason="slow: builds the book; run with --slow (CI does, after its quick build)")
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(skip)
