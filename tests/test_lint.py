"""O código do pacote, dos testes e dos scripts segue as regras do ruff (ruff.toml)."""

import subprocess
import sys

from conftest import ROOT


def test_ruff_clean():
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    assert files
    result = subprocess.run([sys.executable, "-m", "ruff", "check", *files], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout
