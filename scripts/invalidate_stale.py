#!/usr/bin/env python3
"""Descarta do jupyter-cache as execuções de capítulos cujo código do pacote mudou.

O jupyter-cache identifica um notebook só pelo código das suas células: se uma
função do pacote ``livro`` muda, o capítulo que a usa não muda, e a saída
guardada ficaria velha. Este script roda antes de cada construção. Para cada
capítulo, ele descobre quais módulos do pacote o capítulo importa (e, por
transitividade, o que esses módulos importam), calcula uma impressão digital
desses arquivos, de ``requirements.txt`` e de ``pyproject.toml`` e a compara
com a da construção anterior; se mudou, remove do cache as execuções daquele
capítulo e atualiza a data do arquivo, para que o Sphinx o releia e o execute de novo.

Uso: python scripts/invalidate_stale.py [--book book] [--package code/livro]
       [--cache _build/.jupyter_cache] [--extra requirements.txt binder/requirements.txt code/pyproject.toml]
"""

import argparse
import hashlib
import json
import pathlib
import re
import sys

STAMP = "livro-dependencias.json"


NAMES = r"(?:\(([^)]*)\)|([\w \t,]+))"  # lista entre parênteses (várias linhas) ou numa linha só


def _names(match_parens, match_line):
    text = match_parens if match_parens is not None else match_line
    return {w.strip().split(" as ")[0].strip() for w in text.replace("\n", ",").split(",") if w.strip()}


def module_imports(text, name):
    """Módulos do pacote ``name`` citados em ``text`` (código de um capítulo ou módulo)."""
    found = set()
    for m in re.finditer(rf"^\s*from\s+{name}(?:\.(\w+))?\s+import\s+{NAMES}", text, re.M):
        found.update({m.group(1)} if m.group(1) else _names(m.group(2), m.group(3)))
    for m in re.finditer(rf"^\s*import\s+{name}\.(\w+)", text, re.M):
        found.add(m.group(1))
    for m in re.finditer(rf"^\s*from\s+\.(\w*)\s+import\s+{NAMES}", text, re.M):
        found.update({m.group(1)} if m.group(1) else _names(m.group(2), m.group(3)))
    return found


def dependencies(text, package, name):
    """Arquivos do pacote dos quais um código depende: ``__init__`` mais o fecho das importações."""
    modules = {p.stem: p for p in package.glob("*.py")}
    deps = {"__init__"}
    todo = [m for m in module_imports(text, name) if m in modules]
    todo.append("__init__")
    while todo:
        mod = todo.pop()
        if mod in deps and mod != "__init__":
            continue
        deps.add(mod)
        inner = module_imports(modules[mod].read_text(encoding="utf-8"), name)
        todo.extend(m for m in inner if m in modules and m not in deps)
    return sorted(modules[m] for m in deps if m in modules)


def fingerprint(paths):
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def chapters(book):
    """Capítulos executáveis: arquivos .md do livro com ``kernelspec`` no cabeçalho."""
    for path in sorted(book.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        if text.startswith("---") and "kernelspec:" in text.split("\n---", 2)[0]:
            yield path.resolve(), text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--book", default="book")
    ap.add_argument("--package", default="code/livro")
    ap.add_argument("--name", default=None, help="nome de importação do pacote (padrão: nome da pasta)")
    ap.add_argument("--cache", default="_build/.jupyter_cache")
    ap.add_argument("--extra", nargs="*",
                    default=["requirements.txt", "binder/requirements.txt", "code/pyproject.toml"])
    args = ap.parse_args(argv)

    book, package = pathlib.Path(args.book), pathlib.Path(args.package)
    name = args.name or package.name
    cache_path = pathlib.Path(args.cache)
    if not package.is_dir():
        sys.exit(f"erro: a pasta do pacote {package} não existe")
    extras = [pathlib.Path(p) for p in args.extra if pathlib.Path(p).is_file()]
    stamp_path = cache_path / STAMP
    old = json.loads(stamp_path.read_text()) if stamp_path.is_file() else {}
    new = {str(path): fingerprint(dependencies(text, package, name) + extras)
           for path, text in chapters(book)}
    stale = [path for path, fp in new.items() if old.get(path) != fp]

    removed = 0
    if stale and (cache_path / "global.db").is_file():
        from jupyter_cache import get_cache

        cache = get_cache(str(cache_path))
        for record in cache.list_cache_records():
            if record.uri in stale:
                cache.remove_cache(record.pk)
                removed += 1
                print(f"invalidado: {pathlib.Path(record.uri).name} (o código de que depende mudou)")
    for path in stale:
        # o Sphinx só relê um documento cuja data de modificação mudou
        pathlib.Path(path).touch()
    cache_path.mkdir(parents=True, exist_ok=True)
    stamp_path.write_text(json.dumps(new, indent=1, sort_keys=True))
    print(f"dependências conferidas: {len(new)} capítulo(s), {removed} execução(ões) descartada(s)")


if __name__ == "__main__":
    main()
