"""Sphinx extension local to the book: offline static build and a safe execution cache.

- Marks kernels started by the build as static builds (``BOOK_STATIC=1``), so
  ``helpers.interactive`` only pre-renders frames there and creates no live widgets whose
  state would bloat the page.
- Drops sphinx-thebe's CDN-pointing scripts (no live-kernel launch offline).
- Adds the repository link (header buttons: repository, issues, source) when the book is built
  from a clone with a public ``origin`` remote, or when ``BOOK_REPOSITORY_URL`` names one
  (``BOOK_REPOSITORY_URL=none`` turns it off). No address is ever typed into ``_config.yml``: a
  fork or a mirror builds a book that links to itself.
- Builds a student edition with ``BOOK_SOLUTIONS=hide``: the exercises stay, every
  ``{solution}`` block is left out of the pages, the search index and the notebooks and
  sources offered for download.
- Gives each figure's image its caption as alt text (myst-nb would use the image's file path,
  which a screen reader reads out as a hash).
- Collects every claim (:mod:`helpers.claims`) from the executed notebooks, cached or not, into
  ``_build/claims.json`` (and ``claims.json`` in the site), and puts the tightest margins into the
  results page where it has a ``claims-table`` div.
- Executes the chapter notebooks the execution cache lacks two at a time (``BOOK_EXEC_STREAMS``) before
  Sphinx reads them, into the same cache myst-nb reads: most of a notebook's time runs on one core, and
  the data cache's locks keep two notebooks from training the same network twice.
- Records each executed cell's start and end (nbclient's ``record_timing``) and puts each chapter's
  execution time and its five slowest cells, as measured when this build's cache was executed, into
  the performance page where it has a ``profile-table`` div.
- Writes the chapter-3 network for the drawing pad of chapters 3 and 4 into the site
  (``_static/pad-model.js``, :func:`helpers.pad.write_model`) on every build, cached or not, from the
  cached model (trained through ``mlp.chapter3_mlp`` if the cache lacks it).
- Makes the printed book (``jupyter-book build . --builder pdflatex``) from the same doctrees and cache:
  a slider figure prints its default frame, with a line saying the web edition has the slider; the
  drawing pad prints as a still image of a sample drawing read by the chapter's network; ANSI escapes
  are stripped from outputs; Jupyter Book's LaTeX class gets a stand-in for ``bbm.sty``
  (``book/_latex``). The web book links the PDF of its edition (header, download menu) when one was
  built before it (``_build/latex/book.pdf``, copied into the site as ``book.pdf``).
- Launch buttons (Binder; JupyterHub where ``BOOK_JUPYTERHUB_URL`` names the course's hub) when the
  book has a public repository (see above), none otherwise; the full edition also offers each
  chapter's student notebook for download (``_sources/<chapter>.student.ipynb``).
- Accessibility fixes to the theme's HTML: bibliography entries are list items (the deprecated
  ``doc-biblioentry`` role inside a ``role="list"``, which axe-core reports).
- Gives every BOOK_MODE and BOOK_SEED its own jupyter-cache folder, keyed also by a hash of ``helpers/``
  and ``requirements.txt`` (and ``benchmarks/run.py``, whose cases the performance page runs): jupyter-cache keys notebooks on their code cells only, so without
  this a quick build could reuse full outputs (or the reverse), and a change to the shared
  package would not re-execute the chapters that import it.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the build imports helpers.student (no heavy imports)
    sys.path.insert(0, str(ROOT))

from helpers import claims as book_claims  # noqa: E402
from helpers.student import BEGIN, clear_solutions, strip_solutions, student_notebook  # noqa: E402


def code_fingerprint(root: Path = ROOT) -> str:
    """Hash of everything outside the notebooks that can change their outputs."""
    h = hashlib.sha256()
    # benchmarks/run.py: book/performance.md runs its cases
    files = sorted((root / "helpers").rglob("*.py")) + [root / "requirements.txt", root / "benchmarks" / "run.py"]
    for f in files:
        if f.exists() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def static_fingerprint(root: Path = ROOT) -> str:
    """Hash of the book's own CSS and JavaScript (MathJax excluded: it is pinned)."""
    h = hashlib.sha256()
    static = root / "book" / "_static"
    for f in sorted(static.glob("*")):
        if f.is_file() and f.suffix in (".css", ".js", ".svg", ".png"):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _static_changes_rebuild(app, config) -> None:
    """Sphinx rewrites no page, and copies no static file, when no document is out of date: an
    edit to book.css alone would never reach the site. A config value that follows the static
    files makes such an edit rewrite the HTML (the notebooks are not executed again)."""
    config.html_context = dict(config.html_context or {}, book_static=static_fingerprint())


def _cache_path(app, config) -> None:
    from helpers import config as book_config

    mode = book_config.mode()
    seed = book_config.book_seed()
    base = ROOT / "_build" / ".jupyter_cache"
    path = base / f"{mode}-seed{seed}-{code_fingerprint()}"
    # keep one cache per mode and seed: drop stale fingerprints of this mode and seed
    if base.exists():
        for old in base.glob(f"{mode}-seed{seed}-*"):
            if old != path and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    config.nb_execution_cache_path = str(path)


