"""Extrai o texto corrido (a prosa) dos capítulos MyST, para os verificadores do livro.

Usado por `verifica_ortografia.py` e `verifica_numeros.py`. O que conta como prosa:
parágrafos, títulos, listas, tabelas, o conteúdo das diretivas de texto (notas,
exercícios, soluções, glossário, `prf:*`), o título de uma `admonition`, as legendas
(`caption`) e os textos alternativos (`alt`) das figuras, nas opções de uma diretiva ou nos
metadados de uma célula de código, e o texto visível de um `{term}`/`{ref}`/`{doc}` escrito
como ``{term}`texto <alvo>` ``.

O que fica de fora: o cabeçalho (front matter), o código das células e dos blocos cercados,
`literalinclude`, o código em linha, a matemática (``$…$``, ``$$…$$``, ``{math}``,
``\\begin{…}``), os alvos dos papéis (`{ref}`, `{numref}`, `{eq}`, `{cite:*}`, as chaves de
`{glue:*}`, o alvo de um `{term}`), os rótulos ``(x)=``, as opções das diretivas que não são
legenda nem texto alternativo, os endereços (URLs) e os comentários (``% …``, ``<!-- -->``).

O resultado é uma lista de `Bloco`: um parágrafo (ou uma legenda) com as linhas originais e
as mesmas linhas "mascaradas", do mesmo comprimento, em que tudo o que não é prosa virou
espaço; `italico` marca, caractere a caractere, o que está entre ``*…*``.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent

# diretivas cujo argumento (o texto depois de {nome}) é um título legível
_ARG_PROSA = {"admonition", "list-table", "table", "topic", "sidebar", "dropdown", "card"}
# diretivas cujo conteúdo não é prosa (código, bibliografia, geradas pelo livro)
_SEM_PROSA = {
    "code-cell", "code-block", "code", "sourcecode", "literalinclude", "math", "raw",
    "bibliography", "tableofcontents", "lista-exercicios", "relatorio-execucao", "versoes",
    "eval-rst", "mermaid", "glue", "glue:", "glue:any", "glue:math", "glue:md", "toctree",
}
_OPCOES_PROSA = {"alt", "caption"}

_FENCE = re.compile(r"^(?P<ind>\s*)(?P<f>`{3,}|~{3,}|:{3,})\s*(?P<info>.*?)\s*$")
_DIRETIVA = re.compile(r"^\{(?P<nome>[^}\s]+)\}\s*(?P<arg>.*)$")
_OPCAO = re.compile(r"^\s*:(?P<k>[\w-]+):\s?(?P<v>.*)$")
_CHAVE_YAML = re.compile(r"^(?P<ind>\s*)(?P<k>[\w-]+):\s*(?P<v>.*)$")
_ROTULO = re.compile(r"^\s*\([^()\s]+\)=\s*$")
_COMENTARIO = re.compile(r"^\s*%")
_MARCADOR = re.compile(r"^\s*[%#]\s*(?P<nome>[\w-]+)\s*:\s*(?P<txt>.*?)\s*$")

# papéis cujo texto visível (na forma `texto <alvo>`) é prosa
_PAPEIS_COM_TEXTO = {"term", "ref", "numref", "doc", "download", "prf:ref"}

_INLINE = re.compile(
    r"(?P<role>\{(?P<rn>[A-Za-z][\w:+.-]*)\}(?P<rt>`+)(?P<rc>.*?)(?P=rt))"
    r"|(?P<code>(?P<ct>`+).*?(?P=ct))"
    r"|(?P<dmath>\$\$.*?\$\$)"
    r"|(?P<imath>(?<!\\)\$(?:\\.|[^$\\])+?\$)"
    r"|(?P<linkurl>\]\([^)\s]*(?:\s+\"[^\"]*\")?\))"
    r"|(?P<auto><https?://[^>\s]+>)"
    r"|(?P<url>\b(?:https?://|www\.)[^\s)>\]]+)"
    r"|(?P<foot>\[\^[^\]]+\])"
    r"|(?P<subst>\{\{.*?\}\})"
    r"|(?P<html><!--.*?-->|</?[A-Za-z][^>\n]*>)",
    re.S,
)
_LISTA = re.compile(r"^(?P<m>\s*(?:[-+*]|\d+[.)])\s+)")
_TEXTO_ALVO = re.compile(r"^(?P<txt>.*?)\s*<(?P<alvo>[^<>]+)>\s*$", re.S)


@dataclass
class Bloco:
    """Um parágrafo de prosa (ou uma legenda): linhas originais e mascaradas, em ordem."""

    arquivo: Path
    numeros: list[int]  # número (1…) de cada linha no arquivo
    originais: list[str]
    mascaradas: list[str] = field(default_factory=list)
    italico: list[list[bool]] = field(default_factory=list)
    marcadores: list[tuple[int, str, str]] = field(default_factory=list)  # (linha, nome, texto)


@dataclass
class _Aberto:
    fence: str
    prosa: bool


def _fecha(linha: str, aberto: _Aberto) -> bool:
    m = _FENCE.match(linha)
    return bool(m and not m["info"] and m["f"][0] == aberto.fence[0] and len(m["f"]) >= len(aberto.fence))


def ler_blocos(arquivo: str | Path) -> list[Bloco]:
    """Divide o arquivo em blocos de prosa já mascarados (ver o docstring do módulo)."""
    arquivo = Path(arquivo)
    linhas = arquivo.read_text(encoding="utf-8").split("\n")
    blocos: list[Bloco] = []
    atual: list[tuple[int, str]] = []
    marcadores: list[tuple[int, str, str]] = []

    def fecha_bloco():
        nonlocal marcadores
        if atual:
            b = Bloco(arquivo, [n for n, _ in atual], [t for _, t in atual], marcadores=marcadores)
            _mascara(b)
            blocos.append(b)
            marcadores = []
        atual.clear()

    def marca(n, texto):
        m = _MARCADOR.match(texto)
        if m:
            marcadores.append((n, m["nome"], m["txt"]))

    i = 0
    if linhas and linhas[0].strip() == "---":  # front matter
        i = 1
        while i < len(linhas) and linhas[i].strip() != "---":
            i += 1
        i += 1
    pilha: list[_Aberto] = []
    while i < len(linhas):
        linha, n = linhas[i], i + 1
        i += 1
        if pilha and not pilha[-1].prosa:  # dentro de código: só procura o fim
            if _fecha(linha, pilha[-1]):
                pilha.pop()
            continue
        if pilha and _fecha(linha, pilha[-1]):
            fecha_bloco()
            pilha.pop()
            continue
        m = _FENCE.match(linha)
        if m:
            fecha_bloco()
            d = _DIRETIVA.match(m["info"])
            nome = d["nome"] if d else None
            prosa = nome is not None and nome not in _SEM_PROSA
            if d and (nome in _ARG_PROSA or nome.startswith("prf:")) and d["arg"]:
                atual.append((n, " " * (len(linha) - len(d["arg"])) + d["arg"]))
                fecha_bloco()
            pilha.append(_Aberto(m["f"], prosa))
            if nome is not None:
                i = _cabecalho(linhas, i, blocos, arquivo, marca, fecha_bloco, atual)
            continue
        if not linha.strip():
            fecha_bloco()
            continue
        if _COMENTARIO.match(linha):
            fecha_bloco()
            marca(n, linha)
            continue
        if _ROTULO.match(linha) or linha.strip() == "+++":
            fecha_bloco()
            continue
        s = linha.strip()
        if s.startswith("$$") and "$$" not in s[2:]:  # matemática em bloco
            fecha_bloco()
            while i < len(linhas) and "$$" not in linhas[i]:
                i += 1
            i += 1
            continue
        if s.startswith("\\begin{") and not atual:  # ambiente amsmath
            fecha_bloco()
            env = s[len("\\begin{"):].split("}")[0]
            while i <= len(linhas) and f"\\end{{{env}}}" not in linhas[i - 1]:
                i += 1
            continue
        atual.append((n, linha))
    fecha_bloco()
    return blocos


def _cabecalho(linhas, i, blocos, arquivo, marca, fecha_bloco, atual):
    """Lê as opções de uma diretiva (`:k: v` ou YAML entre `---`), guardando legendas e `alt`.

    Devolve o índice da primeira linha do conteúdo.
    """
    if i < len(linhas) and linhas[i].strip() == "---":
        i += 1
        while i < len(linhas) and linhas[i].strip() != "---":
            linha = linhas[i]
            m = _CHAVE_YAML.match(linha)
            if linha.lstrip().startswith("#"):
                marca(i + 1, linha)
                i += 1
                continue
            if m and m["k"] in _OPCOES_PROSA:
                ind = len(m["ind"])
                valor = m["v"]
                pre = len(linha) - len(valor)
                if valor.startswith(("|", ">")):
                    valor, pre = "", len(linha)
                if valor[:1] in "\"'" and valor:
                    valor, pre = valor[1:], pre + 1
                    if valor.endswith(valor[-1:]) and valor[-1:] in "\"'":
                        valor = valor[:-1]
                atual.append((i + 1, " " * pre + valor))
                i += 1
                while i < len(linhas) and linhas[i].strip() and linhas[i].strip() != "---":
                    cont = linhas[i]
                    if len(cont) - len(cont.lstrip()) <= ind:
                        break
                    atual.append((i + 1, cont.rstrip("\"'")))
                    i += 1
                fecha_bloco()
                continue
            i += 1
        return i + 1
    while i < len(linhas):
        m = _OPCAO.match(linhas[i])
        if not m:
            break
        if m["k"] in _OPCOES_PROSA and m["v"]:
            atual.append((i + 1, " " * (len(linhas[i]) - len(m["v"])) + m["v"]))
            fecha_bloco()
        i += 1
    return i


def _apaga(chars: list[str], ini: int, fim: int) -> None:
    for k in range(ini, fim):
        if chars[k] != "\n":
            chars[k] = " "


def _mascara(bloco: Bloco) -> None:
    texto = "\n".join(bloco.originais)
    chars = list(texto)
    # marcadores de lista no começo das linhas ("- ", "1. ")
    pos = 0
    for linha in bloco.originais:
        m = _LISTA.match(linha)
        if m:
            _apaga(chars, pos, pos + len(m["m"]))
        pos += len(linha) + 1
    for m in _INLINE.finditer(texto):
        if m["role"]:
            nome, conteudo = m["rn"], m["rc"]
            ini_c = m.start("rc")
            _apaga(chars, m.start(), m.end())
            if nome in _PAPEIS_COM_TEXTO:
                t = _TEXTO_ALVO.match(conteudo)
                if t:
                    chars[ini_c:ini_c + t.end("txt")] = list(texto[ini_c:ini_c + t.end("txt")])
                elif nome == "term":
                    chars[ini_c:ini_c + len(conteudo)] = list(conteudo)
        else:
            _apaga(chars, m.start(), m.end())
    # itálico: corridas de 1 ou 3 asteriscos abrem e fecham
    italico = [False] * len(chars)
    dentro = False
    k = 0
    while k < len(chars):
        if chars[k] == "*":
            j = k
            while j < len(chars) and chars[j] == "*":
                j += 1
            if (j - k) % 2 == 1:
                dentro = not dentro
            _apaga(chars, k, j)
            k = j
            continue
        italico[k] = dentro
        k += 1
    mascarado = "".join(chars).split("\n")
    bloco.mascaradas = mascarado
    pos = 0
    for linha in mascarado:
        bloco.italico.append(italico[pos:pos + len(linha)])
        pos += len(linha) + 1


def arquivos_do_livro(raiz: Path = RAIZ) -> list[Path]:
    """Os arquivos do sumário (`_toc.yml`), na ordem do livro."""
    toc = (raiz / "_toc.yml").read_text(encoding="utf-8")
    nomes = re.findall(r"^\s*(?:root|-\s*file)\s*:\s*(\S+)\s*$", toc, re.M)
    arquivos = []
    for nome in nomes:
        p = raiz / (nome if nome.endswith(".md") else nome + ".md")
        if p not in arquivos:
            arquivos.append(p)
    glossario = raiz / "book/apendices/glossario.md"
    if glossario.exists() and glossario not in arquivos:
        arquivos.append(glossario)
    return arquivos


def relativo(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def relata(achados, arquivos, resumo, mensagem):
    """Fim comum dos verificadores: contagem por arquivo (``--resumo``) e código de saída."""
    if resumo:
        contagem = Counter(relativo(a) for a, *_ in achados)
        for a in arquivos:
            print(f"# {relativo(a)}: {contagem.get(relativo(a), 0)}")
    if achados:
        print(f"{len(achados)} {mensagem}", file=sys.stderr)
        return 1
    return 0
