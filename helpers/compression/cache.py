"""Train the autoencoder once, keep it on disk: settings, cache keys and the npz files.

:func:`autoencoder_settings` holds the homework's training settings (budgets from
:mod:`helpers.config`); :func:`train_or_load_autoencoder` loads the network trained with them
from ``data_dir()/autoencoders/`` or trains it with :func:`.autoencoder.train_autoencoder` and
saves it. The file name (:func:`autoencoder_cache_path`) hashes the settings, :func:`fingerprint` s
of the data and :func:`code_digest`, a hash of the source of the code that trains the network (the
epoch loop, the layers, the loss and the momentum step of :mod:`helpers.nn`, and the PSNR of the
history), so changing any of them trains a new network. A file that cannot be read is trained
again, with a printed message.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import time
from pathlib import Path
from types import CodeType, FunctionType, ModuleType
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .. import config, nn
from . import autoencoder as _autoencoder
from . import metrics as _metrics
from .autoencoder import AE_ACTIVATIONS, AE_SIZES, build_autoencoder, train_autoencoder

CACHE_FORMAT = 1  # bump when the cached autoencoder files change meaning
_HISTORY_LISTS = ("epoch", "lr", "train_loss", "valid_loss", "seconds", "valid_psnr")


def fingerprint(*arrays: np.ndarray) -> str:
    """A short SHA-1 of the arrays' shapes, dtypes and bytes (part of every cache key)."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.data)
    return h.hexdigest()[:12]


# The modules whose functions can change a trained network: a function reached from the roots below
# through names looked up in these modules (or in the helpers' own globals) is part of the key.
_CODE_MODULES: tuple[ModuleType, ...] = (nn, _autoencoder, _metrics)


def _functions_in(obj: Any, depth: int = 2) -> Iterable[FunctionType]:
    """The Python functions in ``obj``: itself, or the values of a dict / items of a tuple or list
    (``nn.ACTIVATIONS`` maps names to (function, derivative) pairs)."""
    if isinstance(obj, FunctionType):
        yield obj
    elif depth > 0 and isinstance(obj, dict):
        for v in obj.values():
            yield from _functions_in(v, depth - 1)
    elif depth > 0 and isinstance(obj, (tuple, list)):
        for v in obj:
            yield from _functions_in(v, depth - 1)


def _names(code: CodeType) -> set[str]:
    """Global and attribute names used by a code object and the functions nested in it."""
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, CodeType):
            names |= _names(c)
    return names


def _source(f: FunctionType) -> str:
    try:
        return inspect.getsource(f)
    except (OSError, TypeError):  # defined without a file (exec): its bytecode and constants
        return f"{f.__qualname__}:{f.__code__.co_code.hex()}:{f.__code__.co_consts!r}"


def code_sources(*roots: Callable) -> dict[str, str]:
    """``{module.qualname: source}`` of the roots and every function they reach: names a function
    uses are looked up in its own globals (functions of ``helpers``) and as attributes of
    :mod:`helpers.nn`, :mod:`.autoencoder` and :mod:`.metrics` (``nn.forward``), followed through
    dicts and tuples of functions (``nn.ACTIVATIONS``). Default roots: :func:`.build_autoencoder`
    and :func:`.train_autoencoder`, i.e. everything that makes the cached network and history."""
    stack = list(roots or (build_autoencoder, train_autoencoder))
    visited: set[int] = set()
    found: set[tuple[str, str]] = set()
    while stack:
        f = stack.pop()
        if id(f) in visited:
            continue
        visited.add(id(f))
        found.add((f"{f.__module__}.{f.__qualname__}", _source(f)))
        for name in sorted(_names(f.__code__)):
            g = f.__globals__.get(name)
            if isinstance(g, FunctionType) and str(g.__module__).startswith("helpers"):
                stack.append(g)
            for module in _CODE_MODULES:
                stack.extend(_functions_in(getattr(module, name, None)))
    sources: dict[str, str] = {}
    for key, src in sorted(found):      # two functions of one name (lambdas): both sources count
        sources[key] = sources[key] + "\n" + src if key in sources else src
    return sources