def _execute_ahead(app, env, docnames) -> None:
    """Execute the chapter notebooks that this build's cache lacks, :func:`helpers.margins.streams` at a time,
    into the cache, before Sphinx reads them one by one (and myst-nb then finds each in the cache).

    myst-nb executes one notebook after another, and most of a notebook's time runs on one core. The
    notebooks share their data and networks only through the data cache, where a lock makes a second
    process wait for a network another is training (:func:`helpers.config.cache_lock`): so two can run
    at once and nothing is trained twice. Each execution is the one myst-nb would do (same notebook,
    folder, timeout; cell timings recorded). A notebook that fails here is left out of the cache:
    myst-nb executes it again in its turn and reports the error as usual."""
    from helpers.margins import ORDER, streams

    if getattr(app.config, "nb_execution_mode", None) != "cache" or streams() < 2:
        return
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(app.config.nb_execution_cache_path)
    todo = []
    for docname in docnames:
        source = Path(app.srcdir) / f"{docname}.ipynb"
        if not source.is_file():
            continue
        nb = nbformat.read(source, as_version=4)
        try:
            cache.match_cache_notebook(nb)
        except KeyError:
            todo.append((docname, source, nb))
    if len(todo) < 2:
        return
    rank = {name: i for i, name in enumerate(ORDER)}
    todo.sort(key=lambda t: rank.get(Path(t[0]).name, len(rank)))
    import time
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from sphinx.util import logging as sphinx_logging

    logger = sphinx_logging.getLogger(__name__)

    def run(item):   # in a thread: the kernel runs in its own process
        docname, source, nb = item
        t0 = time.perf_counter()
        result = timed_execution(nb, cwd=str(source.parent), timeout=app.config.nb_execution_timeout,
                                 allow_errors=app.config.nb_execution_allow_errors, meta_override=True)
        return docname, source, nb, result, time.perf_counter() - t0

    n = min(streams(), len(todo))
    logger.info(f"executing {len(todo)} notebooks, {n} at a time: {', '.join(t[0] for t in todo)}")
    with ThreadPoolExecutor(n) as pool:
        for future in as_completed([pool.submit(run, item) for item in todo]):
            docname, source, nb, result, seconds = future.result()
            if result.err is None:   # written here, in Sphinx's thread: jupyter-cache's database is not shared
                cache.cache_notebook_bundle(CacheBundleIn(nb, str(source), data={"execution_seconds": result.time}),
                                            check_validity=False, overwrite=True)
            logger.info(f"executed ahead: {docname} in {seconds:.0f} s"
                        + ("" if result.err is None else f" (failed: {type(result.err).__name__}; myst-nb runs it again)"))


def _drop_thebe(app, pagename, templatename, context, doctree) -> None:
    """Remove sphinx-thebe's scripts: the book has no live-kernel launch (it needs a network
    server), and the theme would otherwise declare ``THEBE_JS_URL`` (a CDN address) on every page."""
    def keep(asset) -> bool:
        text = str(getattr(asset, "filename", asset) or "") + str(getattr(asset, "attributes", {}).get("body", ""))
        return "thebe" not in text.lower()

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [a for a in context[key] if keep(a)]


PROVIDERS = ("github", "gitlab", "bitbucket")  # hosts whose source/issues URLs the theme knows


def public_url(remote: str) -> str | None:
    """A browsable https address for a git remote, or None for a local or unusable one.

    ``git@host:org/repo.git`` and ``ssh://git@host/org/repo`` become ``https://host/org/repo``;
    credentials in ``https://user:token@host/...`` are dropped (they must never reach a page).
    """
    remote = remote.strip()
    m = re.fullmatch(r"[\w.-]+@([\w.-]+):(?!/)(.+)", remote)  # scp-like ssh syntax
    if m:
        remote = f"https://{m.group(1)}/{m.group(2)}"
    parts = urlsplit(remote)
    if parts.scheme not in ("https", "http", "ssh", "git") or not parts.hostname:
        return None  # a path or file:// clone: nothing a reader could open
    path = re.sub(r"\.git$", "", parts.path.strip("/"))
    if path.count("/") < 1:
        return None  # the theme needs .../org/repo
    return urlunsplit(("https", parts.hostname, "/" + path, "", ""))


def _git(root: Path, *args: str) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def repository_url(root: Path = ROOT) -> str | None:
    """``BOOK_REPOSITORY_URL`` if set (``none`` disables), else the ``origin`` remote, made public."""
    given = os.environ.get("BOOK_REPOSITORY_URL", "").strip()
    if given.lower() in ("none", "off", "0"):
        return None
    return public_url(given or _git(root, "remote", "get-url", "origin"))


def repository_options(url: str, branch: str = "main") -> dict:
    """Theme options for the header's repository buttons (sphinx-book-theme's names)."""
    host = urlsplit(url).hostname or ""
    provider = next((p for p in PROVIDERS if p in host.lower()), "")
    opts = {"repository_url": url, "repository_branch": branch or "main", "path_to_docs": "",
            "use_repository_button": True}
    if provider:  # the theme can build per-page source and issue links only for these hosts
        opts.update(repository_provider=provider, use_issues_button=True, use_source_button=True)
    else:  # any other host: a plain link to the repository (the theme needs some provider name;
        # _generic_icon below swaps its icon for git's)
        opts.update(repository_provider="github", use_issues_button=False, use_source_button=False)
    return opts


def _generic_icon(app, pagename, templatename, context, doctree) -> None:
    """Give the repository button git's icon when the host is none the theme knows."""
    url = (app.config.html_theme_options or {}).get("repository_url", "")
    if not url or any(p in (urlsplit(url).hostname or "") for p in PROVIDERS):
        return

    def walk(buttons):
        for b in buttons or []:
            if isinstance(b, dict):
                if b.get("label") == "source-repository-button":
                    b["icon"] = "fab fa-git-alt"
                walk(b.get("buttons"))

    walk(context.get("header_buttons"))


def _configured_repository(root: Path = ROOT) -> str:
    """``repository.url`` as written in ``_config.yml`` (jupyter-book fills in its own repository's
    address when the key is absent, so the merged config cannot tell)."""
    import yaml

    cfg = yaml.safe_load((root / "_config.yml").read_text()) if (root / "_config.yml").exists() else {}
    return str(((cfg or {}).get("repository") or {}).get("url") or "")


def launch_options(url: str | None, configured: dict | None = None) -> dict:
    """The theme's ``launch_buttons`` for a book whose repository is ``url`` (None: no public one).

    Binder (``binderhub_url`` of ``_config.yml``) and the course's JupyterHub (``BOOK_JUPYTERHUB_URL``, or
    ``jupyterhub_url`` of ``_config.yml``) check out the whole repository, so ``helpers/`` is beside the
    notebook. Colab is left out: it opens one notebook file from the repository, without ``helpers/``,
    and every chapter imports it. Without a public repository there is nothing to launch: no button.
    """
    opts = dict(configured or {}, colab_url="", deepnote_url="", jupyterlite_url="", thebe=False)
    if not url:
        opts.update(binderhub_url="", jupyterhub_url="")
    else:
        hub = os.environ.get("BOOK_JUPYTERHUB_URL", "").strip()
        opts["jupyterhub_url"] = "" if hub.lower() in ("none", "off", "0") else hub or opts.get("jupyterhub_url", "")
    return opts


def _repository(app, config) -> None:
    opts = dict(config.html_theme_options or {})
    if _configured_repository():
        return  # set in _config.yml: that wins
    url = repository_url()
    if url:
        branch = os.environ.get("BOOK_REPOSITORY_BRANCH") or _git(ROOT, "rev-parse", "--abbrev-ref", "HEAD")
        opts.update(repository_options(url, "main" if branch in ("", "HEAD") else branch))
    opts["launch_buttons"] = launch_options(url, opts.get("launch_buttons"))
    config.html_theme_options = opts


def hide_solutions() -> bool:
    """``BOOK_SOLUTIONS=hide`` (or off/no/0) asks for the student edition."""
    value = os.environ.get("BOOK_SOLUTIONS", "show").strip().lower()
    if value not in ("show", "hide", "on", "off", "yes", "no", "1", "0", ""):
        raise ValueError(f"BOOK_SOLUTIONS={value!r}: use BOOK_SOLUTIONS=hide for the student edition "
                         "or leave it unset (solutions shown)")
    return value in ("hide", "off", "no", "0")


def _solutions(app, config) -> None:
    if hide_solutions():
        config.hide_solutions = True  # sphinx-exercise drops the solution nodes


def _strip_downloads(app, exception) -> None:
    """The student edition's downloadable sources lose their answers too: notebooks become the
    student notebooks of ``helpers.student`` (code answers stubbed, solutions removed, no outputs)."""
    if exception is not None or not hide_solutions() or app.builder.format != "html":
        return
    import json

    for f in Path(app.outdir, "_sources").rglob("*"):
        if f.suffix == ".ipynb":
            nb = student_notebook(json.loads(f.read_text(encoding="utf-8")))
            f.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        elif f.suffix in (".md", ".txt"):
            f.write_text(strip_solutions(f.read_text(encoding="utf-8")), encoding="utf-8")


REFERENCE_NOTE = ("The book's version of this function is left out of the student edition: "
                  "you write it in the exercise above.")


def _student_pages(app, doctree, docname) -> None:
    """Student edition pages: answer regions of code cells become ``raise NotImplementedError()``,
    the outputs of the checks that graded the answers go, and the book's listings of the functions
    the exercises ask for (``literalinclude`` with ``:class: reference-code``) are replaced by a note."""
    if not hide_solutions():
        return
    from docutils import nodes

    for block in list(doctree.findall(nodes.literal_block)):
        if "reference-code" in block.get("classes", []):
            wrapper = block.parent if "literal-block-wrapper" in block.parent.get("classes", []) else block
            note = nodes.note("", nodes.paragraph(text=REFERENCE_NOTE))
            wrapper.replace_self(note)
            continue
        text = block.astext()
        if BEGIN in text:
            cleared = clear_solutions(text)
            block.children = [nodes.Text(cleared)]
            block.rawsource = cleared
    for cell in list(doctree.findall(nodes.container)):
        if "cell" not in cell.get("classes", []):
            continue
        source = " ".join(c.astext() for c in cell.findall(nodes.literal_block)
                          if "cell_input" in c.parent.get("classes", []))
        if re.search(r"\bchecks\.check_\w+\(", source):
            for out in [c for c in cell.children if "cell_output" in c.get("classes", [])]:
                cell.remove(out)


def _alt_is_missing(alt: str, uri: str) -> bool:
    alt = (alt or "").strip()
    return not alt or alt == uri or "_images/" in alt or re.search(r"\.(png|jpe?g|svg|gif)$", alt, re.I) is not None


TEX_WORDS = {"times": "×", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "sum": "Σ", "lambda": "λ", "sigma": "σ",
             "mu": "μ", "theta": "θ", "alpha": "α", "beta": "β", "eta": "η", "cdot": "·", "to": "→", "approx": "≈",
             "ln": "ln", "log": "log", "exp": "exp", "top": "ᵀ", "infty": "∞", "pm": "±", "ell": "ℓ"}


def tex_read_aloud(text: str) -> str:
    """Inline TeX of a caption as plain text for alt text: ``\\sum_{j \\le k}\\lambda_j`` -> ``Σ_(j ≤ k) λ_j``."""
    text = re.sub(r"\\(?:mathrm|mathbf|text|operatorname|boldsymbol)\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\([A-Za-z]+)( ?)", lambda m: TEX_WORDS.get(m.group(1), m.group(1)) + m.group(2), text)
    text = re.sub(r"_\{([^{}]*)\}", r"_(\1)", text).replace("{", "").replace("}", "").replace("\\", "")
    return " ".join(text.split()).replace(" ,", ",").replace(" .", ".")


def _figure_alt(app, doctree, docname) -> None:
    """Alt text of figure images from their captions, where none was written."""
    from docutils import nodes

    for fig in doctree.findall(nodes.figure):
        captions = [c for c in fig.children if isinstance(c, nodes.caption)]
        if not captions:
            continue
        text = " ".join(captions[0].astext().split())
        text = tex_read_aloud(text)
        for img in fig.findall(nodes.image):
            if _alt_is_missing(img.get("alt", ""), img.get("uri", "")):
                img["alt"] = text


RESULTS_DOC = "book/results"
TIGHTEST = 12  # rows of the results page's table of tightest margins
PERFORMANCE_DOC = "book/performance"
SLOWEST_CELLS = 5  # per chapter, in the performance page's profile


def executed_claims(app) -> list[dict]:
    """Every claim glued into this build's executed notebooks, one record per claim id, tagged with its
    notebook. Read from the jupyter-cache of this mode, seed and code (myst-nb drops undisplayed glue
    outputs from the notebooks it writes), matched to the current source of each chapter notebook:
    a cached rebuild, where nothing executes, gives the same file as a cold one."""
    out = []
    for docname, _record, bundle in _cached_records(app):
        for rec in book_claims.latest(book_claims.from_notebook(bundle.nb)):
            rec["notebook"] = docname
            out.append(rec)
    return out


def _cached_records(app):
    """``(docname, cache bundle)`` of every chapter notebook this build's jupyter-cache holds for its
    current source (a cached rebuild finds the bundles of the build that executed them)."""
    import nbformat
    from jupyter_cache import get_cache

    path = getattr(app.config, "nb_execution_cache_path", "")
    if not path or not Path(path).is_dir():
        return
    cache = get_cache(path)
    for docname in sorted(app.env.found_docs):
        source = Path(app.srcdir) / f"{docname}.ipynb"
        if not source.is_file():
            continue
        try:
            record = cache.match_cache_notebook(nbformat.read(source, as_version=4))
        except KeyError:
            continue   # not executed in this build's cache (a failed notebook: the build says so itself)
        yield docname, record, cache.get_cache_bundle(record.pk)


def executed_profile(app) -> list[dict]:
    """Per chapter notebook of this build's cache: ``notebook``, ``seconds`` (its execution, as
    jupyter-cache measured it), ``executed`` (when), ``cells`` (its :data:`SLOWEST_CELLS` slowest code
    cells: number, seconds, first line; from the timings the build records in each cell)."""
    from helpers.margins import cell_seconds

    out = []
    for docname, record, bundle in _cached_records(app):
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is None:
            continue
        out.append(dict(notebook=docname, seconds=float(seconds), executed=record.created.strftime("%Y-%m-%d %H:%M"),
                        cells=[dict(cell=i, seconds=t, source=src)
                               for i, t, src in cell_seconds(bundle.nb)[:SLOWEST_CELLS]]))
    return out


def _table(head: list[str], rows: list[list[str]], classes: list[str]):
    from docutils import nodes

    table = nodes.table(classes=classes)
    group = nodes.tgroup(cols=len(head))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in head]

    def row(cells):
        r = nodes.row()
        for c in cells:
            r += nodes.entry("", nodes.paragraph(text=c))
        return r

    thead, tbody = nodes.thead(), nodes.tbody()
    thead += row(head)
    tbody += [row(r) for r in rows]
    group += [thead, tbody]
    return table


def _holders(doctree, docname: str, page: str, cls: str) -> list:
    """The divs of class ``cls`` on ``page`` (none on other pages) that a build step fills."""
    if docname != page:
        return []
    from docutils import nodes

    return [n for n in doctree.findall(nodes.container) if cls in n.get("classes", [])]


