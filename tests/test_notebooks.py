import subprocess
import sys

from conftest import ROOT


def test_chapters_are_valid_myst_notebooks():
    result = subprocess.run([sys.executable, "scripts/check_notebooks.py"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout


def test_check_detects_bad_kernel(tmp_path):
    bad = tmp_path / "ruim.md"
    bad.write_text("---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
                   "kernelspec:\n  display_name: R\n  language: R\n  name: ir\n---\n\n# Título\n")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_notebooks.py"), str(bad)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "python3" in result.stdout