def code_digest(*roots: Callable) -> str:
    """A short SHA-1 of :func:`code_sources` (part of every autoencoder cache key): editing the
    training loop, a layer, the loss, the momentum step or the PSNR trains the networks again."""
    h = hashlib.sha1()
    for key, src in code_sources(*roots).items():
        h.update(key.encode())
        h.update(src.encode())
    return h.hexdigest()[:12]


def autoencoder_settings(**overrides: Any) -> dict:
    """The homework's training settings, with budgets from :mod:`helpers.config`:
    sizes, activations, epochs (``ae_epochs``), lr (``ae_lr``), batch_size (``ae_batch_size``),
    momentum 0.9, decay 0.9 every 20 epochs, seed 0. Keyword arguments replace entries."""
    s = dict(sizes=list(AE_SIZES), activations=list(AE_ACTIVATIONS), epochs=int(config.budget("ae_epochs")),
             lr=float(config.budget("ae_lr")), batch_size=int(config.budget("ae_batch_size")), momentum=0.9,
             decay=0.9, decay_every=20, seed=0)
    unknown = set(overrides) - set(s)
    if unknown:
        raise ValueError(f"autoencoder_settings: unknown settings {sorted(unknown)}; known: {sorted(s)}")
    s.update(overrides)
    s["sizes"], s["activations"] = [int(v) for v in s["sizes"]], [str(a) for a in s["activations"]]
    return s


