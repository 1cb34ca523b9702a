"""The book's other editions (issue 26), without building the book: the PDF check (tests/check_pdf.py) on
small PDFs it must pass or fail, the launch buttons, the printed slider's caption, alt text read aloud.

The built editions themselves are checked by tests/test_book_browser.py (pages, axe-core, launch buttons)
and by .ci/run (the PDFs, through tests/check_pdf.py)."""
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import check_pdf  # noqa: E402

spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "_ext" / "book_build.py")
book_build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(book_build)

needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext") or not shutil.which("pdfinfo"),
                                   reason="poppler-utils not installed (apt-get install poppler-utils)")


def text_pdf(path: Path, lines: list[str]) -> Path:
    """A one-page PDF holding ``lines`` as text (matplotlib's PDF backend: pdftotext reads it back)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.5, 0.25 * len(lines) + 1))
    for k, line in enumerate(lines):
        fig.text(0.02, 1 - (k + 1) / (len(lines) + 1), line, fontsize=7)
    fig.savefig(path)
    plt.close(fig)
    return path


def book_lines(student: bool = False) -> list[str]:
    lines = list(check_pdf.toc_titles().values())
    lines += [f"Softmax of three logits, printed at T = 1. {check_pdf.SLIDER_LINE} a slider (T) redraws this figure.",
              f"{check_pdf.PAD_LINE}: a sample drawing of R.", "Exercise 1.1", "Show that softmax(x + c) = softmax(x)."]
    if not student:
        lines.append("Solution to Exercise 1.1")
    return lines


def test_toc_titles_cover_every_page():
    titles = check_pdf.toc_titles()
    assert len(titles) >= 15 and all(titles.values())
    assert any("oftmax" in t for t in titles.values())


@needs_poppler
def test_check_pdf_passes_a_complete_book_and_fails_an_unresolved_reference(tmp_path):
    good = text_pdf(tmp_path / "book.pdf", book_lines())
    assert check_pdf.problems(good, student=False, min_pages=1) == []
    bad = text_pdf(tmp_path / "bad.pdf", book_lines() + ["as Figure ?? shows"])
    found = check_pdf.problems(bad, student=False, min_pages=1)
    assert len(found) == 1 and "unresolved" in found[0], found
    assert "fewer than" in check_pdf.problems(good, student=False, min_pages=2)[0]


@needs_poppler
def test_check_pdf_finds_a_missing_chapter_and_a_solution_in_the_student_edition(tmp_path):
    title = next(iter(check_pdf.toc_titles().values()))
    short = text_pdf(tmp_path / "short.pdf", [line for line in book_lines() if line != title])
    assert any(repr(title) in p for p in check_pdf.problems(short, student=False, min_pages=1))
    student = text_pdf(tmp_path / "student.pdf", book_lines(student=True))
    assert check_pdf.problems(student, student=True, min_pages=1) == []
    leaked = text_pdf(tmp_path / "leaked.pdf", book_lines(student=False))
    assert any("solutions printed" in p for p in check_pdf.problems(leaked, student=True, min_pages=1))
    assert any("no solution" in p for p in check_pdf.problems(student, student=False, min_pages=1))


def test_launch_buttons_only_with_a_public_repository(monkeypatch):
    configured = {"notebook_interface": "classic", "binderhub_url": "https://mybinder.org", "jupyterhub_url": "",
                  "colab_url": "https://colab.research.google.com", "thebe": True}
    monkeypatch.delenv("BOOK_JUPYTERHUB_URL", raising=False)
    none = book_build.launch_options(None, configured)
    assert not any(none[k] for k in ("binderhub_url", "jupyterhub_url", "colab_url", "thebe"))
    public = book_build.launch_options("https://github.com/o/r", configured)
    assert public["binderhub_url"] == "https://mybinder.org" and not public["jupyterhub_url"]
    assert not public["colab_url"] and not public["thebe"], "Colab opens a notebook without helpers/"
    monkeypatch.setenv("BOOK_JUPYTERHUB_URL", "https://hub.example.edu")
    assert book_build.launch_options("https://github.com/o/r", configured)["jupyterhub_url"] == "https://hub.example.edu"
    assert book_build.launch_options(None, configured)["jupyterhub_url"] == ""


def test_a_printed_slider_says_where_the_slider_is():
    from helpers.interactive import interactive_figure

    def plot(T, k):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(1, 1))
        ax.plot([0, T * k])
        return fig

    fig = interactive_figure(plot, title="Two sliders", live=False, dpi=20,
                             T=dict(values=[0.5, 1.0, 2.0], label="temperature T"), k=[1, 2])
    alt, caption = book_build.slider_print_caption(fig.to_html())
    assert alt == "Two sliders, at temperature T = 1, k = 1"
    assert caption.startswith("Two sliders, printed at temperature T = 1, k = 1.")
    assert "web edition" in caption and "sliders (temperature T, k) redraw" in caption


def test_alt_text_reads_tex_aloud():
    assert book_build.tex_read_aloud(r"\sum_{j \le k}\lambda_j over a $32 \times 32$ image") == \
        "Σ_(j ≤ k)λ_j over a $32 × 32$ image"


def test_ids_given_twice_get_numbers():
    body = '<div id="proof"><p id="a"></p></div><div id="proof"></div><section id="exercise-content"></section>'
    assert book_build.unique_ids(body) == \
        '<div id="proof"><p id="a"></p></div><div id="proof-2"></div><section id="exercise-content"></section>'
