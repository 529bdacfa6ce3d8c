#!/usr/bin/env python3
"""Aponta números escritos à mão na prosa do livro (todo resultado deve vir de um `{glue:*}`).

Confere o texto corrido, os títulos, as legendas e os textos alternativos de cada capítulo do
sumário (`_toc.yml`) e do glossário; ficam de fora o código, a matemática (``$…$``,
``$$…$$``, ``{math}``), os papéis (o `{glue:text}` inclusive), os rótulos, as opções das
diretivas e os URLs (ver `scripts/texto_myst.py`). Um número é uma sequência de algarismos,
com vírgula decimal ou separador de milhar (``0,93``, ``60.000``, ``3 000``).

Só os números que não são resultados podem ficar escritos:

1. os que casam com uma expressão regular de `ortografia/numeros-permitidos.txt` (anos,
   capítulos e seções de outras obras, nomes como ResNet-18 ou float32…), cada uma com o seu
   motivo;
2. os marcados, um a um, por um comentário MyST na linha (ou linhas) antes do parágrafo:

       % numero-permitido: 3×3 — o núcleo que a definição usa

   O trecho antes do travessão (``—``) é procurado no parágrafo seguinte (ou na legenda
   seguinte; numa célula de código o marcador é um comentário YAML, ``# numero-permitido:``,
   antes de ``caption:``/``alt:``); os números dentro dele ficam permitidos. Um marcador sem
   motivo, ou cujo trecho não aparece, é um erro. Um comentário ``%`` separa parágrafos no
   MyST: ponha o marcador antes do parágrafo, nunca no meio dele.

Saída: ``arquivo:linha: número — contexto``; código de saída 1 se houver algum.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import texto_myst  # noqa: E402

PERMITIDOS = texto_myst.RAIZ / "ortografia" / "numeros-permitidos.txt"
MARCADOR = "numero-permitido"
_NUMERO = re.compile(r"\d+(?:(?:[.,]|[ \u00a0\u2009\u202f](?=\d{3}(?!\d)))\d+)*")
_MOTIVO = re.compile(r"\s+(?:—|--)\s+")


@dataclass
class Permitido:
    regex: re.Pattern
    motivo: str


def carrega_permitidos(caminho: Path = PERMITIDOS) -> list[Permitido]:
    """Lê as expressões regulares permitidas: ``REGEX  ## motivo`` por linha."""
    if not caminho.exists():
        return []
    regras = []
    for n, linha in enumerate(caminho.read_text(encoding="utf-8").splitlines(), 1):
        if not linha.strip() or linha.lstrip().startswith("#"):
            continue
        expr, sep, motivo = linha.partition(" ## ")
        if not sep or not motivo.strip():
            raise ValueError(f"{caminho}:{n}: falta o motivo (' ## motivo') da regra {linha!r}")
        try:
            regras.append(Permitido(re.compile(expr.strip()), motivo.strip()))
        except re.error as e:
            raise ValueError(f"{caminho}:{n}: expressão regular inválida {expr!r}: {e}") from e
    return regras


def _contexto(linha: str, ini: int, fim: int, largura: int = 30) -> str:
    a, b = max(0, ini - largura), min(len(linha), fim + largura)
    return ("…" if a > 0 else "") + linha[a:b].strip() + ("…" if b < len(linha) else "")


def verifica(arquivos: list[Path], regras: list[Permitido] | None = None):
    """Devolve (arquivo, linha, número, contexto) de cada número não permitido.

    Marcadores sem motivo ou sem uso aparecem com o número ``marcador``.
    """
    regras = carrega_permitidos() if regras is None else regras
    achados = []
    for arquivo in arquivos:
        for bloco in texto_myst.ler_blocos(arquivo):
            texto = "\n".join(bloco.mascaradas)
            original = "\n".join(bloco.originais)
            inicios, pos = [], 0
            for linha in bloco.mascaradas:
                inicios.append(pos)
                pos += len(linha) + 1
            livres = []
            for r in regras:
                livres += [(m.start(), m.end()) for m in r.regex.finditer(texto)]
            for n_marc, nome, conteudo in bloco.marcadores:
                if nome != MARCADOR:
                    continue
                partes = _MOTIVO.split(conteudo, maxsplit=1)
                trecho = partes[0].strip()
                if len(partes) < 2 or not partes[1].strip() or not trecho:
                    achados.append((arquivo, n_marc, "marcador",
                                    "falta 'trecho — motivo' no numero-permitido"))
                    continue
                achou = [(m.start(), m.end()) for m in re.finditer(re.escape(trecho), original)]
                if not achou:
                    achados.append((arquivo, n_marc, "marcador",
                                    f"o trecho {trecho!r} não aparece no parágrafo seguinte"))
                livres += achou
            for m in _NUMERO.finditer(texto):
                if any(a <= m.start() and m.end() <= b for a, b in livres):
                    continue
                k = max(i for i, p in enumerate(inicios) if p <= m.start())
                ini = m.start() - inicios[k]
                achados.append((arquivo, bloco.numeros[k], m.group(),
                                _contexto(bloco.originais[k], ini, ini + len(m.group()))))
    return achados


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Aponta números escritos à mão na prosa, títulos, legendas e textos "
        "alternativos (fora de {glue:*}, da matemática e do código). Sem arquivos, confere "
        "todos os do _toc.yml e o glossário.",
        epilog="Saída: 'arquivo:linha: número — contexto'; código 1 se houver algum. Corrija "
        "colando o número do código (glue(\"capN-…\", fmt.num(x, 2), display=False) e "
        "{glue:text}`capN-…`); um número que não é resultado (parte de um nome, de uma "
        "fórmula, de uma definição) fica com um marcador '% numero-permitido: trecho — "
        "motivo' na linha antes do parágrafo. As regras gerais estão em "
        "ortografia/numeros-permitidos.txt.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("arquivos", nargs="*", type=Path, help="capítulos .md a conferir")
    ap.add_argument("--resumo", action="store_true",
                    help="imprime também o número de achados por arquivo")
    args = ap.parse_args(argv)
    arquivos = args.arquivos or texto_myst.arquivos_do_livro()
    for a in arquivos:
        if not a.exists():
            ap.error(f"arquivo inexistente: {a}")
    achados = verifica(arquivos)
    for arquivo, num, numero, contexto in achados:
        print(f"{texto_myst.relativo(arquivo)}:{num}: {numero} — {contexto}")
    return texto_myst.relata(achados, arquivos, args.resumo, "número(s) fora de glue.")


if __name__ == "__main__":
    sys.exit(main())
