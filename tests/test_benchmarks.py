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
