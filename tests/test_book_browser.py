"""The built book, read in a real browser: offline, math rendered, sliders working.

Builds the book in quick mode with warnings as errors, serves ``_build/html`` on a local port and
opens every page in headless Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright; no
browser is ever downloaded). Screenshots of every page land in ``_build/screenshots/``.

Skipped when Chromium is not installed, except in CI (``CI=true``), where it must run.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from helpers.student import reference_answers

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-extensions",
]
SKIP_PAGES = {"genindex.html", "search.html", "index.html"}

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail("CI needs Debian's chromium: apt-get install -y chromium (.ci/run does this)", pytrace=False)
    pytest.skip("headless Chromium not installed (apt-get install chromium)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


def build_book(*extra: str, **env_vars: str) -> None:
    """A quick build with warnings as errors (executed outputs come from the shared cache)."""
    env = dict(os.environ, BOOK_MODE="quick", **env_vars)
    env.pop("MPLBACKEND", None)  # a forced backend in the kernels would turn glued figures into text
    proc = subprocess.run(
        [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(ROOT), "-W", "-n",
         "--keep-going", *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600,
    )
    assert proc.returncode == 0, "quick book build failed or warned:\n" + proc.stdout[-6000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def site():
    build_book()
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def content_pages() -> list[str]:
    pages = []
    for path in sorted(HTML.rglob("*.html")):
        rel = path.relative_to(HTML).as_posix()
        if rel.startswith(("_", ".")) or rel in SKIP_PAGES:
            continue
        pages.append(rel)
    return pages


def toc_pages() -> list[str]:
    """Every page listed in _toc.yml, as built HTML paths."""
    files = re.findall(r"(?:file|root):\s*(\S+)", (ROOT / "_toc.yml").read_text())
    return [f + ".html" for f in files]


class PageVisit:
    """Open one page and record console errors and every request it makes."""

    def __init__(self, browser, base: str, rel: str):
        self.base = base
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        self.page.goto(f"{base}/{rel}", wait_until="load")

    def off_machine(self) -> list[str]:
        return [u for u in self.requests if not (u.startswith(self.base) or u.startswith(("data:", "blob:")))]


def test_every_toc_page_is_built(site):
    missing = [p for p in toc_pages() if not (HTML / p).exists()]
    assert not missing, f"pages in _toc.yml with no HTML: {missing}"


def test_every_image_has_alt_text(site):
    """Screen readers read alt text: a figure's is its caption, a slider player's its title,
    never an image file's path (myst-nb's default)."""
    bad = []
    for rel in content_pages():
        for tag in re.findall(r"<img\b[^>]*>", (HTML / rel).read_text()):
            alt = re.search(r'\balt="([^"]*)"', tag)
            alt = alt.group(1).strip() if alt else ""
            if not alt or "_images/" in alt or re.search(r"\.(png|jpe?g|svg)$", alt):
                bad.append(f"{rel}: {alt or '(no alt)'}"[:120])
    assert not bad, f"{len(bad)} images without a description: {bad[:5]}"


def test_repository_link_matches_the_clone(site):
    """The header links to the repository exactly when the clone has a public origin (or
    BOOK_REPOSITORY_URL names one); a local or remote-less clone gets no dead link."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "_ext" / "book_build.py")
    book_build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_build)
    url = book_build.repository_url()
    for rel in ("notebooks/01_softmax.html", "book/results.html"):
        html = (HTML / rel).read_text()
        if url:
            assert f'href="{url}"' in html, f"{rel}: no link to the repository {url}"
        else:
            assert "source-repository-button" not in html, f"{rel}: repository button with no repository"


