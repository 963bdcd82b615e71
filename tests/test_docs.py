"""The Sphinx documentation builds without a single warning, and its key pages are there."""

import os
import subprocess
import sys

DOCS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


def test_docs_build(tmp_path):
    out_dir = tmp_path / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", DOCS_DIR, str(out_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"sphinx-build failed (warnings are errors):\n{result.stdout}\n{result.stderr}"

    objective = (out_dir / "guide" / "objective.html").read_text(encoding="utf-8")
    # The Gaussian penalty f_sigma(r) = sigma^2 (1 - exp(-(r - 1)^2 / (2 sigma^2))), as MathJax source
    assert r"f_\sigma(r) = \sigma^2 \left(1 - \exp\left(-\frac{(r-1)^2}{2\sigma^2}\right)\right)" in objective
    assert "penalties.png" in objective
    assert (out_dir / "_images" / "penalties.png").is_file()

    benchmarks = out_dir / "benchmarks.html"
    assert benchmarks.is_file()
    assert "Overhead of GTR over PPO" in benchmarks.read_text(encoding="utf-8")

    for page in (
        "index",
        "guide/install",
        "guide/quickstart",
        "guide/diagnostics",
        "api/gtr_ppo",
        "api/penalties",
        "guide/policies",
        "guide/recurrent",
        "guide/continual",
        "api/recurrent_gtr_ppo",
        "api/continual",
        "guide/zoo",
        "guide/craftax",
        "guide/llm",
        "api/llm",
    ):
        assert (out_dir / f"{page}.html").is_file(), page
