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
# O glossário entra inteiro, e os outros arquivos do sumário entram como esboços (só os rótulos
# e os títulos, sem código): assim os {term} e os {ref} para outros capítulos se resolvem, com o
# título verdadeiro, sem executar o livro todo. Os esboços ficam em _esbocos/ (ignorado pelo git)
# e somem no fim.
stubs=_esbocos/$name
rm -rf "$stubs"
trap 'rm -rf "$stubs"' EXIT
.venv/bin/python scripts/esbocos.py "$chapter" "$stubs" >> "$toc"
.venv/bin/python scripts/invalidate_stale.py --cache "$out/_build/.jupyter_cache" >/dev/null
# ambiente do Sphinx sempre novo (a execução continua no cache): uma construção incremental
# guarda, por exemplo, a bibliografia antiga e falha com uma chave nova de referencias.bib
rm -rf "$out/_build/.doctrees"
export LIVRO_OFFLINE=1 LIVRO_BUILD=1
# cache próprio do torch.compile: o padrão, em /tmp, é dividido por todos os processos da máquina,
# e um .so pela metade deixado por uma compilação interrompida derruba as seguintes
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-$PWD/$out/_build/torchinductor}
# como o Makefile: com o ambiente do Binder preparado (make setup), o kernel roda nele
if [ -f .venv-binder/kernel/kernels/python3/kernel.json ]; then export JUPYTER_PATH=$PWD/.venv-binder/kernel; fi
start=$(date +%s)
.venv/bin/jupyter-book build . --toc "$toc" --path-output "$out" --builder html -n -W --keep-going
echo "capítulo $name construído em $(( $(date +%s) - start )) s: $out/_build/html"