def test_pages_in_the_browser(site, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    sliders_checked = 0
    for rel in content_pages():
        v = PageVisit(browser, site, rel)
        page = v.page
        has_math = page.evaluate("document.querySelectorAll('.math, span.math, div.math').length") > 0
        if has_math:
            page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=30000)
            if page.evaluate("document.querySelectorAll('mjx-merror').length"):
                problems.append(f"{rel}: MathJax reports errors in formulas")
        # no raw TeX delimiters left in prose (code blocks may legitimately show them)
        raw = page.evaluate("""() => { const b = document.querySelector('main') || document.body;
            const c = b.cloneNode(true); c.querySelectorAll('pre, code, script, mjx-container, .math').forEach(e => e.remove());
            return c.innerText; }""")
        if "$$" in raw or re.search(r"(?<![\\\w])\$[^$\s][^$]*\\[a-zA-Z]+[^$]*\$", raw):
            problems.append(f"{rel}: raw TeX left unrendered")
        # tables are tables, not Markdown pipes printed as text
        if re.search(r"(?m)^\s*\|[\s:|\-\u2013\u2014]*[-\u2013\u2014][\s:|\-\u2013\u2014]*\|\s*$", raw):  # a separator row
            problems.append(f"{rel}: a Markdown table printed as text (nb_render_markdown_format)")
        # figures are pictures, not the text repr of a Figure object
        if re.search(r"<Figure size \d+x\d+ with \d+ Axes>", page.evaluate("document.body.innerText")):
            problems.append(f"{rel}: a figure rendered as text ('<Figure size ...>'), not as an image")
        # every image loaded
        broken = page.evaluate("""Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))
            .map(i => (i.getAttribute('src') || '').slice(0, 80))""")
        if broken:
            problems.append(f"{rel}: images not loaded: {broken}")
        # every static slider changes its figure: from the default frame, moving one slider to some
        # other position shows another picture (at an extreme of one slider another may legitimately
        # have no visible effect, so each slider is tried from the defaults, position by position)
        for k, fig in enumerate(page.locator("div.ifig").all()):
            img = fig.locator("img.ifig-frame")
            ranges = fig.locator("input[type=range]").all()
            defaults = [int(r.input_value()) for r in ranges]
            move = "(e, t) => { e.value = t; e.dispatchEvent(new Event('input', {bubbles: true})); }"
            for j, rng in enumerate(ranges):
                for r, d in zip(ranges, defaults):
                    r.evaluate(move, d)
                before = img.get_attribute("src")
                top = int(rng.get_attribute("max"))
                changed = False
                for target in sorted(set(range(top + 1)) - {defaults[j]}, key=lambda t: -abs(t - defaults[j])):
                    rng.evaluate(move, target)
                    if img.get_attribute("src") != before:
                        changed = True
                        break
                sliders_checked += 1
                if not changed:
                    problems.append(f"{rel}: figure {k} slider {j} does not change the figure")
        page.screenshot(path=str(SHOTS / (rel.replace("/", "__").removesuffix(".html") + ".png")), full_page=True)
        if v.errors:
            problems.append(f"{rel}: console errors {v.errors}")
        if v.failed:
            problems.append(f"{rel}: failed requests {v.failed}")
        if v.off_machine():
            problems.append(f"{rel}: requests leaving the machine {v.off_machine()}")
        page.close()
    assert not problems, "\n".join(problems)
    assert sliders_checked >= 2, "the book should have working sliders"


def test_navigation_reaches_every_chapter(site, browser):
    v = PageVisit(browser, site, "book/intro.html")
    hrefs = v.page.evaluate("""Array.from(document.querySelectorAll('nav.bd-docs-nav a, .bd-sidebar a'))
        .map(a => new URL(a.href).pathname)""")
    reachable = {h.lstrip("/") for h in hrefs}
    missing = [p for p in toc_pages() if p != "book/intro.html" and p not in reachable]
    assert not missing, f"not reachable from the navigation: {missing}"
    # following the "next" links walks through the whole book in order
    seen = ["book/intro.html"]
    page = v.page
    for _ in range(len(toc_pages()) + 2):
        nxt = page.locator("a.right-next")
        if not nxt.count():
            break
        nxt.first.click()
        page.wait_for_load_state("load")
        seen.append(page.url.split(site + "/", 1)[1].split("#")[0])
    assert seen == toc_pages(), f"next-links order {seen} differs from the toc {toc_pages()}"
    assert not v.errors and not v.failed and not v.off_machine()


def test_search_works(site, browser):
    v = PageVisit(browser, site, "search.html?q=softmax")
    v.page.wait_for_selector("#search-results ul.search li", timeout=30000)
    hits = v.page.evaluate("Array.from(document.querySelectorAll('#search-results ul.search li a')).map(a => a.href)")
    assert any("01_softmax" in h for h in hits), hits
    assert not v.errors and not v.failed and not v.off_machine()


