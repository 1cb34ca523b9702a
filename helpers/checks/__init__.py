"""Checks for the "Your turn" programming exercises: each grades a reader's function on the spot.

Usage in a chapter: the reader writes ``def sigmoid(x): ...`` in a cell, then runs
``checks.check_sigmoid(sigmoid)``. A passing check prints one line (``✔ sigmoid: ...``); a
failing one raises :class:`CheckFailed` with a message that says what was expected, what came
back and where they differ. Every check is unit-tested against the book's reference code, against
deliberately wrong versions and against right answers written in unusual ways
(``tests/test_checks_*.py``, ``tests/test_check_answers.py``). The shared rules (tolerances by the
answer's precision, inputs that must come back unchanged, the book's own function refused) are in
``_core``; ``python -m helpers grade`` (:mod:`helpers.grading`) grades a whole student notebook.

- ``_core``        CheckFailed, calling the reader's function, shape and value comparisons
- ``backprop``     chapters 2-3: sigmoid, initialize_weights, forward, softmax, compute_loss_and_acc,
                   backwards, get_random_batches, the training loop, the gradient checker
- ``ocr``          chapter 4: findLetters, line grouping, crops
- ``compression``  chapter 5: the autoencoder's forward/backward passes and epoch, the momentum update,
                   PCA by SVD
- ``pytorch``      chapter 6: the PyTorch training loop, head replacement
"""
from ._core import (CheckFailed, call, call_unchanged, describe, expect_close, expect_shape, fmt_pair,  # noqa: F401
                    passed, refuse_reference, rtol_for)
from .backprop import *  # noqa: F401,F403
from .compression import *  # noqa: F401,F403
from .ocr import *  # noqa: F401,F403
from .pytorch import *  # noqa: F401,F403
