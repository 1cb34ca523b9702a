"""helpers.ocr.photos and ``python -m helpers ocr --truth / --photos``: real photos scored against
their true text.

Generated pages stand in for photos: written as JPEG files with their truth in NAME.txt. With a
constant classifier (every crop reads 'A') the expected scores are known exactly, since the layout
finds every character and line of these pages; one end-to-end run of the command line trains the
quick-mode MLP into a temporary data directory.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import ocr
from helpers.__main__ import main
from helpers.data import CLASSES

ROOT = Path(__file__).resolve().parent.parent
SIZE = (900, 1200)
SEEDS = (1, 2, 4)


def constant_classifier(images):
    """Every crop is an 'A' (probability 1)."""
    probs = np.zeros((len(images), len(CLASSES)), np.float32)
    probs[:, 0] = 1.0
    return probs


def as_read(lines):
    """What the constant classifier reads: every character an 'A'."""
    return [re.sub("[A-Z0-9]", "A", s) for s in lines]


@pytest.fixture(scope="module")
def pages():
    return {f"page{seed}": ocr.make_test_page(seed, SIZE) for seed in SEEDS}


@pytest.fixture
def folder(tmp_path, pages):
    """Three photos with truth files (one .JPG, one .png), one without, one with an empty truth file."""
    d = tmp_path / "photos"
    d.mkdir()
    names = {"page1": "page1.jpg", "page2": "page2.JPG", "page4": "page4.png"}
    for key, page in pages.items():
        path = d / names[key]
        Image.fromarray(page.image).save(path, format="PNG" if path.suffix == ".png" else "JPEG", quality=90)
        # the truth as a person types it: lower case, stray spaces, a blank line
        (d / f"{key}.txt").write_text("\n".join(s.lower().replace(" ", "  ") for s in page.lines) + "\n\n")
    Image.fromarray(pages["page1"].image).save(d / "unlabelled.jpeg", quality=90)
    Image.fromarray(pages["page2"].image).save(d / "blank.jpg", quality=90)
    (d / "blank.txt").write_text("  \n\n")
    (d / "notes.md").write_text("not a photo")
    return d


def test_find_photos_pairs_images_with_their_truth(folder):
    found = ocr.find_photos(folder)
    assert [p.image.name for p in found] == ["blank.jpg", "page1.jpg", "page2.JPG", "page4.png", "unlabelled.jpeg"]
    truths = {p.image.name: (p.truth.name if p.truth else None) for p in found}
    assert truths == {"blank.jpg": "blank.txt", "page1.jpg": "page1.txt", "page2.JPG": "page2.txt",
                      "page4.png": "page4.txt", "unlabelled.jpeg": None}
    assert ocr.find_photos(folder / "nowhere") == []  # no folder, no photos, no error


def test_read_truth(tmp_path, pages):
    p = tmp_path / "t.txt"
    p.write_text("\ufeffTo do  list\n\n 1 make a   to do list \n", encoding="utf-8")
    assert ocr.read_truth(p) == ["TO DO LIST", "1 MAKE A TO DO LIST"]
    with pytest.raises(ocr.TruthError, match="no such truth file"):
        ocr.read_truth(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text(" \n\t\n")
    with pytest.raises(ocr.TruthError, match="the truth file is empty; write the page's text"):
        ocr.read_truth(tmp_path / "empty.txt")


def test_score_lines_with_and_without_spaces():
    truth = ["DEEP LEARNING", "DEEPER LEARNING"]  # 29 characters with the newline, 27 without spaces
    s = ocr.score_lines(["DEEPLEARNING", "DEEPER LEARN1NG", "X"], truth)
    assert s["errors"] == 1 + 1 + 2 and s["length"] == 29  # a missed space, a wrong character, an extra line
    assert s["char_accuracy"] == pytest.approx(1 - 4 / 29)
    assert s["errors_no_spaces"] == 3 and s["length_no_spaces"] == 27
    assert s["char_accuracy_no_spaces"] == pytest.approx(1 - 3 / 27)
    assert (s["lines_true"], s["lines_read"], s["line_count_ok"]) == (2, 3, False)
    assert ocr.score_lines(truth, truth)["char_accuracy"] == 1.0


def test_score_photos_in_process(folder, pages):
    rows = ocr.score_photos(ocr.find_photos(folder), lambda im: ocr.read_page(im, constant_classifier, details=True))
    by_name = {r["photo"]: r for r in rows}
    for key, page in pages.items():
        row = next(r for name, r in by_name.items() if name.startswith(key))
        assert row["truth"] == page.lines and row["lines"] == as_read(page.lines) and not row["problem"]
        assert row["char_accuracy"] == pytest.approx(ocr.char_accuracy(as_read(page.lines), page.lines))
        assert row["line_count_ok"] and isinstance(row["reading"], ocr.PageReading)
    assert "char_accuracy" not in by_name["unlabelled.jpeg"] and by_name["unlabelled.jpeg"]["lines"]
    assert "no truth file unlabelled.txt beside it" in by_name["unlabelled.jpeg"]["problem"]
    assert "truth file is empty" in by_name["blank.jpg"]["problem"] and "char_accuracy" not in by_name["blank.jpg"]
    # the total counts every character once: 1 - all errors / all characters
    total = ocr.total_score(rows)
    truth = [p.lines for p in pages.values()]
    errors = sum(ocr.edit_distance("\n".join(as_read(t)), "\n".join(t)) for t in truth)
    assert total["photos"] == 3 and total["lines_right"] == 3
    assert total["char_accuracy"] == pytest.approx(1 - errors / sum(len("\n".join(t)) for t in truth))
    table = ocr.photo_table(rows)
    assert list(table["photo"]) == ["page1.jpg", "page2.JPG", "page4.png", "total (3 photos)"]
    text = ocr.format_scores(rows)
    assert "total" in text and "3 photos scored, the line count right on 3" in text
    assert "not scored: unlabelled.jpeg" in text and "not scored: blank.jpg" in text


def test_nothing_scored(folder):
    rows = ocr.score_photos([ocr.Photo(folder / "unlabelled.jpeg")], lambda im: ["HELLO"])
    assert rows[0]["lines"] == ["HELLO"] and "no truth file" in rows[0]["problem"]
    assert ocr.total_score(rows)["char_accuracy"] is None and ocr.photo_table(rows).empty
    assert ocr.format_scores(rows).startswith("no photo scored\nnot scored: unlabelled.jpeg")
    broken = ocr.score_photos([ocr.Photo(folder / "notes.md", folder / "page1.txt")], lambda im: ["X"])
    assert broken[0]["lines"] is None and "not an image file" in broken[0]["problem"]


def test_a_classifier_of_the_wrong_shape_is_a_clear_error(pages):
    page = pages["page1"]
    with pytest.raises(ValueError, match=r"classifier returned shape \(\d+, 10\); expected \(N, 36\)"):
        ocr.read_page(page.image, lambda x: np.full((len(x), 10), 0.1))
    with pytest.raises(ValueError, match=r"classifier returned shape \(36, \d+\)"):
        ocr.read_page(page.image, lambda x: np.full((36, len(x) + 1), 1 / 36))   # (36, N): never (N, 36)


# --- the command line, in process with the constant classifier --------------------------------------

@pytest.fixture
def constant_cli(monkeypatch):
    monkeypatch.setattr("helpers.ocr.cli.load_classifier", lambda model="best", progress=True: constant_classifier)


def test_cli_photos_folder(folder, pages, constant_cli, capsys):
    status = main(["ocr", "--photos", str(folder)])
    out, err = capsys.readouterr()
    assert status == 1  # blank.txt is empty: that photo could not be scored
    assert "blank.txt: the truth file is empty" in err and "unlabelled.jpeg: no truth file unlabelled.txt" in err
    assert f"== {folder / 'page1.jpg'} ==" in out
    assert "3 photos scored, the line count right on 3" in out
    acc = ocr.char_accuracy(as_read(pages["page4"].lines), pages["page4"].lines)
    assert re.search(rf"page4\.png +{len(pages['page4'].lines)} / {len(pages['page4'].lines)} +{100 * acc:.1f}%", out)
    (folder / "blank.txt").write_text("HELLO\n")
    assert main(["ocr", "--photos", str(folder)]) == 0  # an unlabelled photo alone is not a failure
    capsys.readouterr()


def test_cli_one_photo_with_truth_json(folder, pages, constant_cli, capsys):
    image, truth = folder / "page1.jpg", folder / "page1.txt"
    assert main(["ocr", "--json", str(image), "--truth", str(truth)]) == 0
    out = json.loads(capsys.readouterr().out)
    row = out["photos"][str(image)]
    lines = pages["page1"].lines
    assert row["truth"] == lines and row["lines"] == as_read(lines) and row["problem"] == ""
    assert row["char_accuracy"] == pytest.approx(ocr.char_accuracy(as_read(lines), lines))
    assert out["total"]["photos"] == 1 and out["total"]["char_accuracy"] == pytest.approx(row["char_accuracy"])


def test_cli_truth_problems(folder, tmp_path, constant_cli, capsys):
    image = str(folder / "page1.jpg")
    assert main(["ocr", image, str(folder / "page2.JPG"), "--truth", str(folder / "page1.txt")]) == 2
    assert "give one --truth file per IMAGE, in the same order: 2 images and 1 --truth" in capsys.readouterr().err
    assert main(["ocr", image, "--truth", str(folder / "nothing.txt")]) == 1
    out, err = capsys.readouterr()
    assert "nothing.txt: no such truth file" in err and "no photo scored" in out
    assert main(["ocr", "--photos", str(tmp_path / "nowhere")]) == 1
    assert "nowhere: no such folder; put photos there" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["ocr", "--photos", str(tmp_path / "empty")]) == 1
    assert "no photos (.jpg, .jpeg, .png) in it" in capsys.readouterr().err
    assert main(["ocr"]) == 2
    assert "give the IMAGE files" in capsys.readouterr().err


def test_cli_scoring_survives_a_classifier_of_the_wrong_shape(folder, monkeypatch, capsys):
    monkeypatch.setattr("helpers.ocr.cli.load_classifier", lambda model="best", progress=True: lambda x: np.ones(3))
    assert main(["ocr", str(folder / "page1.jpg"), "--truth", str(folder / "page1.txt")]) == 1
    assert "could not read the text (ValueError: classifier returned shape (3,)" in capsys.readouterr().err


# --- the command line, end to end -------------------------------------------------------------------

def test_cli_end_to_end_with_the_quick_mlp(folder, pages, tmp_path):
    env = dict(os.environ, BOOK_MODE="quick", BOOK_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "helpers", "ocr", "--model", "mlp", "--quiet", "--json",
                          str(folder / "page4.png"), "--truth", str(folder / "page4.txt")],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert res.returncode == 0, res.stderr
    row = json.loads(res.stdout)["photos"][str(folder / "page4.png")]
    truth = pages["page4"].lines
    assert row["truth"] == truth and len(row["lines"]) == len(truth)
    assert row["char_accuracy"] == pytest.approx(ocr.char_accuracy(row["lines"], truth))
    assert row["char_accuracy_no_spaces"] >= row["char_accuracy"] - 0.05
    assert row["char_accuracy"] > 0.4  # the quick-mode MLP reads most characters
