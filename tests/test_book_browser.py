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
    "notebooks/01_softmax.html": ["softmax", "compute_loss_and_acc"],
    "notebooks/02_backprop.html": ["sigmoid", "forward", "backwards", "numerical_gradient", "mlp_forward",
                                   "mlp_backwards"],
    "notebooks/further_02_backprop.html": ["initialize_weights", "get_random_batches"],
    "notebooks/03_mlp_training.html": ["train_epoch"],
    "notebooks/04_ocr.html": ["findLetters", "group_lines", "prepare_crop"],
    "notebooks/further_04_ocr.html": ["crop_to_square", "frame_crop"],
    "notebooks/05_autoencoder_pca.html": ["autoencoder_forward", "autoencoder_backward", "train_autoencoder_epoch",
                                          "momentum_step", "pca_by_svd"],
    "notebooks/06_pytorch_finetuning.html": ["train_step", "train_epoch", "replace_head"],
}
EXERCISED = {"sigmoid", "initialize_weights", "forward", "softmax", "compute_loss_and_acc", "backwards",
             "get_random_batches", "numerical_gradient", "train_epoch", "findLetters", "momentum_step",
             "pca_by_svd", "autoencoder_forward", "autoencoder_backward", "replace_head", "train_step", "prepare_crop"}


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
    assert 'class="profile' in page and "notebooks executed for this build," in page
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


# Issue 26: accessible pages, launch buttons and downloads, dark mode

# WCAG 2.0, 2.1 and 2.2, levels A and AA: every rule axe-core has for them, none left out
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
THEMES = ("light", "dark")


def every_page() -> list[str]:
    """Every HTML page of the site, the index, search and proof index pages included."""
    return [p.relative_to(HTML).as_posix() for p in sorted(HTML.rglob("*.html"))
            if not p.relative_to(HTML).as_posix().startswith(("_", "."))]


def set_theme(page, theme: str) -> None:
    """The theme's own switch (pydata-sphinx-theme reads ``data-theme`` on <html>), with the page's colour
    transitions off, so that what is measured is the mode's colours, not a frame halfway between them."""
    page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
    page.evaluate("t => { document.documentElement.dataset.mode = t; document.documentElement.dataset.theme = t; }",
                  theme)
    page.wait_for_timeout(100)


def axe_violations(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    return result.response["violations"]


# headings with no text, and ids given twice: axe-core's rules for these are best practice, not WCAG tags
STRUCTURE_JS = """() => {
  const empty = Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6, [role=heading]'))
    .filter(h => !h.closest('[hidden], template') && !(h.textContent.trim() || h.getAttribute('aria-label')))
    .map(h => h.outerHTML.slice(0, 80));
  const seen = {}, twice = [];
  document.querySelectorAll('[id]').forEach(e => { if (seen[e.id]) twice.push(e.id); seen[e.id] = 1; });
  return {empty, twice};
}"""


def test_every_page_passes_axe_in_both_modes(site, browser):
    """axe-core (WCAG 2 A and AA) finds nothing on any page, light or dark; no heading is empty and no id is
    given twice. Nothing is excluded: every rule of those levels, every page of the site."""
    problems = []
    pages = every_page()
    assert len(pages) >= len(toc_pages()), pages
    for rel in pages:
        text = (HTML / rel).read_text()
        if 'http-equiv="Refresh"' in text:   # a redirect (index.html): checked as it is, not where it leads
            page = browser.new_page()
            page.set_content(re.sub(r"<meta http-equiv=\"Refresh\"[^>]*>", "", text))
        else:
            page = PageVisit(browser, site, rel).page
        if page.evaluate("document.querySelectorAll('.math').length"):
            page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=30000)
        structure = page.evaluate(STRUCTURE_JS)
        if structure["empty"]:
            problems.append(f"{rel}: empty headings {structure['empty'][:3]}")
        if structure["twice"]:
            problems.append(f"{rel}: ids given twice {sorted(set(structure['twice']))[:5]}")
        for theme in THEMES:
            set_theme(page, theme)
            for rule in axe_violations(page):
                targets = [" ".join(map(str, n["target"])) for n in rule["nodes"]]
                problems.append(f"{rel} ({theme}): {rule['id']} x{len(targets)}: {rule['help']}; {targets[:3]}")
        page.close()
    assert not problems, f"{len(problems)} accessibility problems:\n" + "\n".join(problems)


