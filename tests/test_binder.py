"""O ambiente do Binder: um virtualenv novo feito só com ``binder/requirements.txt`` executa o capítulo 1."""

import os
import subprocess
import sys

from conftest import ROOT


def test_binder_environment_runs_chapter_1(tmp_path):
    venv = tmp_path / "binder-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # a máquina de construção não alcança download.pytorch.org: sem novas tentativas, o pip segue
    # para os outros índices, que têm o mesmo torch 2.13.0 para CPU
    env = dict(os.environ, PIP_RETRIES="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
                   cwd=ROOT, check=True, env=env, capture_output=True, text=True)
    script = (
        "import jupytext, nbclient, torch\n"
        "assert '+cpu' in torch.__version__ or not torch.cuda.is_available()\n"
        "nb = jupytext.read('book/01-verossimilhanca.md')\n"
        "nbclient.NotebookClient(nb, kernel_name='python3', timeout=300,\n"
        "                        resources={'metadata': {'path': 'book'}}).execute()\n"
        "outs = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]\n"
        "assert not [o for o in outs if o.get('output_type') == 'error']\n"
        "print('executado', len(outs), 'saídas', torch.__version__)\n"
    )
    result = subprocess.run([str(py), "-c", script], cwd=ROOT, check=True, env=env, capture_output=True,
                            text=True, timeout=600)
    assert "executado" in result.stdout
