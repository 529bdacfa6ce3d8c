#!/usr/bin/env python3
"""Confere que cada capítulo em book/ é um notebook MyST válido (usado pelo pre-commit e nos testes).

Para cada arquivo: o jupytext o lê como notebook, o nbformat o valida, o
kernel é ``python3`` e, se existir um ``.ipynb`` pareado ao lado, o código
das células é o mesmo nos dois (os dois estão sincronizados).
"""

import pathlib
import sys

import jupytext
import nbformat


def check(path):
    problems = []
    nb = jupytext.read(path)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        problems.append(f"notebook inválido: {error.message}")
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("o kernelspec deve ser python3")
    paired = path.with_suffix(".ipynb")
    if paired.exists():
        other = nbformat.read(paired, 4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        if code != [c.source for c in other.cells if c.cell_type == "code"]:
            problems.append(f"{paired.name} não está sincronizado (rode jupytext --sync {path})")
    return problems


def main(paths):
    if not paths:
        paths = [p for p in pathlib.Path("book").rglob("*.md") if "kernelspec:" in p.read_text()[:500]]
    failed = False
    for p in map(pathlib.Path, paths):
        if "kernelspec:" not in p.read_text(encoding="utf-8")[:500]:
            continue
        for problem in check(p):
            failed = True
            print(f"{p}: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
