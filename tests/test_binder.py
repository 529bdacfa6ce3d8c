"""O ambiente do Binder (``binder/requirements.txt``) executa o livro inteiro.

A construção (``make``) executa os capítulos num kernel que roda em ``.venv-binder``, um
ambiente feito só com ``binder/requirements.txt`` (``scripts/kernel_binder.py``); a construção
estrita ``--all`` de ``make test`` é, então, a execução de todo capítulo no ambiente do Binder, com
o cache de modelos da construção. Estes testes conferem as três peças: os pinos dos dois arquivos
concordam, o arquivo do Binder cobre tudo o que os capítulos e o pacote importam, e o kernel
``python3`` que a construção resolve é mesmo o desse ambiente.
"""

import importlib.metadata as md
import json
import os
import re
import subprocess
import sys

import jupytext
import pytest
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

BINDER_FILE = ROOT / "binder" / "requirements.txt"
BINDER_VENV = ROOT / ".venv-binder"
KERNELS = BINDER_VENV / "kernel"


def pins(path):
    """``{nome canônico: versão}`` das linhas ``nome==versão`` de um arquivo de requisitos."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)", line)
        if m:
            found[canonicalize_name(m.group(1))] = m.group(2)
    return found


def test_pins_agree_with_the_build():
    build, binder = pins(ROOT / "requirements.txt"), pins(BINDER_FILE)
    differ = {name: (build[name], binder[name]) for name in build.keys() & binder.keys()
              if build[name] != binder[name]}
    assert not differ, f"versões diferentes entre requirements.txt e binder/requirements.txt: {differ}"
    # o que os capítulos executam precisa estar fixado nos dois
    for name in ("torch", "torchvision", "numpy", "scikit-learn", "myst-nb", "ipykernel"):
        assert name in binder, f"{name} falta em binder/requirements.txt"
    text = BINDER_FILE.read_text(encoding="utf-8")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text  # rodas só para CPU
    assert re.search(r"^\./code$", text, re.M), "o pacote livro (./code) falta no arquivo do Binder"


def _imports(source):
    """Nomes de primeiro nível importados por um código (linhas ``import x`` / ``from x import``)."""
    names = set()
    for m in re.finditer(r"^\s*import\s+([\w.]+(?:\s*(?:as\s+\w+)?\s*,\s*[\w.]+)*)", source, re.M):
        for part in m.group(1).split(","):
            names.add(part.strip().split()[0].split(".")[0])
    for m in re.finditer(r"^\s*from\s+(\w+)[\w.]*\s+import\s", source, re.M):
        names.add(m.group(1))
    return names


def _closure(roots):
    """Distribuições instaladas a partir de ``roots``, seguindo as dependências (sem extras)."""
    seen, todo = set(), [canonicalize_name(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for spec in md.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return seen


def test_binder_file_covers_every_import():
    modules = set()
    chapters = [p for p in (ROOT / "book").rglob("*.md") if "kernelspec:" in p.read_text(encoding="utf-8")[:600]]
    assert len(chapters) >= 8
    for chapter in chapters:
        nb = jupytext.read(chapter)
        for cell in nb.cells:
            if cell.cell_type == "code":
                modules |= _imports(cell.source)
    for module in (ROOT / "code" / "livro").glob("*.py"):
        modules |= _imports(module.read_text(encoding="utf-8"))
    modules -= set(sys.stdlib_module_names) | {"livro", "__future__"}
    closure = _closure([*pins(BINDER_FILE), "livro"])
    owners = md.packages_distributions()
    missing = {}
    for module in sorted(modules):
        dists = {canonicalize_name(d) for d in owners.get(module, [])}
        if not dists & closure:
            missing[module] = sorted(dists) or "nenhuma distribuição instalada"
    assert not missing, ("módulos importados pelos capítulos ou pelo pacote que binder/requirements.txt "
                         f"não instala (nem por dependência): {missing}")


def _binder_venv_or_skip():
    if (KERNELS / "kernels" / "python3" / "kernel.json").is_file():
        return
    if os.environ.get("MAKELEVEL"):  # dentro do make, o make setup já devia ter criado o ambiente
        pytest.fail(f"{BINDER_VENV.name} não existe: o make setup devia tê-lo criado")
    pytest.skip(f"sem {BINDER_VENV.name} (crie com make setup)")


def test_build_kernel_is_the_binder_environment():
    _binder_venv_or_skip()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^export JUPYTER_PATH := \$\(CURDIR\)/\$\(KERNELS\)$", makefile, re.M)
    assert re.search(r"^KERNELS := \$\(BINDER\)/kernel$", makefile, re.M)
    assert re.search(r"^BINDER := \.venv-binder$", makefile, re.M)
    from jupyter_client.kernelspec import KernelSpecManager

    os.environ["JUPYTER_PATH"] = str(KERNELS)  # como o Makefile exporta
    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
    finally:
        os.environ.pop("JUPYTER_PATH")
    assert spec.argv[0] == str(BINDER_VENV / "bin" / "python"), spec.argv
    assert spec.env.get("PYTHONPATH") == str(ROOT / "code")


def test_binder_environment_has_exactly_the_pinned_versions():
    _binder_venv_or_skip()
    freeze = subprocess.run([str(BINDER_VENV / "bin" / "python"), "-m", "pip", "list", "--format=json",
                             "--disable-pip-version-check"], capture_output=True, text=True, check=True).stdout
    installed = {canonicalize_name(p["name"]): p["version"] for p in json.loads(freeze)}
    wrong = {}
    for name, version in pins(BINDER_FILE).items():
        got = installed.get(name)
        # a roda do índice só-CPU traz a versão local "+cpu": 2.14.1+cpu atende a torch==2.14.1
        if got is None or got.split("+")[0] != version:
            wrong[name] = (version, got)
    assert not wrong, f"{BINDER_VENV.name} não tem as versões de binder/requirements.txt: {wrong}; rode make setup"
    assert "livro" in installed


def test_kernel_named_in_the_chapters_runs_in_the_binder_environment():
    """Executa um notebook mínimo como o myst-nb executa os capítulos: pelo nome do kernel."""
    _binder_venv_or_skip()
    import nbclient
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys, livro\nprint(sys.prefix)\nprint(livro.__file__)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    env_before = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(KERNELS)
    try:
        nbclient.NotebookClient(nb, timeout=120).execute()
    finally:
        if env_before is None:
            os.environ.pop("JUPYTER_PATH")
        else:
            os.environ["JUPYTER_PATH"] = env_before
    prefix, livro_file = nb.cells[0].outputs[0]["text"].split()
    assert prefix == str(BINDER_VENV)
    assert livro_file.startswith(str(ROOT / "code" / "livro"))
