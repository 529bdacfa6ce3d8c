#!/usr/bin/env python3
"""Esboços dos outros arquivos do sumário, para construir um capítulo isolado (build_chapter.sh).

Uso: esbocos.py CAPITULO PASTA. Para cada arquivo de `_toc.yml` que não é o capítulo nem as
referências, escreve em PASTA um Markdown só com os seus rótulos ``(x)=`` e os títulos que eles
marcam (o primeiro como título do documento, os demais um nível abaixo), e imprime as linhas do
sumário que os incluem. O glossário entra inteiro: os ``{term}`` do capítulo apontam para ele.
"""

import re
import sys
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
ROTULO = re.compile(r"^\(([^()\s]+)\)=\s*$")
TITULO = re.compile(r"^(#+)\s+(.*\S)\s*$")


def esboco(texto: str) -> str:
    linhas = texto.split("\n")
    saida, cerca = [], None  # cerca: a cerca do bloco de código aberto (```` ``` ````, ``~~~``)
    for i, linha in enumerate(linhas):
        m_cerca = re.match(r"^\s*(`{3,}|~{3,})", linha)
        if m_cerca:
            if cerca is None:
                cerca = m_cerca.group(1)
            elif linha.strip() == cerca[0] * len(linha.strip()) and len(linha.strip()) >= len(cerca):
                cerca = None
            continue
        m = TITULO.match(linha)
        if cerca is not None or not m:
            continue
        rotulo = linhas[i - 1] if i > 0 and ROTULO.match(linhas[i - 1]) else None
        if saida and rotulo is None:
            continue
        nivel = "#" if not saida else "##"
        saida += ([rotulo] if rotulo else []) + [f"{nivel} {m.group(2)}", ""]
    return "\n".join(saida) + "\n"


def main(capitulo: str, pasta: str) -> None:
    capitulo_p = (RAIZ / capitulo).resolve()
    toc = (RAIZ / "_toc.yml").read_text(encoding="utf-8")
    nomes = re.findall(r"^\s*(?:root|-\s*file)\s*:\s*(\S+)\s*$", toc, re.M)
    destino = RAIZ / pasta
    for nome in nomes:
        arquivo = (RAIZ / nome).with_suffix(".md").resolve()
        if arquivo == capitulo_p or nome.endswith("apendices/referencias"):
            continue
        if nome.endswith("apendices/glossario"):
            print(f"      - file: {nome}")
            continue
        alvo = destino / Path(nome).with_suffix(".md")
        alvo.parent.mkdir(parents=True, exist_ok=True)
        alvo.write_text(esboco(arquivo.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"      - file: {(Path(pasta) / nome).as_posix()}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
