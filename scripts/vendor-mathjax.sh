#!/usr/bin/env bash
# Traz o MathJax 3 do registro npm para _vendor/, uma vez, na preparação (nunca durante o build).
set -euo pipefail
version=3.2.2
dest=_vendor/static/mathjax
if [ -f "$dest/tex-chtml.js" ] && [ "$(cat "$dest/.versao" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "mathjax@$version" --silent >/dev/null)
tar -xzf "$tmp"/mathjax-*.tgz -C "$tmp"
mkdir -p _vendor/static
rm -rf "$dest"
cp -r "$tmp/package/es5" "$dest"
echo "$version" > "$dest/.versao"
echo "MathJax $version copiado para $dest"