def test_a_slider_moves_with_the_keyboard(site, browser):
    """The frames player is a native range input: Tab reaches it, the arrow keys move it; its name is its
    label, the value a screen reader hears is the one shown, and the image's alt text follows the slider."""
    v = PageVisit(browser, site, "notebooks/further_01_softmax.html")
    page = v.page
    fig = page.locator("div.ifig").first
    rng = fig.locator("input[type=range]").first
    img = fig.locator("img.ifig-frame")
    label = rng.get_attribute("aria-label")
    assert label and fig.get_attribute("role") == "group"
    assert page.get_by_role("slider", name=label).count() >= 1, "the slider has no accessible name"
    start, src, alt = int(rng.input_value()), img.get_attribute("src"), img.get_attribute("alt")
    assert rng.get_attribute("aria-valuetext") == fig.locator("output").first.inner_text()
    assert f"{label} = {rng.get_attribute('aria-valuetext')}" in alt, alt
    rng.focus()
    assert page.evaluate("document.activeElement.type") == "range"
    key = "ArrowLeft" if start == int(rng.get_attribute("max")) else "ArrowRight"
    page.keyboard.press(key)
    moved = int(rng.input_value())
    assert moved == start + (1 if key == "ArrowRight" else -1), "the arrow key did not move the slider"
    assert img.get_attribute("src") != src, "the figure did not follow the slider"
    shown = fig.locator("output").first.inner_text()
    assert rng.get_attribute("aria-valuetext") == shown, "the announced value is not the value shown"
    assert img.get_attribute("alt") != alt and f"{label} = {shown}" in img.get_attribute("alt")
    page.keyboard.press("End")
    assert int(rng.input_value()) == int(rng.get_attribute("max"))
    assert not v.errors and not v.failed and not v.off_machine()
    page.close()


def launch_links(html: str) -> dict[str, str]:
    """``{text: url}`` of the header's launch menu (sphinx-book-theme's ``launch-buttons`` group)."""
    menu = re.search(r'aria-label="Launch interactive content".*?</ul>', html, re.S)
    if not menu:
        return {}
    return {html_text: url for url, html_text in
            re.findall(r'<a href="([^"]+)"[^>]*>.*?<span class="btn__text-container">([^<]+)</span>', menu.group(0), re.S)}


def test_launch_buttons_and_downloads(site, tmp_path):
    """Launch buttons exactly when the book has a public repository (here: none unless the clone's origin is
    public); downloads of the chapter notebook in both editions; the book's PDF when one was built."""
    import json

    import importlib.util

    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "_ext" / "book_build.py")
    book_build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_build)
    assert book_build.launch_options(None, {"binderhub_url": "https://mybinder.org"})["binderhub_url"] == ""
    chapter = "notebooks/01_softmax.html"
    html = (HTML / chapter).read_text()
    links = launch_links(html)
    if book_build.repository_url():
        assert "Binder" in links, f"{chapter}: a public repository, but no Binder button"
    else:
        assert not links and "launch-buttons" not in html, f"{chapter}: launch buttons with no repository: {links}"
    # downloads: the chapter's notebook and its student edition (no answers), in the header's menu
    for rel in [p for p in toc_pages() if p.startswith("notebooks/")]:
        page = (HTML / rel).read_text()
        name = rel.removesuffix(".html")
        assert f"_sources/{name}.ipynb" in page and f"_sources/{name}.student.ipynb" in page, f"{rel}: downloads"
        nb = json.loads((HTML / "_sources" / f"{name}.student.ipynb").read_text())
        assert reference_answers(nb) == [] and "{solution}" not in json.dumps(nb), f"{rel}: student notebook"
    pdf = HTML / book_build.PDF_NAME
    assert pdf.is_file() == ("download-book-pdf-button" in html), "the book PDF link and the file disagree"
    if pdf.is_file():
        assert pdf.read_bytes()[:5] == b"%PDF-"


