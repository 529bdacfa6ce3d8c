"""Saídas velhas: uma mudança no pacote precisa reexecutar os capítulos que dependem dele.

Monta um livro mínimo numa pasta temporária, com um pacote de brinquedo
(``pacote_teste``) e dois capítulos: um importa ``valor``, o outro só
``outro``. Mostra primeiro que o jupyter-cache sozinho deixa a saída velha, e
depois que ``scripts/invalidate_stale.py`` descarta exatamente a execução do
capítulo afetado.
"""

import os
import pathlib
import subprocess
import sys
import textwrap

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "invalidate_stale.py"
JB = pathlib.Path(sys.executable).parent / "jupyter-book"

CHAPTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# {title}

```{{code-cell}} ipython3
from pacote_teste import {module}
print("SAIDA", {module}.f())
```
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def make_book(tmp):
    write(tmp / "_config.yml", """\
        title: teste
        only_build_toc_files: true
        execute:
          execute_notebooks: cache
          raise_on_error: true
        """)
    write(tmp / "_toc.yml", """\
        format: jb-book
        root: book/intro
        chapters:
          - file: book/cap_a
          - file: book/cap_b
        """)
    write(tmp / "book" / "intro.md", "# Início\n")
    (tmp / "book" / "cap_a.md").write_text(CHAPTER.format(title="A", module="valor"))
    (tmp / "book" / "cap_b.md").write_text(CHAPTER.format(title="B", module="outro"))
    write(tmp / "pkg" / "pacote_teste" / "__init__.py", "")
    write(tmp / "pkg" / "pacote_teste" / "valor.py", "def f():\n    return 'um'\n")
    write(tmp / "pkg" / "pacote_teste" / "outro.py", "def f():\n    return 'fixo'\n")
    write(tmp / "requirements.txt", "numpy\n")


def build(tmp, log=None):
    env = dict(os.environ, PYTHONPATH=str(tmp / "pkg"))
    result = subprocess.run([str(JB), "build", str(tmp), "--builder", "html"], check=True, env=env,
                            capture_output=True, text=True)
    if log is not None:
        log.append(result.stdout + result.stderr)
    return {name: (tmp / "_build" / "html" / "book" / f"{name}.html").read_text()
            for name in ("cap_a", "cap_b")}


def invalidate(tmp):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--book", str(tmp / "book"), "--package", str(tmp / "pkg" / "pacote_teste"),
         "--cache", str(tmp / "_build" / ".jupyter_cache"), "--extra", str(tmp / "requirements.txt")],
        check=True, capture_output=True, text=True)
    return result.stdout


def test_package_change_reexecutes_only_dependent_chapter(tmp_path):
    make_book(tmp_path)
    invalidate(tmp_path)
    pages = build(tmp_path)
    assert "SAIDA um" in pages["cap_a"] and "SAIDA fixo" in pages["cap_b"]

    # muda a saída de uma função do pacote: sem a invalidação, a página fica velha
    (tmp_path / "pkg" / "pacote_teste" / "valor.py").write_text("def f():\n    return 'dois'\n")
    pages = build(tmp_path)
    assert "SAIDA um" in pages["cap_a"], "o jupyter-cache sozinho deveria manter a saída velha"

    # com a invalidação, só o capítulo que importa ``valor`` é descartado e reexecutado
    log = invalidate(tmp_path)
    assert "invalidado: cap_a.md" in log and "cap_b.md" not in log
    pages = build(tmp_path)
    assert "SAIDA dois" in pages["cap_a"] and "SAIDA fixo" in pages["cap_b"]

    # nada mudou: nada é descartado
    assert "0 execução(ões) descartada(s)" in invalidate(tmp_path)

    # só um parágrafo mudou: a página muda, nenhum notebook é reexecutado
    chapter = tmp_path / "book" / "cap_b.md"
    chapter.write_text(chapter.read_text() + "\nUm parágrafo novo.\n")
    assert "0 execução(ões) descartada(s)" in invalidate(tmp_path)
    log = []
    pages = build(tmp_path, log)
    assert "Um parágrafo novo." in pages["cap_b"] and "SAIDA fixo" in pages["cap_b"]
    assert "Executing notebook" not in log[0] and "Using cached notebook" in log[0]

    # requirements.txt muda: todos os capítulos são descartados
    (tmp_path / "requirements.txt").write_text("numpy\nscipy\n")
    log = invalidate(tmp_path)
    assert "invalidado: cap_a.md" in log and "invalidado: cap_b.md" in log


def test_dependencies_follow_internal_imports(tmp_path):
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import invalidate_stale as inv
    finally:
        sys.path.pop(0)
    pkg = tmp_path / "livro"
    write(pkg / "__init__.py", "")
    write(pkg / "a.py", "from . import b\n")
    write(pkg / "b.py", "from .c import x\n")
    write(pkg / "c.py", "x = 1\n")
    write(pkg / "d.py", "y = 2\n")
    deps = inv.dependencies("import livro\nfrom livro import a, fmt\n", pkg, "livro")
    assert [p.name for p in deps] == ["__init__.py", "a.py", "b.py", "c.py"]
    assert [p.name for p in inv.dependencies("from livro.d import y\n", pkg, "livro")] == ["__init__.py", "d.py"]
