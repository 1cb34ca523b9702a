"""pytest runs the book in quick mode: small budgets, same code paths."""
import os

os.environ.setdefault("BOOK_MODE", "quick")
os.environ.setdefault("MPLBACKEND", "Agg")
