"""Os notebooks do Colab (``notebooks/``) estão em dia com os capítulos e rodam num ambiente novo."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import sysconfig

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
gera_notebooks = importlib.import_module("gera_notebooks") if importlib.util.find_spec("gera_notebooks") else None

REGENERATE = "python scripts/gera_notebooks.py"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return gera_notebooks.gera(tmp_path_factory.mktemp("notebooks"))


def test_committed_notebooks_match_the_chapters(generated):
    committed = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert set(committed) == set(generated), (
        f"notebooks/ não corresponde aos capítulos do sumário: faltam {sorted(set(generated) - set(committed))}, "
        f"sobram {sorted(set(committed) - set(generated))}; rode `{REGENERATE}`")
    stale = sorted(name for name in generated if committed[name] != generated[name])
    assert not stale, f"notebooks desatualizados em relação aos capítulos: {stale}; rode `{REGENERATE}`"


def test_generation_is_deterministic(generated, tmp_path):
    assert gera_notebooks.gera(tmp_path) == generated


def test_notebooks_start_with_the_install_cell_and_have_no_outputs():
    url = gera_notebooks.pacote_padrao()
    assert url.startswith("livro @ git+https://github.com/") and url.endswith("#subdirectory=code")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        first = "".join(nb["cells"][0]["source"])
        assert nb["cells"][0]["cell_type"] == "code" and "%pip install" in first and url in first, path.name
        assert "LIVRO_OFFLINE" not in first  # no Colab, os dados vêm pelo download de livro.data
        text = path.read_text(encoding="utf-8")
        assert "{literalinclude}" not in text and "{term}" not in text, path.name  # o Colab não as conhece
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name
        assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_install_cell_keeps_colab_torch():
    cell = gera_notebooks.celula_instalacao("livro", gera_notebooks.extras())
    # sem versões: só instala o que falta, nunca troca o PyTorch com CUDA nem o NumPy do Colab
    assert "==" not in cell and "--upgrade" not in cell and " -U " not in cell
    for name in ("myst-nb", "torchvision", "palmerpenguins"):  # o glue dos capítulos, os dados
        assert f" {name}" in cell


def test_chapter1_notebook_runs_in_a_fresh_venv(tmp_path):
    """Executa o notebook do capítulo 1 num ambiente novo, com a célula de instalação apontada para
    esta cópia do repositório: é a célula que instala o ``livro``.

    Instalar o PyTorch de novo custaria minutos e gigabytes; o ambiente novo enxerga, por um
    arquivo ``.pth``, as bibliotecas do ambiente da construção (sem o ``livro`` editável dele,
    cujo gancho de importação não é processado por esse caminho), e a célula instala o ``livro``.
    """
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    build_site = sysconfig.get_paths()["purelib"]
    pathlib.Path(site, "ambiente_da_construcao.pth").write_text(build_site + "\n")
    out = tmp_path / "nb"
    pacote = f"livro @ {(ROOT / 'code').as_uri()}"
    gera_notebooks.gera(out, pacote=pacote)
    notebook = out / "01-verossimilhanca.ipynb"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JUPYTER_PATH", "VIRTUAL_ENV")}
    env.update(PIP_RETRIES="0", PIP_DISABLE_PIP_VERSION_CHECK="1", LIVRO_OFFLINE="1", LIVRO_BUILD="1",
               PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    script = (
        "import nbformat, nbclient\n"
        f"nb = nbformat.read({str(notebook)!r}, as_version=4)\n"
        "nb.cells.append(nbformat.v4.new_code_cell('import livro, sys; print(livro.__file__); print(sys.prefix)'))\n"
        # o kernel python3 é o nativo do ipykernel: o Python deste ambiente novo
        "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3').execute()\n"
        "errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs if o.output_type == 'error']\n"
        "assert not errors, errors\n"
        "print(nb.cells[-1].outputs[0]['text'])\n"
    )
    result = subprocess.run([str(py), "-c", script], cwd=out, env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    livro_file, prefix = result.stdout.split()[-2:]
    assert prefix == str(venv), (prefix, venv)
    # instalado pela célula dentro do ambiente novo, não lido da cópia de trabalho nem do outro ambiente
    assert livro_file.startswith(site), livro_file


@pytest.fixture(autouse=True)
def _need_script():
    if gera_notebooks is None:
        pytest.fail("scripts/gera_notebooks.py não foi encontrado")