def test_student_edition_has_no_solutions(site, tmp_path):
    """BOOK_SOLUTIONS=hide: every exercise stays; no solution in the pages or in the notebooks
    offered for download. (Runs after the main build, so outputs come from its cache.)"""
    import json

    build_book("--path-output", str(tmp_path), BOOK_SOLUTIONS="hide")
    student = tmp_path / "_build" / "html"
    for rel in [p for p in toc_pages() if p.startswith("notebooks/0")]:
        full, hidden = (HTML / rel).read_text(), (student / rel).read_text()
        n_ex = full.count('class="exercise')
        assert n_ex > 0 and hidden.count('class="exercise') == n_ex, f"{rel}: exercises lost"
        assert full.count('class="solution') > 0, f"{rel}: the full edition shows no solution"
        assert 'class="solution' not in hidden, f"{rel}: a solution is left in the student edition"
        nb = json.loads((student / "_sources" / rel.replace(".html", ".ipynb")).read_text())
        text = "".join("".join(c["source"]) for c in nb["cells"])
        assert "{solution}" not in text and "{exercise}" in text, f"{rel}: downloadable notebook"
        assert reference_answers(nb) == [], f"{rel}: the downloadable notebook holds answers"
        # code exercises: the answers and the book's listings of them are gone from the page
        page = page_text(student / rel)
        assert "BEGIN SOLUTION" not in page, f"{rel}: an answer region is shown"
        assert "reference-code" not in (student / rel).read_text(), f"{rel}: the book's listing of an answer is shown"
        if any(n in EXERCISED for n in TAUGHT.get(rel, [])):
            assert "raise NotImplementedError()" in page, f"{rel}: no stubbed exercise on the student page"
            assert "\u2714" not in page, f"{rel}: a check's pass line (from the reference answer) is shown"


# Issue 13: the functions each chapter teaches appear on its page as code, pulled from helpers/
TAUGHT = {
    "notebooks/02_backprop.html": ["sigmoid", "initialize_weights", "forward", "softmax", "compute_loss_and_acc",
                                   "backwards", "get_random_batches", "numerical_gradient"],
    "notebooks/03_mlp_training.html": ["train_epoch"],
    "notebooks/04_ocr.html": ["findLetters", "group_lines", "crop_to_square"],
    "notebooks/05_autoencoder_pca.html": ["autoencoder_forward", "autoencoder_backward", "train_autoencoder_epoch",
                                          "momentum_step", "pca_by_svd"],
    "notebooks/06_pytorch_finetuning.html": ["train_epoch", "replace_head"],
}
EXERCISED = {"sigmoid", "initialize_weights", "forward", "softmax", "compute_loss_and_acc", "backwards",
             "get_random_batches", "numerical_gradient", "train_epoch", "findLetters", "momentum_step",
             "pca_by_svd", "autoencoder_forward", "autoencoder_backward", "replace_head"}


def page_text(path: Path) -> str:
    """The visible text of a built page (tags stripped, entities decoded)."""
    import html as html_mod

    raw = path.read_text()
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
    return html_mod.unescape(re.sub(r"<[^>]+>", "", raw))


def test_the_code_each_chapter_teaches_is_on_its_page(site):
    """Each taught function's ``def`` line is on its chapter's page, from the helpers source."""
    missing = []
    for rel, names in TAUGHT.items():
        text = page_text(HTML / rel)
        for name in names:
            if not re.search(rf"^\s*def {name}\(", text, re.M):
                missing.append(f"{rel}: def {name}(")
    assert not missing, "functions the chapters teach but do not show: " + ", ".join(missing)


def test_the_build_lists_every_claim_with_its_margin(site):
    """_build/claims.json (and the site's copy) holds the claims of every chapter that makes them, none
    failing; the results page shows the tightest margins."""
    import json

    data = json.loads((ROOT / "_build" / "claims.json").read_text())
    assert data["mode"] == "quick" and data["seed"] == 0
    assert json.loads((HTML / "claims.json").read_text()) == data
    chapters = {c["notebook"] for c in data["claims"]}
    assert {"notebooks/02_backprop", "notebooks/03_mlp_training", "notebooks/04_ocr",
            "notebooks/05_autoencoder_pca", "notebooks/06_pytorch_finetuning", "notebooks/data"} <= chapters
    assert not [c["id"] for c in data["claims"] if c["passed"] is False]
    for c in data["claims"]:
        assert set(c) >= {"id", "value", "op", "bound", "margin", "passed", "seed", "mode"}
    page = (HTML / "book" / "results.html").read_text()
    assert "claims-margins" in page and f"{len(data['claims'])} claims in this build" in page


