"""Shared code for the course book *Neural Networks for Recognition*.

One module per idea:

- ``config``        run settings: BOOK_MODE (quick/full), budgets, seeds, data cache, torch device
- ``interactive``   figures with sliders that work in Jupyter *and* in the static book
- ``nn``            the from-scratch numpy network (forward, backwards, softmax, ...)
- ``mlp``           the chapter-3 network trained once and cached, and its analyses
- ``data``          the NIST36-compatible character generator and real-data loaders
- ``ocr``           text extraction from photographed pages (findLetters, ...)
- ``compression``   PCA, PSNR and the autoencoders of chapter 5
- ``torch_models``  PyTorch versions of the networks, training loop, fine-tuning
- ``plots``         small plotting helpers shared by the chapters

Modules are imported lazily so that ``import helpers`` stays cheap (no torch import).
"""
__all__ = ["config", "interactive", "nn", "mlp", "data", "ocr", "compression", "torch_models", "plots"]