def _profile_table(app, doctree, docname) -> None:
    """Replace the performance page's ``profile-table`` div by each chapter's execution time and its
    slowest cells, as this build's cache measured them."""
    holders = _holders(doctree, docname, PERFORMANCE_DOC, "profile-table")
    if not holders:
        return
    from docutils import nodes

    from helpers import config as book_config

    prof = executed_profile(app)
    rows = [[p["notebook"].split("/")[-1], f"{p['seconds']:.0f}", p["executed"],
             "; ".join(f"cell {c['cell']}: {c['seconds']:.0f} s ({c['source']})" for c in p["cells"])]
            for p in sorted(prof, key=lambda p: -p["seconds"])]
    total = sum(p["seconds"] for p in prof)
    from helpers.margins import streams

    summary = nodes.paragraph(text=(
        f"BOOK_MODE={book_config.mode()}, BOOK_SEED={book_config.book_seed()}: {len(prof)} notebooks executed for "
        f"this build, {total:.0f} s ({total / 60:.1f} minutes) summed over the notebooks; the build runs "
        f"{streams()} at a time, and a notebook's time includes any wait for a network another one was "
        f"training. Each row is the execution this build's cache holds for the notebook's current code (its "
        f"date says when it ran); the cells are numbered among the notebook's code cells, from 0." if prof else
        "No executed notebook in this build's cache (notebook execution is off)."))
    table = _table(["notebook", "seconds", "executed", f"slowest {SLOWEST_CELLS} cells"], rows, ["profile"])
    for h in holders:
        h.replace_self([summary, table] if rows else [summary])


def _results_outdated(app, env, added, changed, removed):
    """The results and performance pages show what every chapter measured: rewrite them on every build."""
    return [d for d in (RESULTS_DOC, PERFORMANCE_DOC) if d in env.found_docs]


def _claims_table(app, doctree, docname) -> None:
    """Replace the results page's ``claims-table`` div by the tightest margins of this build's claims."""
    holders = _holders(doctree, docname, RESULTS_DOC, "claims-table")
    if not holders:
        return
    from docutils import nodes

    recs = executed_claims(app)
    checked = [r for r in recs if r["passed"] is not None]
    # "none may fail" claims (a count that must stay 0) hold with margin 0 by nature: listed apart
    exact = [r for r in checked if r["margin"] == 0 and r["op"] in ("<=", ">=")]
    tight = sorted([r for r in checked if r not in exact], key=book_claims.relative_margin)[:TIGHTEST]
    head = ["claim", "chapter", "measured", "bound", "margin"]
    rows = [[r["id"], r["notebook"].split("/")[-1], f"{r['value']:.4g}", f"{r['op']} {r['bound']:.4g}",
             f"{r['margin']:+.3g} ({100 * book_claims.relative_margin(r):+.1f}%)"] for r in tight]
    table = _table(head, rows, ["claims-margins"])
    n_fail = sum(r["passed"] is False for r in recs)
    summary = nodes.paragraph(text=(
        f"{len(recs)} claims in this build ({len(checked)} checked, {len(recs) - len(checked)} recorded only: "
        f"full-mode claims in a quick build); {n_fail} failing. "
        + (f"{len(exact)} allow no exception at all (a count that must stay at its bound, one event from "
           f"failing: {', '.join(r['id'] for r in exact)}). " if exact else "")
        + f"The {len(rows)} tightest of the others, by margin as a share of the bound:"))
    for h in holders:
        h.replace_self([summary, table] if rows else [summary])


def _write_claims(app, exception) -> None:
    """``_build/claims.json`` (and ``claims.json`` in the site): every claim of the build with its margin."""
    if exception is not None or app.builder.format != "html":
        return
    import json

    from helpers import config as book_config

    recs = executed_claims(app)
    body = json.dumps({"mode": book_config.mode(), "seed": book_config.book_seed(), "claims": recs}, indent=1)
    for target in (Path(app.outdir).parent / "claims.json", Path(app.outdir) / "claims.json"):
        with book_config.atomic_path(target) as tmp:
            tmp.write_text(body, encoding="utf-8")


def _write_pad_model(app, exception) -> None:
    """``_static/pad-model.js`` in the site: the chapter-3 network, the OCR framing settings and a few training
    images per class for the drawing pad (:mod:`helpers.pad`). A build step, not a notebook cell, so a
    cached rebuild, where no cell runs, writes it too; the model comes from the chapter's own cache."""
    if exception is not None or app.builder.format != "html":
        return
    from helpers import pad

    pad.write_model(Path(app.outdir) / "_static" / pad.MODEL_FILE)


def timed_execution(nb, *args, **kwargs):
    """jupyter-cache's ``single_nb_execution`` with nbclient's per-cell stamps, moved from the cells into the
    notebook's metadata (:func:`helpers.margins.move_timings`): jupyter-cache hashes every cell's metadata but
    only the notebook's kernelspec, so stamps left in the cells would give the executed notebook another key
    than its source, and no later build would find it in the cache."""
    from jupyter_cache.executors.utils import single_nb_execution

    from helpers.margins import move_timings

    result = single_nb_execution(nb, *args, **dict(kwargs, record_timing=True))
    move_timings(nb)
    return result