def test_the_performance_page_shows_this_builds_profile(site):
    """The performance page's profile is this build's: every chapter notebook with its execution time and
    its slowest cells (timed by the build), and the benchmark table measured while the page was built."""
    page = (HTML / "book" / "performance.html").read_text()
    assert 'class="profile' in page and "notebooks executed for this build in" in page
    for name in ("data", "01_softmax", "02_backprop", "03_mlp_training", "04_ocr", "05_autoencoder_pca",
                 "06_pytorch_finetuning"):
        row = re.search(rf"<td><p>{name}</p></td>\s*<td><p>(\d+)</p></td>\s*<td><p>[\d: -]+</p></td>\s*<td><p>(.*?)</p>",
                        page, re.S)
        assert row, f"{name} is missing from the profile table"
        assert row.group(2).count("cell ") >= 1, f"{name}: no cell timings (nbclient's record_timing is off?)"
    assert "chars_generated_per_s" in page and "latest.json" not in page


def test_drawing_pad_runs_the_chapters_network(site, browser):
    """Issue 27: the pad of chapter 3 runs the chapter's own network, which the build exported into the site,
    and reads every character of the generator's pen-stroke alphabet as ``helpers.pad.read_drawing`` does
    (image and probabilities to 1e-4); the chapter's count of characters read right is the page's. Chapter 4's
    introduction has the pad too. Screenshots of a drawn letter, light and dark, go to _build/screenshots/."""
    import numpy as np

    from helpers import mlp, pad
    from helpers.data import CLASSES

    model_file = HTML / "_static" / pad.MODEL_FILE
    assert model_file.stat().st_size < 600_000, "the pad's model file should stay a few hundred KB"
    params, model = pad.load_model(model_file)
    book_params, info = mlp.chapter3_mlp(progress=False)       # the build's cached chapter-3 network
    for k, W in params.items():
        assert np.array_equal(W, book_params[k].astype(np.float32)), f"{k}: the site holds another network"
    assert model["mode"] == "quick" and model["source"] == info["source"]

    v = PageVisit(browser, site, "notebooks/03_mlp_training.html")
    page = v.page
    page.wait_for_function("window.BookPad && BookPad.pads.length === 1")
    drawings = [pad.glyph_strokes(c) for c in CLASSES]
    results = page.evaluate("cases => cases.map(s => BookPad.pads[0].draw(s))", drawings)
    right = 0
    for c, strokes, r in zip(CLASSES, drawings, results):
        py = pad.read_drawing(strokes, params, pad.framing_of(model))
        assert np.abs(np.array(r["image"]) - py["image"].ravel()).max() <= 1e-4, f"{c}: the page's 32x32 image"
        assert np.abs(np.array(r["probs"]) - py["probs"]).max() <= 1e-4, f"{c}: the page's probabilities"
        right += CLASSES[int(np.argmax(r["probs"]))] == c
    text = page.evaluate("document.querySelector('main').innerText")
    assert f"the network reads {right} of the 36 characters right" in " ".join(text.split()), \
        "the chapter's count differs from the page's"
    shown = page_text(HTML / "notebooks" / "03_mlp_training.html")
    assert "function readDrawing(strokes, model)" in shown and "def read_drawing(" in shown, \
        "the page's script and the Python it repeats are not shown on the page"

    SHOTS.mkdir(parents=True, exist_ok=True)
    pad_el = page.locator("div.book-pad")
    page.evaluate("s => BookPad.pads[0].draw(s)", pad.glyph_strokes("R", height=0.7, slant=0.12))
    for theme in ("light", "dark"):
        page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
        pad_el.scroll_into_view_if_needed()
        pad_el.screenshot(path=str(SHOTS / f"pad_{theme}.png"))
    assert not v.errors and not v.failed and not v.off_machine(), (v.errors, v.failed, v.off_machine())
    page.close()

    v = PageVisit(browser, site, "notebooks/04_ocr.html")
    v.page.wait_for_function("window.BookPad && BookPad.pads.length === 1")
    v.page.get_by_role("button", name=f"sample drawing of {pad.SAMPLE_CHARS[0]}").click()
    assert v.page.locator("div.book-pad [aria-live=polite]").inner_text().startswith("The network reads ")
    assert not v.errors and not v.failed and not v.off_machine(), (v.errors, v.failed, v.off_machine())
    v.page.close()
