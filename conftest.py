"""pytest runs the book in quick mode: small budgets, same code paths.

MPLBACKEND is deliberately left alone: kernels started by nbval and by the book build inherit the
environment, and a forced Agg backend there turns every glued figure into "<Figure size ...>" text.
Headless matplotlib picks Agg by itself."""
import os

os.environ.setdefault("BOOK_MODE", "quick")
