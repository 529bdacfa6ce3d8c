#!/usr/bin/env bash
# Constrói UM capítulo, isolado, com as mesmas regras estritas do livro (-n -W).
# Uso: bash scripts/build_chapter.sh book/01-verossimilhanca.md
# Saída em _build/capitulos/<nome>/_build/html; cache de execução próprio.
set -euo pipefail
cd "$(dirname "$0")/.."
chapter=${1:?uso: bash scripts/build_chapter.sh book/NN-nome.md}
[ -f "$chapter" ] || { echo "capítulo não encontrado: $chapter" >&2; exit 1; }
name=$(basename "$chapter" .md)
out=_build/capitulos/$name
mkdir -p "$out" _build/extra
toc=$out/_toc.yml
printf 'format: jb-book\nroot: %s\nparts:\n  - caption: Capítulo\n    chapters:\n      - file: book/apendices/referencias\n' \
  "${chapter%.md}" > "$toc"
.venv/bin/python scripts/invalidate_stale.py --cache "$out/_build/.jupyter_cache" >/dev/null
# ligações para outros capítulos e para o glossário viram texto (ver book/_ext/livro_ext.py)
export LIVRO_OFFLINE=1 LIVRO_BUILD=1 LIVRO_CAPITULO_ISOLADO=1
start=$(date +%s)
.venv/bin/jupyter-book build . --toc "$toc" --path-output "$out" --builder html -n -W --keep-going
echo "capítulo $name construído em $(( $(date +%s) - start )) s: $out/_build/html"
