"""benchmarks/run.py: the measurements the performance page reads."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_page_weights(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "04_ocr.html").write_bytes(b"x" * 3 * 2**20)
    (tmp_path / "index.html").write_bytes(b"x" * 1000)
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "mathjax.js").write_bytes(b"x" * 2**20)
    w = bench.page_weights(tmp_path)
    assert w["heaviest_page"] == "notebooks/04_ocr.html"
    assert abs(w["heaviest_page_mib"] - 3.0) < 1e-9
    assert abs(w["site_mib"] - (4 * 2**20 + 1000) / 2**20) < 1e-9


def test_one_case_as_json(tmp_path):
    """A real (small) measurement: character generation, in its own interpreter, with peak memory."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--only", "chars_generated_per_s", "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    r = report["results"]["chars_generated_per_s"]
    assert r["unit"] == "images/s" and r["value"] > 0 and r["images"] > 0
    assert r["peak_mib"] > 10
    assert report["machine"]["cpus"] >= 1


def test_a_failing_case_fails_the_run(monkeypatch, capsys):
    """CI reads the exit status: a case that crashes, an unknown case, or a case with no result
    must give a non-zero exit, with the reason in the table."""
    crashed = bench.run_case("no_such_case")  # a real child process that exits with an error
    assert "unknown case 'no_such_case'" in crashed["error"][0]
    monkeypatch.setattr(bench, "run_case", lambda name: {"error": ["RuntimeError: boom"]})
    assert bench.main(["--only", "chars_cache_load_s"]) == 1
    assert "boom" in capsys.readouterr().out
    assert bench.main(["--only", "chars_cache_load_s", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["results"]["chars_cache_load_s"]["error"] == ["RuntimeError: boom"]
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--only", "no_such_case"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode != 0 and "invalid choice" in out.stderr


def test_cache_load_case_measures_a_cached_reload():
    """The reload speed that tests/test_data.py used to assert is measured here instead."""
    r = bench.run_case("chars_cache_load_s")
    assert r["unit"] == "s" and 0 < r["value"] and r["images"] == 36 * 40 and len(r["runs"]) == 5
