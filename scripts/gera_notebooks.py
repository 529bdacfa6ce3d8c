#!/usr/bin/env python3
"""Gera ``notebooks/<nome>.ipynb`` a partir de cada capítulo do sumário, para abrir no Colab.

O Colab abre notebooks ``.ipynb`` direto do GitHub, mas os capítulos são MyST Markdown
(jupytext). Este script converte cada capítulo executável de ``_toc.yml`` (os que têm
``kernelspec`` no cabeçalho) num notebook sem saídas, com uma primeira célula que instala o
pacote ``livro`` do repositório (``repository.url`` e ``repository.branch`` de ``_config.yml``)
e, dos pacotes que os capítulos usam (os de ``binder/requirements.txt``), os que faltarem. Os dados vêm de
``livro.data``: no Colab, que tem internet, o Fashion-MNIST é baixado na primeira vez e fica no
cache do usuário; os demais conjuntos vêm dentro de pacotes Python. No texto, o código do pacote
que o capítulo mostra com ``{literalinclude}`` entra como bloco de código (o Colab não conhece a
diretiva), os termos do glossário viram texto e os alvos de referência do MyST saem.

A saída é determinística (JSON com chaves ordenadas, identificadores de célula derivados da
posição, nenhuma data), e ``tests/test_notebooks_colab.py`` confere que os notebooks guardados no
repositório são os que este script gera. Depois de mudar um capítulo:

    .venv/bin/python scripts/gera_notebooks.py

``--pacote`` (ou a variável ``LIVRO_NOTEBOOK_PACOTE``) troca o que a célula instala, por exemplo
``"livro @ file:///caminho/do/repo/code"`` para testar a célula contra a cópia local.
"""

import argparse
import ast
import os
import pathlib
import re
import sys
import textwrap

import jupytext
import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAIDA = ROOT / "notebooks"

# Só servem para abrir o notebook (o Colab tem os seus).
SO_JUPYTER = {"ipykernel", "jupytext"}

ALVO_MYST = re.compile(r"^\(([\w-]+)\)=\s*$", re.M)
TERMO = re.compile(r"\{term\}`([^`<]*?)(?:<[^`>]*>)?`")
LITERALINCLUDE = re.compile(r"^(`{3,}|:{3,})\{literalinclude\}[ \t]+(\S+)[ \t]*\n"  # abertura e arquivo
                            r"((?::[\w-]+:[^\n]*\n)*)(.*?)^\1[ \t]*$", re.M | re.S)  # opções, fecho


def _config():
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def github(config=None):
    """``(dono, repositório, ramo)`` a partir de ``repository`` em ``_config.yml``."""
    repo = (config or _config())["repository"]
    url = repo["url"].rstrip("/").removesuffix(".git")
    m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", url)
    if not m:
        raise SystemExit(f"repository.url deve ser um endereço do GitHub, recebi {url!r}")
    return m.group(1), m.group(2), repo.get("branch", "main")


def pacote_padrao(config=None):
    dono, nome, ramo = github(config)
    return f"livro @ git+https://github.com/{dono}/{nome}@{ramo}#subdirectory=code"