def _record_cell_timing() -> None:
    """myst-nb's cache mode executes through :func:`timed_execution` (per-cell timings, same cache key)."""
    from myst_nb.core.execute import cache as nb_cache

    nb_cache.single_nb_execution = timed_execution


# ---- the printed book (jupyter-book build . --builder pdflatex) ----------------------------------------

LATEX_FILES = ROOT / "book" / "_latex"
PDF_NAME = "book.pdf"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_IFIG_IMG = re.compile(r'<img class="ifig-frame"[^>]*?src="data:image/(png|jpeg);base64,([^"]+)"')
_IFIG_TITLE = re.compile(r'<div class="ifig-title"[^>]*>(.*?)</div>', re.S)
_IFIG_ROW = re.compile(r'<span class="ifig-name">(.*?)</span>.*?<output class="ifig-value"[^>]*>(.*?)</output>', re.S)
PAD_PRINT_CHAR = "R"


def _latex_config(app, config) -> None:
    """The LaTeX side: makeindex (Debian's TeX Live has no xindy without its own package), and a stand-in for
    ``bbm.sty``, which Jupyter Book's LaTeX class loads and Debian ships only in texlive-fonts-extra."""
    config.latex_additional_files = list(config.latex_additional_files or []) + [str(LATEX_FILES / "bbm.sty")]
    config.latex_use_xindy = False


def slider_print_caption(html_text: str) -> tuple[str, str]:
    """``(alt, caption)`` of a frames player's printed frame: what it shows, at which slider settings, and
    that the web edition has the sliders."""
    import html as html_mod

    title = _IFIG_TITLE.search(html_text)
    title = html_mod.unescape(title.group(1)).strip() if title else "Interactive figure"
    rows = [(html_mod.unescape(n).strip(), html_mod.unescape(v).strip()) for n, v in _IFIG_ROW.findall(html_text)]
    at = ", ".join(f"{n} = {v}" for n, v in rows)
    names = ", ".join(n for n, _ in rows)
    sliders = f"sliders ({names}) redraw" if len(rows) > 1 else f"a slider ({names}) redraws"
    return f"{title}, at {at}", f"{title}, printed at {at}. In the web edition of this book {sliders} this figure."