def _key(settings: dict, extra: dict) -> str:
    blob = json.dumps({"settings": settings, "extra": extra, "format": CACHE_FORMAT}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def autoencoder_cache_path(settings: dict, X: np.ndarray, X_valid: np.ndarray | None,
                           X_snapshot: np.ndarray | None, snapshot_epochs: Sequence[int]) -> Path:
    """``data_dir()/autoencoders/ae_<sizes>-<hash>.npz``; the hash covers the settings, the
    snapshot epochs, fingerprints of the training, validation and snapshot rows, and the training
    code (:func:`code_digest`)."""
    extra = {"data": fingerprint(X), "valid": None if X_valid is None else fingerprint(X_valid),
             "snap": None if X_snapshot is None else fingerprint(X_snapshot),
             "snapshot_epochs": sorted(int(e) for e in snapshot_epochs), "code": code_digest()}
    tag = "-".join(str(v) for v in settings["sizes"])
    return config.cache_dir() / "autoencoders" / f"ae_{tag}-{_key(settings, extra)}.npz"


def _save_autoencoder(path: Path, params: dict, history: dict, settings: dict) -> None:
    arrays: dict[str, Any] = {}
    for name, _ in params["layers"]:
        arrays["W" + name], arrays["b" + name] = params["W" + name], params["b" + name]
    for k in _HISTORY_LISTS:
        arrays["history_" + k] = np.asarray(history[k], dtype=np.float64)
    epochs = sorted(history["snapshots"])
    arrays["snapshot_epochs"] = np.asarray(epochs, dtype=np.int64)
    if epochs:
        arrays["snapshots"] = np.stack([history["snapshots"][e] for e in epochs]).astype(np.float32)
    arrays["valid_psnr0"] = np.float64(history["valid_psnr0"])
    arrays["meta"] = np.array(json.dumps({"settings": settings, "layers": params["layers"],
                                          "format": CACHE_FORMAT, "code": code_digest()}))
    config.save_npz(path, **arrays)


def _load_autoencoder(path: Path, settings: dict) -> tuple[dict, dict]:
    """The network and history in ``path``; ValueError (or the reader's own error) if the file is
    damaged or was written for other settings or other code."""
    with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:   # fh: closed even if np.load fails
        meta = json.loads(str(z["meta"]))
        if meta.get("format") != CACHE_FORMAT:
            raise ValueError(f"cache format {meta.get('format')} is not {CACHE_FORMAT}")
        if meta.get("settings") != json.loads(json.dumps(settings)) or meta.get("code") != code_digest():
            raise ValueError("it was written for other settings or other training code")
        layers = [tuple(x) for x in meta["layers"]]
        params: dict = {"layers": layers}
        sizes = settings["sizes"]
        for (name, _), d_in, d_out in zip(layers, sizes[:-1], sizes[1:]):
            params["W" + name], params["b" + name] = z["W" + name], z["b" + name]
            if params["W" + name].shape != (d_in, d_out) or params["b" + name].shape != (d_out,):
                raise ValueError(f"layer {name!r} has shape {params['W' + name].shape}, expected {(d_in, d_out)}")
        if len(layers) != len(sizes) - 1:
            raise ValueError(f"{len(layers)} layers stored, {len(sizes) - 1} expected")
        history: dict = {k: z["history_" + k].tolist() for k in _HISTORY_LISTS}
        history["epoch"] = [int(e) for e in history["epoch"]]
        epochs = z["snapshot_epochs"].tolist()
        history["snapshots"] = {int(e): z["snapshots"][i] for i, e in enumerate(epochs)} if epochs else {}
        history["valid_psnr0"] = float(z["valid_psnr0"])
    return params, history


def train_or_load_autoencoder(X: Any, X_valid: Any = None, *, settings: dict | None = None,
                              snapshot_epochs: Sequence[int] = (), X_snapshot: Any = None, force: bool = False,
                              verbose: bool = True) -> tuple[dict, dict]:
    """The autoencoder trained with ``settings`` (default :func:`autoencoder_settings`) on X, from the
    cache when it exists, else trained now (:func:`.autoencoder.train_autoencoder`) and cached atomically.

    The cache key (:func:`autoencoder_cache_path`) covers the settings, the data and the training
    code, so changing any of them trains a new network; ``force=True`` retrains. A cache file that
    cannot be read (damaged, cut short, or not an npz at all) is trained again and overwritten, with
    a printed message and no traceback. Returns ``(params, history)``; ``history['cached']`` says whether it was loaded,
    ``history['path']`` where it lives, ``history['seconds'][-1]`` how long training took.
    """
    s = autoencoder_settings() if settings is None else autoencoder_settings(**settings)
    X = np.asarray(X, dtype=np.float32)
    X_valid = None if X_valid is None else np.asarray(X_valid, dtype=np.float32)
    X_snapshot = None if X_snapshot is None else np.asarray(X_snapshot, dtype=np.float32)
    for name, arr in (("X", X), ("X_valid", X_valid), ("X_snapshot", X_snapshot)):
        if arr is not None and (arr.ndim != 2 or arr.shape[1] != s["sizes"][0]):
            raise ValueError(f"train_or_load_autoencoder: {name} has shape {arr.shape}; expected (N, {s['sizes'][0]})")
    path = autoencoder_cache_path(s, X, X_valid, X_snapshot, snapshot_epochs)
    with config.cache_lock(path):  # another process making it: wait, then load it
        if path.is_file() and not force:
            try:
                params, history = _load_autoencoder(path, s)
            except Exception as exc:  # damaged or stale: say so, train again and overwrite
                print(f"train_or_load_autoencoder: cannot read the cached autoencoder {path.name} "
                      f"({type(exc).__name__}: {exc}); training it again")
            else:
                if verbose:
                    print(f"loaded the trained autoencoder from {path.name} (delete it to retrain)")
                history.update(cached=True, path=str(path))
                return params, history
        rng = np.random.default_rng(config.seeded(int(s["seed"])))
        params = build_autoencoder(s["sizes"], s["activations"], rng)
        t0 = time.perf_counter()
        history = train_autoencoder(params, X, X_valid, epochs=s["epochs"], lr=s["lr"], batch_size=s["batch_size"],
                                    momentum=s["momentum"], decay=s["decay"], decay_every=s["decay_every"], rng=rng,
                                    snapshot_epochs=snapshot_epochs, X_snapshot=X_snapshot)
        _save_autoencoder(path, params, history, s)
        if verbose:
            print(f"trained {'-'.join(map(str, s['sizes']))} for {s['epochs']} epochs in "
                  f"{time.perf_counter() - t0:.1f} s; cached in {path.name}")
        history.update(cached=False, path=str(path))
        return params, history