def test_launch_buttons_on_a_public_repository(site, tmp_path):
    """A build whose repository is public (BOOK_REPOSITORY_URL) offers Binder and the course's JupyterHub on
    every chapter, both opening the whole repository at the chapter's notebook, and no Colab (it would open
    the notebook without helpers/); the offline pages are unchanged otherwise. (Cached: nothing executes.)"""
    url, hub = "https://github.com/nn4r-course/book", "https://hub.example.edu"
    build_book("--path-output", str(tmp_path), BOOK_REPOSITORY_URL=url, BOOK_JUPYTERHUB_URL=hub)
    out = tmp_path / "_build" / "html"
    for rel in [p for p in toc_pages() if p.startswith("notebooks/")]:
        links = launch_links((out / rel).read_text())
        nb = rel.removesuffix(".html") + ".ipynb"
        assert set(links) == {"Binder", "JupyterHub"}, f"{rel}: {links}"
        assert links["Binder"].startswith("https://mybinder.org/v2/gh/nn4r-course/book/") and nb in links["Binder"]
        assert links["JupyterHub"].startswith(hub + "/hub/user-redirect/git-pull?repo=") and nb in links["JupyterHub"]
    assert not launch_links((out / "book" / "references.html").read_text()), "launch buttons on a page with no code"


def opaque_corners_js():
    """For each figure image: whether its corners are opaque (a transparent figure shows the dark page
    through it, and black axis labels vanish)."""
    return """async () => {
      const out = [];
      for (const img of document.querySelectorAll('main img:not(.ifig-frame):not([src$=".svg"]), main img.ifig-frame')) {
        if (!img.naturalWidth) continue;
        const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
        const w = c.width - 1, h = c.height - 1;
        const a = [[0, 0], [w, 0], [0, h], [w, h]].map(([x, y]) => ctx.getImageData(x, y, 1, 1).data[3]);
        out.push({src: (img.getAttribute('src') || '').slice(0, 60), alpha: Math.min(...a)});
      }
      return out;
    }"""


def test_dark_mode_screenshots(site, browser):
    """Light and dark: figures keep an opaque (white) background, so their labels stay readable; the sliders
    and the frame player, the exercises and the drawing pad are visible. Screenshots of each in both modes
    go to _build/screenshots/ (theme_<page>_<mode>.png)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots = {"notebooks/further_01_softmax.html": ["div.ifig"], "notebooks/01_softmax.html": ["div.exercise"],
             "notebooks/03_mlp_training.html": ["div.book-pad"]}
    for rel, selectors in shots.items():
        v = PageVisit(browser, site, rel)
        page = v.page
        if rel.endswith("03_mlp_training.html"):
            page.wait_for_function("window.BookPad && BookPad.pads.length === 1")
        transparent = [i for i in page.evaluate(opaque_corners_js()) if i["alpha"] < 255]
        assert not transparent, f"{rel}: figures with a transparent background: {transparent[:3]}"
        for theme in THEMES:
            set_theme(page, theme)
            bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert (theme == "dark") == (sum(map(int, re.findall(r"\d+", bg)[:3])) < 200), f"{theme}: body {bg}"
            for sel in selectors:
                el = page.locator(sel).first
                el.scroll_into_view_if_needed()
                box = el.bounding_box()
                assert box and box["width"] > 100 and box["height"] > 50, f"{rel} {sel} ({theme}) not visible"
                if sel == "div.ifig":
                    for r in el.locator("input[type=range]").all():
                        assert r.is_visible() and r.bounding_box()["width"] > 40, f"{rel}: slider hidden ({theme})"
                name = f"theme_{rel.split('/')[-1].removesuffix('.html')}_{sel.split('.')[-1]}_{theme}.png"
                el.screenshot(path=str(SHOTS / name))
        assert not v.errors and not v.failed and not v.off_machine(), (v.errors, v.failed)
        page.close()