def capitulos(toc_path=ROOT / "_toc.yml"):
    """Capítulos executáveis do sumário, na ordem: caminhos ``book/….md`` com ``kernelspec``."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({"file": toc["root"]})
    walk(toc.get("parts", toc.get("chapters", [])))
    found = []
    for name in files:
        path = ROOT / (name if name.endswith(".md") else name + ".md")
        if not path.is_file():
            continue
        head = path.read_text(encoding="utf-8").split("\n---", 1)[0]
        if head.startswith("---") and "kernelspec:" in head:
            found.append(path)
    return found


def extras(binder=ROOT / "binder" / "requirements.txt"):
    """Pacotes de ``binder/requirements.txt`` que a célula instala além do ``livro``, sem versão.

    Sem versão, o pip só instala o que falta: a célula nunca troca o PyTorch com CUDA, o NumPy ou o
    pandas que o Colab já traz (trocá-los exigiria reiniciar o ambiente de execução; o mlxtend
    fixado, por exemplo, pediria um NumPy mais novo que o do Colab).
    """
    out = []
    for line in binder.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(("-", ".", "/")):
            continue
        name = re.split(r"[=<>!~\[ ;]", line, maxsplit=1)[0]
        if name.lower().replace("_", "-") not in SO_JUPYTER:
            out.append(name)
    return out


def celula_instalacao(pacote, extra):
    pacotes = " ".join(f'"{p}"' if " " in p else p for p in [pacote, *extra])
    return (
        "# Primeira célula: prepara o ambiente (Colab ou outro Jupyter) para este capítulo.\n"
        "# Sem o pacote `livro`, instala-o do repositório do livro, com os pacotes que os capítulos\n"
        "# usam e que faltarem; os que o ambiente já traz (no Colab, o PyTorch com GPU, o NumPy, o\n"
        "# scikit-learn…) ficam como estão. No Binder, o `livro` já vem instalado.\n"
        "# Os dados vêm de `livro.data`: o Fashion-MNIST é baixado na primeira vez que um capítulo\n"
        "# o pede (o Colab tem internet) e fica no cache do usuário. O código usa a GPU quando o\n"
        "# ambiente de execução tem uma, e a CPU quando não tem, sem mudar uma linha.\n"
        "import importlib.util\n"
        "\n"
        "if importlib.util.find_spec(\"livro\") is None:\n"
        f"    %pip install -q {pacotes}"
    )


def _pyobject(path, name):
    """Código-fonte de ``name`` (função, classe ou ``Classe.método``) no arquivo ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    body = ast.parse("\n".join(lines)).body
    node = None
    for part in name.split("."):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name == part), None)
        if node is None:
            raise SystemExit(f"{path}: {name} não encontrado (literalinclude :pyobject:)")
        body = node.body
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return textwrap.dedent("\n".join(lines[start - 1:node.end_lineno]))


def _literalincludes(text, folder):
    """Troca cada ``{literalinclude}`` com ``:pyobject:`` pelo código, num bloco Python."""

    def replace(m):
        path = (folder / m.group(2)).resolve()
        options = dict(re.findall(r"^:([\w-]+):[ \t]*([^\n]*)$", m.group(3), re.M))
        rel = path.relative_to(ROOT).as_posix()
        if "pyobject" in options:
            code, title = _pyobject(path, options["pyobject"]), f"{rel}: {options['pyobject']}"
        else:
            code, title = path.read_text(encoding="utf-8").rstrip("\n"), rel
        return f"```python\n# {title}\n{code}\n```"

    return LITERALINCLUDE.sub(replace, text)


def _limpa_markdown(text, folder):
    """Ajusta o MyST para o Colab: sem alvos ``(cap-x)=``, termos como texto, código incluído."""
    text = ALVO_MYST.sub("", text)
    text = TERMO.sub(lambda m: m.group(1).strip(), text)
    return _literalincludes(text, folder).strip("\n")


def notebook(chapter, pacote, extra):
    nb = jupytext.read(chapter)
    cells = [nbformat.v4.new_code_cell(celula_instalacao(pacote, extra))]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = _limpa_markdown(cell.source, pathlib.Path(chapter).parent)
            if text:
                cells.append(nbformat.v4.new_markdown_cell(text, metadata=dict(cell.metadata)))
        elif cell.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata=dict(cell.metadata)))
        else:
            cells.append(nbformat.v4.new_raw_cell(cell.source, metadata=dict(cell.metadata)))
    for i, cell in enumerate(cells):
        cell["id"] = f"celula-{i:03d}"
        if cell.cell_type == "code":
            cell["outputs"], cell["execution_count"] = [], None
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": []},
    }
    nbformat.validate(out)
    return nbformat.writes(out) + "\n"


def gera(saida=SAIDA, pacote=None):
    """Escreve um notebook por capítulo em ``saida`` e devolve ``{nome: texto}``."""
    pacote = pacote or os.environ.get("LIVRO_NOTEBOOK_PACOTE") or pacote_padrao()
    extra = extras()
    saida = pathlib.Path(saida)
    saida.mkdir(parents=True, exist_ok=True)
    textos = {}
    for chapter in capitulos():
        name = chapter.stem + ".ipynb"
        textos[name] = notebook(chapter, pacote, extra)
    for old in saida.glob("*.ipynb"):
        if old.name not in textos:
            old.unlink()
    for name, text in textos.items():
        target = saida / name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return textos


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--saida", default=str(SAIDA), help="pasta dos notebooks (padrão: notebooks/)")
    ap.add_argument("--pacote", default=None,
                    help="o que a primeira célula instala no lugar do livro do GitHub "
                         "(padrão: LIVRO_NOTEBOOK_PACOTE ou repository.url de _config.yml)")
    args = ap.parse_args(argv)
    textos = gera(args.saida, args.pacote)
    print(f"{len(textos)} notebooks em {args.saida}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
