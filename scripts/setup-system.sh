#!/usr/bin/env bash
# Instala, com apt-get, os pacotes do sistema que a construção do livro usa e que faltam.
set -euo pipefail

packages=(
  latexmk texlive-latex-extra texlive-lang-portuguese texlive-xetex texlive-fonts-recommended
  texlive-fonts-extra fonts-freefont-otf fonts-dejavu-core xindy       # PDF via xelatex
  dataset-fashion-mnist                              # Fashion-MNIST sem internet
  chromium poppler-utils                             # testes no navegador e do PDF
  hunspell hunspell-pt-br hunspell-en-us             # verificação ortográfica (tests/test_texto.py)
)
command -v npm >/dev/null 2>&1 || packages+=(npm)   # para trazer o MathJax para o site

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "Faltam pacotes do sistema: ${missing[*]}" >&2
  echo "Instale-os como administrador e rode de novo:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "Instalando pacotes do sistema: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
