#!/usr/bin/env python3
"""Verifica a ortografia da prosa do livro com o hunspell (pt_BR, e en_US no itálico).

Confere o texto corrido, os títulos, as legendas e os textos alternativos de cada capítulo do
sumário (`_toc.yml`) e do glossário; o que fica de fora (código, matemática, alvos de papéis,
rótulos, URLs…) está descrito em `scripts/texto_myst.py`.

Termos em inglês vão em itálico neste livro. Por isso:
- as palavras em itálico (``*…*``) são conferidas com en_US + pt_BR + a lista do projeto;
- as demais, só com pt_BR + a lista do projeto: uma palavra inglesa sem itálico é apontada.

A lista do projeto, `ortografia/palavras.txt`, tem uma palavra por linha (nomes próprios,
siglas, nomes de bibliotecas e de modelos, termos técnicos usados sem itálico). Uma entrada
toda em minúsculas aceita também a forma com maiúscula inicial ou toda em maiúsculas; uma
entrada com maiúsculas só aceita a mesma grafia (ou toda em maiúsculas). Uma entrada entre
asteriscos (``*overfitting*``) é um termo inglês que o en_US não conhece e só vale em itálico.

Saída: ``arquivo:linha: palavra`` para cada palavra desconhecida; código de saída 1 se
houver alguma. Precisa do hunspell e dos dicionários (pacotes Debian `hunspell`,
`hunspell-pt-br`, `hunspell-en-us`; `make setup` os instala).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import texto_myst  # noqa: E402

PALAVRAS = texto_myst.RAIZ / "ortografia" / "palavras.txt"
_TOKEN = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def carrega_lista(caminho: Path = PALAVRAS) -> set[str]:
    """As palavras da lista do projeto (linhas vazias e comentários ``#`` ignorados)."""
    if not caminho.exists():
        return set()
    palavras = set()
    for linha in caminho.read_text(encoding="utf-8").splitlines():
        linha = linha.strip()
        if linha and not linha.startswith("#"):
            palavras.add(linha)
    return palavras


def na_lista(palavra: str, lista: set[str], italico: bool = False) -> bool:
    """Se a palavra está na lista; as entradas ``*assim*`` só valem no itálico."""
    if italico and na_lista(palavra, {p[1:-1] for p in lista if p.startswith("*") and p.endswith("*")}):
        return True
    lista = {p for p in lista if not p.startswith("*")}
    if palavra in lista or palavra.upper() == palavra and any(p.upper() == palavra for p in lista):
        return True
    minuscula = palavra.lower()
    if minuscula in lista and palavra in (minuscula, minuscula.capitalize(), minuscula.upper()):
        return True
    return False


def _hunspell(dicionarios: str, palavras: list[str]) -> dict[str, list[str]]:
    """As palavras (das dadas) que o hunspell não reconhece, com as partes que ele apontou.

    Uma palavra com hífen ou apóstrofo pode ter só uma parte apontada (``log`` em
    ``log-verossimilhança``).
    """
    if not palavras:
        return {}
    if shutil.which("hunspell") is None:
        sys.exit("verifica_ortografia: o hunspell não está instalado (rode `make setup` ou "
                 "`apt-get install hunspell hunspell-pt-br hunspell-en-us`).")
    r = subprocess.run(["hunspell", "-l", "-i", "utf-8", "-d", dicionarios],
                       input="\n".join(palavras) + "\n", capture_output=True, text=True,
                       check=False)
    if r.returncode != 0 or "Can't open affix or dic" in r.stderr:
        sys.exit(f"verifica_ortografia: o hunspell falhou com os dicionários {dicionarios}:\n"
                 f"{r.stderr.strip()}")
    apontadas = set(r.stdout.split())
    erradas = {}
    for p in palavras:
        partes = [p] if p in apontadas else [q for q in re.split(r"['’-]", p) if q in apontadas]
        if partes:
            erradas[p] = partes
    return erradas


def tokens(arquivos: list[Path]):
    """Gera (arquivo, linha, palavra, em_italico) para cada palavra da prosa."""
    for arquivo in arquivos:
        for bloco in texto_myst.ler_blocos(arquivo):
            for num, texto, italico in zip(bloco.numeros, bloco.mascaradas, bloco.italico):
                for m in _TOKEN.finditer(texto):
                    partes = [p for p in re.split(r"['’-]", m.group()) if p]
                    if any(ch.isdigit() for ch in m.group()):
                        # nomes como ResNet-18 ou float32: só as partes sem dígitos
                        for p in partes:
                            if p.isalpha() and len(p) > 1:
                                yield arquivo, num, p, italico[m.start()]
                        continue
                    yield arquivo, num, m.group(), italico[m.start()]


def verifica(arquivos: list[Path], lista: set[str] | None = None) -> list[tuple[Path, int, str]]:
    """Devolve (arquivo, linha, palavra) de cada palavra desconhecida, na ordem do texto."""
    lista = carrega_lista() if lista is None else lista
    todos = list(tokens(arquivos))
    normais = sorted({p for _, _, p, it in todos if not it and not na_lista(p, lista)})
    italicas = sorted({p for _, _, p, it in todos if it and not na_lista(p, lista, True)})
    erradas = {}
    for it, dicionarios, palavras in ((False, "pt_BR", normais), (True, "en_US,pt_BR", italicas)):
        erradas[it] = {p for p, partes in _hunspell(dicionarios, palavras).items()
                       if not all(na_lista(q, lista, it) for q in partes)}
    achados, vistos = [], set()
    for arquivo, num, palavra, it in todos:
        if palavra in erradas[it] and (arquivo, num, palavra) not in vistos:
            vistos.add((arquivo, num, palavra))
            achados.append((arquivo, num, palavra))
    return achados


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Confere a ortografia da prosa do livro com o hunspell: pt_BR fora do "
        "itálico, en_US + pt_BR no itálico, mais a lista ortografia/palavras.txt. Sem "
        "arquivos, confere todos os do _toc.yml e o glossário.",
        epilog="Saída: 'arquivo:linha: palavra'; código 1 se houver palavra desconhecida. "
        "Corrija a grafia, ponha o termo inglês em itálico, ou (nomes próprios, siglas, "
        "termos técnicos usados sem itálico) acrescente-o a ortografia/palavras.txt, "
        "mantendo a ordem.",
    )
    ap.add_argument("arquivos", nargs="*", type=Path, help="capítulos .md a conferir")
    ap.add_argument("--resumo", action="store_true",
                    help="imprime também o número de palavras desconhecidas por arquivo")
    ap.add_argument("--unicas", action="store_true",
                    help="lista cada palavra desconhecida uma vez, com o número de ocorrências")
    args = ap.parse_args(argv)
    arquivos = args.arquivos or texto_myst.arquivos_do_livro()
    for a in arquivos:
        if not a.exists():
            ap.error(f"arquivo inexistente: {a}")
    achados = verifica(arquivos)
    if args.unicas:
        for palavra, n in sorted(Counter(p for _, _, p in achados).items()):
            print(f"{n:4d} {palavra}")
    else:
        for arquivo, num, palavra in achados:
            print(f"{texto_myst.relativo(arquivo)}:{num}: {palavra}")
    return texto_myst.relata(achados, arquivos, args.resumo, "palavra(s) desconhecida(s).")


if __name__ == "__main__":
    sys.exit(main())