def pad_still(path: Path, char: str = PAD_PRINT_CHAR) -> str:
    """The drawing pad as printed: a sample drawing, the 32x32 image the chapter-3 network reads from it and the
    network's five most likely classes, drawn as the page shows them. Returns the caption."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import mlp, pad
    from helpers.data import CLASSES

    params, _info = mlp.chapter3_mlp(progress=False)
    strokes = pad.glyph_strokes(char, height=0.7, slant=0.12)
    read = pad.read_drawing(strokes, params)
    top = np.argsort(read["probs"])[::-1][:5]
    fig, axes = plt.subplots(1, 3, figsize=(8, 2.6), gridspec_kw=dict(width_ratios=[1, 1, 1.3]))
    axes[0].imshow(pad.rasterize(strokes), cmap="gray_r", vmin=0, vmax=1)
    axes[0].set_title("the drawing")
    axes[1].imshow(read["image"], cmap="gray", vmin=0, vmax=1)
    axes[1].set_title("what the network sees (32×32)")
    for ax in axes[:2]:
        ax.set_xticks([]), ax.set_yticks([])
    axes[2].barh(range(5)[::-1], read["probs"][top], color="#2a6ebb")
    axes[2].set_yticks(range(5)[::-1], [CLASSES[k] for k in top])
    axes[2].set_xlim(0, 1), axes[2].set_xlabel("probability")
    axes[2].set_title("the network reads")
    fig.tight_layout()
    fig.savefig(path, dpi=150, facecolor="white")
    plt.close(fig)
    best = CLASSES[int(top[0])]
    return (f"The drawing pad, printed: a sample drawing of {char}, the 32 × 32 image the chapter-3 network reads "
            f"from it, and its five most likely classes (it reads {best}, {read['probs'][top[0]]:.0%}). In the web "
            f"edition you draw with a mouse, a finger or a pen, and the network reads your drawing as you draw.")


def _printed(image: str, alt: str, caption: str) -> list:
    from docutils import nodes

    return [nodes.image(uri=image, alt=alt, candidates={"*": image}),
            nodes.paragraph("", "", nodes.emphasis(text=caption), classes=["print-caption"])]


def _print_page(app, doctree, docname: str) -> None:
    """Latex builder, before myst-nb picks a mime type per output: a slider figure becomes its default frame
    (the frames player's first image) with a caption; the drawing pad a still image; ANSI escapes go."""
    import base64

    from docutils import nodes

    out = Path(app.outdir)
    for bundle in list(doctree.findall(nodes.container)):
        if bundle.get("nb_element") != "mime_bundle":
            continue
        html_text = "".join(c.astext() for c in bundle.children if c.get("mime_type") == "text/html")
        m = _IFIG_IMG.search(html_text) if 'class="ifig"' in html_text else None
        if not m:
            continue
        data = base64.b64decode(m.group(2))
        name = f"print-{hashlib.sha256(data).hexdigest()[:16]}.{m.group(1)}"
        (out / name).write_bytes(data)
        alt, caption = slider_print_caption(html_text)
        bundle.replace_self(nodes.container("", *_printed(name, alt, caption), classes=["print-slider"]))
    for raw in list(doctree.findall(nodes.raw)):
        if 'class="book-pad"' in raw.astext():
            name = "print-pad.png"
            caption = pad_still(out / name)
            raw.replace_self(nodes.container("", *_printed(name, caption, caption), classes=["print-pad"]))
    for text in list(doctree.findall(nodes.Text)):
        if "\x1b" in text:
            text.parent.replace(text, nodes.Text(ANSI.sub("", str(text)).replace("\x1b", "")))
    for block in doctree.findall(nodes.literal_block):
        if "\x1b" in block.rawsource:
            block.rawsource = ANSI.sub("", block.rawsource)


def _print_transform():
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class PrintEdition(SphinxPostTransform):
        """:func:`_print_page` for the latex builder, before myst-nb's ``SelectMimeType`` (priority 4)."""
        default_priority = 3
        builders = ("latex",)

        def run(self, **kwargs) -> None:
            _print_page(self.app, self.document, self.env.docname)

    return PrintEdition


def _exercise_refs_transform():
    from docutils import nodes
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class ExerciseReferences(SphinxPostTransform):
        """Latex builder: a reference to an exercise of another page (the exercises page lists them all) points
        at the exercise's own label, as sphinx-exercise does for references within a page (it handles only
        those, and LaTeX would print "??" for the others)."""
        default_priority = 23   # after sphinx-exercise's ResolveLinkTextToSolutions (22)
        builders = ("latex",)

        def run(self, **kwargs) -> None:
            from sphinx_exercise.nodes import exercise_enumerable_node, exercise_latex_number_reference

            registry = getattr(self.env, "sphinx_exercise_registry", {})
            for node in list(self.document.findall(nodes.reference)):
                label = node.get("refuri", "").rpartition("#")[2]
                if node.get("refid") or not label or label not in registry:
                    continue
                if isinstance(registry[label].get("node"), exercise_enumerable_node):
                    new = exercise_latex_number_reference("", *node.children, refid=label)
                    node.replace_self(new)

    return ExerciseReferences


def built_pdf(outdir: Path) -> Path:
    """Where ``jupyter-book build --builder pdflatex`` leaves the PDF of the book whose HTML is in ``outdir``."""
    return Path(outdir).parent / "latex" / PDF_NAME


def _copy_pdf(app, exception) -> None:
    """Put the PDF of this edition, when one was built before this HTML build, into the site as ``book.pdf``."""
    if exception is not None or app.builder.format != "html":
        return
    pdf = built_pdf(app.outdir)
    if pdf.is_file():
        shutil.copyfile(pdf, Path(app.outdir) / PDF_NAME)


def _pdf_in_context(app, config) -> None:
    """Whether the site offers the PDF is part of the HTML config: a PDF built since the last HTML build makes
    every page rewritten (with the link), without reading or executing anything again."""
    config.html_context = dict(config.html_context or {}, book_pdf=built_pdf(Path(app.outdir)).is_file())


# ---- downloads and launch buttons in the header -----------------------------------------------------------

def _download_menu(app, pagename, templatename, context, doctree) -> None:
    """The header's download menu: the PDF of the whole book (when built), the chapter's student notebook
    (full edition), and the browser's print of the page labelled as what it is."""
    for group in context.get("header_buttons") or []:
        if not isinstance(group, dict) or group.get("label") != "download-buttons":
            continue
        buttons = group["buttons"]
        for b in buttons:
            if b.get("label") == "download-pdf-button":
                b.update(text="print page", tooltip="Print this page (the browser's print to PDF)")
            elif str(b.get("url", "")).endswith(".ipynb"):
                b.update(tooltip="Download this chapter's notebook")
        # the notebook's own entry: the source (a .ipynb page) or the notebook made from a MyST page
        at = next((k + 1 for k, b in enumerate(buttons) if str(b.get("url", "")).endswith(".ipynb")), 0)
        if at and not hide_solutions() and (Path(app.srcdir) / f"{pagename}.ipynb").is_file():
            buttons.insert(at, {"type": "link", "url": context["pathto"]("_sources", 1) + "/" + student_copy(pagename),
                                "text": "student .ipynb", "icon": "fas fa-pen",
                                "tooltip": "Download this chapter's notebook without the solutions",
                                "label": "download-student-notebook-button"})
        if (app.config.html_context or {}).get("book_pdf"):
            buttons.append({"type": "link", "url": context["pathto"](PDF_NAME, 1), "text": "book PDF",
                            "icon": "fas fa-book", "tooltip": "Download the whole book as a PDF",
                            "label": "download-book-pdf-button"})


def student_copy(docname: str) -> str:
    """The student notebook's path in ``_sources`` (full edition)."""
    return f"{docname}.student.ipynb"


def _write_student_copies(app, exception) -> None:
    """Full edition: each chapter's student notebook (``helpers.student``) beside the full one in ``_sources``."""
    if exception is not None or hide_solutions() or app.builder.format != "html":
        return
    import json

    for docname in app.env.found_docs:
        source = Path(app.srcdir) / f"{docname}.ipynb"
        if source.is_file():
            nb = student_notebook(json.loads(source.read_text(encoding="utf-8")))
            target = Path(app.outdir, "_sources", student_copy(docname))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _index_page(app, exception) -> None:
    """The site's ``index.html``, which only sends the reader to the first page, as a page of its own: a
    language, a title and a link for readers whose browser does not follow the redirect (sphinx-external-toc
    would write a lone ``<meta>`` tag, which has neither)."""
    if exception is not None or app.builder.format != "html" or app.config.master_doc == "index":
        return
    import html as html_mod

    index = Path(app.outdir) / "index.html"
    if index.is_file() and 'http-equiv="Refresh"' not in index.read_text(encoding="utf-8"):
        return   # a real page
    target, title = f"{app.config.master_doc}.html", html_mod.escape(app.config.project or "The book")
    index.write_text(f'<!DOCTYPE html>\n<html lang="{app.config.language or "en"}">\n<head>\n<meta charset="utf-8">\n'
                     f'<meta http-equiv="Refresh" content="0; url={target}">\n<title>{title}</title>\n</head>\n'
                     f'<body>\n<main>\n<p><a href="{target}">{title}</a></p>\n</main>\n</body>\n</html>\n',
                     encoding="utf-8")


def unique_ids(body: str) -> str:
    """An id given more than once in a page gets a number from its second use on: ``id="proof"``,
    ``id="proof-2"``, ... (sphinx-exercise and sphinx-proof give every exercise, solution and proof the same
    ids; a link or a screen reader finds only the first)."""
    from collections import Counter

    ids = Counter(re.findall(r'\bid="([^"]+)"', body))
    seen: Counter = Counter()

    def number(m):
        name = m.group(1)
        if ids[name] < 2:
            return m.group(0)
        seen[name] += 1
        return m.group(0) if seen[name] == 1 else f'id="{name}-{seen[name]}"'

    return re.sub(r'\bid="([^"]+)"', number, body)


def _accessible_body(app, pagename, templatename, context, doctree) -> None:
    """Bibliography entries as list items: docutils marks them ``role="doc-biblioentry"`` (deprecated in
    WAI-ARIA 1.2) inside a ``role="list"``, which then has no list items. Ids unique (:func:`unique_ids`).
    The print header of pages without a title of their own (index, proof index) gets the page's title
    instead of an empty heading."""
    if "body" in context:
        context["body"] = unique_ids(context["body"].replace('role="doc-biblioentry"', 'role="listitem"'))
    if not context.get("pagetitle"):
        # genindex.html and search.html set their titles in their templates; a domain index passes indextitle
        title = context.get("title") or context.get("indextitle") or {"genindex": "Index", "search": "Search"}.get(pagename)
        if title:
            context["pagetitle"] = title


TOC_TOGGLE = '<summary><span class="toctree-toggle" role="presentation">'
TOC_TOGGLE_NAMED = ('<summary aria-label="show or hide the sections of this chapter">'
                    '<span class="toctree-toggle" role="presentation">')


def _toc_toggle_names(app, exception) -> None:
    """The sidebar's expand toggles of chapters with sections (their Going-further pages) are ``<summary>``
    elements holding only an icon; give each a name, so a screen reader says what it does (axe:
    summary-name). The theme renders the sidebar outside the page body, so the written pages are edited."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if TOC_TOGGLE in text:
            page.write_text(text.replace(TOC_TOGGLE, TOC_TOGGLE_NAMED), encoding="utf-8")


def setup(app):
    os.environ["BOOK_STATIC"] = "1"
    _record_cell_timing()
    app.connect("config-inited", _cache_path, priority=100)
    app.connect("config-inited", _repository, priority=100)
    app.connect("config-inited", _solutions, priority=100)
    app.connect("config-inited", _static_changes_rebuild, priority=100)
    app.connect("build-finished", _strip_downloads)
    app.connect("build-finished", _write_claims)
    app.connect("build-finished", _write_pad_model)
    app.connect("build-finished", _toc_toggle_names)
    app.connect("env-get-outdated", _results_outdated)
    app.connect("env-before-read-docs", _execute_ahead)
    app.connect("doctree-resolved", _claims_table)
    app.connect("doctree-resolved", _profile_table)
    app.connect("doctree-resolved", _figure_alt)
    app.connect("doctree-resolved", _student_pages)
    app.connect("html-page-context", _drop_thebe, priority=900)
    app.connect("html-page-context", _generic_icon, priority=900)
    app.connect("html-page-context", _download_menu, priority=900)
    app.connect("html-page-context", _accessible_body, priority=900)
    app.connect("config-inited", _latex_config, priority=100)
    app.connect("config-inited", _pdf_in_context, priority=100)
    app.connect("build-finished", _copy_pdf)
    app.connect("build-finished", _write_student_copies)
    app.connect("build-finished", _index_page, priority=400)   # before sphinx-external-toc's bare redirect
    app.add_post_transform(_print_transform())
    app.add_post_transform(_exercise_refs_transform())
    # env_version: bump when a doctree hook here changes, so cached environments are rebuilt
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 6}
