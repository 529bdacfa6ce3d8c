"""Verificadores do texto: ortografia (hunspell) e números fora de glue, em trechos e no livro."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import texto_myst  # noqa: E402
import verifica_numeros  # noqa: E402
import verifica_ortografia  # noqa: E402

CABECALHO = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  version: 3.11
---
"""


def _arquivo(tmp_path, corpo, nome="cap.md"):
    p = tmp_path / nome
    p.write_text(CABECALHO + textwrap.dedent(corpo), encoding="utf-8")
    return p


def _numeros(tmp_path, corpo):
    return [n for _, _, n, _ in verifica_numeros.verifica([_arquivo(tmp_path, corpo)])]


def _ortografia(tmp_path, corpo):
    return [p for _, _, p in verifica_ortografia.verifica([_arquivo(tmp_path, corpo)])]


# ---- números -------------------------------------------------------------------------------

def test_numero_escrito_na_prosa_e_apontado(tmp_path):
    assert _numeros(tmp_path, "A razão é 40/6 ≈ 6,7 no exemplo.\n") == ["40", "6", "6,7"]


def test_numero_com_milhar_e_apontado_inteiro(tmp_path):
    assert _numeros(tmp_path, "Treinamos em 60.000 imagens e 3 000 exemplos.\n") == ["60.000", "3 000"]


def test_glue_ref_math_codigo_e_cite_nao_sao_apontados(tmp_path):
    corpo = """\
    (cap-x)=
    # Título

    A acurácia é {glue:text}`cap1-x` e o erro {glue:text}`cap1-erro`%.
    Como no capítulo {ref}`cap-x` e em {numref}`Capítulo %s <cap-x>`, a perda $x^2 + 3$ e
    {math}`y = 2x`; o código `torch.randn(4, 16)`, a equação {eq}`eq-cap1-3` e
    {cite:t}`he2016`, em https://exemplo.org/v2/10.

    $$
    \\frac{1}{2} x^2
    $$ (eq-cap1-3)

    ```{code-cell} ipython3
    x = 40 / 6
    ```
    """
    assert _numeros(tmp_path, corpo) == []


def test_lista_de_permitidos(tmp_path):
    corpo = """\
    A ResNet-18, a VGG-11, o float32, o bfloat16 e a H100; um núcleo 3×3 e uma imagem 2-D.
    Li et al. (2018) e o COCO 2017. Ver o capítulo 8 de {cite:t}`zhang2023` e a §3 das notas.
    Probabilidades ficam entre 0 e 1 e somam 1.
    """
    assert _numeros(tmp_path, corpo) == []


def test_tamanho_que_nao_e_nucleo_e_apontado(tmp_path):
    assert _numeros(tmp_path, "Imagens de 28×28 pixels.\n") == ["28", "28"]


def test_legenda_e_texto_alternativo_sao_conferidos(tmp_path):
    corpo = """\
    ```{code-cell} ipython3
    ---
    tags: [hide-input]
    mystnb:
      figure:
        caption: Curvas de perda nas 12 épocas de
          treino, com 5 sementes.
        name: fig-cap1-x
      image:
        alt: "Gráfico com 3 curvas"
    ---
    plt.plot([1, 2, 3])
    ```

    ```{figure} imagem-2.png
    :name: fig-cap1-y
    :alt: Foto com 4 gatos
    :width: 80%

    Legenda com 7 itens.
    ```
    """
    assert _numeros(tmp_path, corpo) == ["12", "5", "3", "4", "7"]


def test_opcoes_rotulos_e_argumentos_nao_sao_prosa(tmp_path):
    corpo = """\
    ```{exercise-start}
    :label: ex-cap1-2
    ```
    Enunciado sem números.
    ```{exercise-end}
    ```

    ```{solution-start} ex-cap1-2
    :class: dropdown
    ```
    Solução com 9 passos.
    ```{solution-end}
    ```

    ````{admonition} Nota 4
    :class: note
    Dentro da nota, 8 casos.
    ```python
    y = 99
    ```
    ````
    """
    assert _numeros(tmp_path, corpo) == ["9", "4", "8"]


def test_marcador_permite_o_trecho_no_paragrafo_seguinte(tmp_path):
    corpo = """\
    % numero-permitido: 28×28 — o tamanho fixo das imagens do conjunto
    Imagens de 28×28 pixels, em 10 classes.
    """
    assert _numeros(tmp_path, corpo) == ["10"]


def test_marcador_sem_motivo_ou_sem_uso_e_erro(tmp_path):
    corpo = """\
    % numero-permitido: 28×28
    Imagens de 28×28 pixels.

    % numero-permitido: 64×64 — outro tamanho
    Imagens de 32×32 pixels.
    """
    assert _numeros(tmp_path, corpo) == ["marcador", "28", "28", "marcador", "32", "32"]


def test_saida_e_codigo_de_saida(tmp_path, capsys):
    p = _arquivo(tmp_path, "Texto.\n\nForam 40 épocas.\n")
    assert verifica_numeros.main([str(p)]) == 1
    saida = capsys.readouterr().out.strip()
    assert saida.endswith(":11: 40 — Foram 40 épocas.")
    assert verifica_numeros.main([str(_arquivo(tmp_path, "Sem números.\n", "b.md"))]) == 0


def test_permitidos_tem_motivo():
    regras = verifica_numeros.carrega_permitidos()
    assert 3 <= len(regras) <= 12
    assert all(r.motivo for r in regras)


# ---- ortografia ----------------------------------------------------------------------------

def test_palavra_errada_e_apontada(tmp_path):
    assert _ortografia(tmp_path, "A rede aprendeu a clasificar as imagems.\n") == ["clasificar", "imagems"]


def test_ingles_sem_italico_e_apontado_e_com_italico_passa(tmp_path):
    assert _ortografia(tmp_path, "O padding mantém o tamanho.\n") == ["padding"]
    assert _ortografia(tmp_path, "O preenchimento (*padding*) e o ***stride*** mantêm o\n"
                       "tamanho; *skip\nconnection*.\n") == []
    assert _ortografia(tmp_path, "O *paddding* errado.\n") == ["paddding"]


def test_lista_do_projeto_e_nomes_com_digitos(tmp_path):
    assert _ortografia(tmp_path, "O PyTorch calcula o softmax na GPU com a ResNet-18 em float32.\n") == []


def test_termo_ingles_da_lista_so_vale_em_italico(tmp_path):
    assert _ortografia(tmp_path, "Houve *overfitting* e depois overfitting.\n") == ["overfitting"]


def test_codigo_matematica_e_alvos_nao_sao_conferidos(tmp_path):
    corpo = """\
    (cap-xyzw)=
    # Título certo

    O termo {term}`gradiente descendente` e o {term}`passo errrado <gradiente>`, em
    {ref}`cap-xyzw`, {cite:p}`hee2016`, $\\mathrm{softplusx}$ e `torch.qwerty`; veja
    [a página](https://exemplo.org/qwerty).

    ```{code-cell} ipython3
    qwertyuiop = 1
    ```
    """
    assert _ortografia(tmp_path, corpo) == ["errrado"]


def test_legendas_e_texto_alternativo_sao_conferidos(tmp_path):
    corpo = """\
    ```{code-cell} ipython3
    ---
    mystnb:
      figure:
        caption: Curvas de perdda.
        name: fig-cap1-qwerty
      image:
        alt: Um grafico.
    ---
    qwerty = 2
    ```
    """
    assert _ortografia(tmp_path, corpo) == ["perdda", "grafico"]


def test_lista_de_palavras_ordenada_e_sem_repeticoes():
    linhas = (ROOT / "ortografia/palavras.txt").read_text(encoding="utf-8").splitlines()
    assert linhas[0].startswith("#")
    palavras = [p for p in linhas if p and not p.startswith("#")]
    assert palavras == sorted(palavras, key=lambda p: (p.strip("*").casefold(), p))
    assert len(set(palavras)) == len(palavras)
    assert all(" " not in p for p in palavras)


def test_arquivos_do_livro_inclui_sumario_e_glossario():
    arquivos = texto_myst.arquivos_do_livro()
    nomes = [a.relative_to(ROOT).as_posix() for a in arquivos]
    assert "book/intro.md" in nomes and "book/apendices/glossario.md" in nomes
    assert all(a.exists() for a in arquivos)


# ---- o livro inteiro -----------------------------------------------------------------------

def _roda(script):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_livro_sem_palavras_desconhecidas():
    r = _roda("verifica_ortografia.py")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr


def test_livro_sem_numeros_fora_de_glue():
    r = _roda("verifica_numeros.py")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr


# ---- esboços para construir um capítulo isolado --------------------------------------------

def test_esboco_guarda_rotulos_e_titulos_e_ignora_codigo():
    import esbocos

    texto = CABECALHO + textwrap.dedent("""\
    (cap-x)=
    # Título do capítulo

    Texto com {term}`termo` e {glue:text}`capx-a`.

    ```{code-cell} ipython3
    # um comentário, não um título
    ```

    ## Seção sem rótulo

    (capx-secao)=
    ### Seção com rótulo
    """)
    assert esbocos.esboco(texto) == "(cap-x)=\n# Título do capítulo\n\n(capx-secao)=\n## Seção com rótulo\n\n"


# ---- capítulos deste livro citados por número ----------------------------------------------

_CAPITULO_POR_NUMERO = re.compile(r"(?i)\b(?:capítulos?|caps?\.)\s*\d+")


def _capitulos_sem_ligacao(arquivos):
    """Parágrafos que falam de "capítulo N" sem citar outra obra: seria este livro, em texto puro."""
    achados = []
    for arquivo in arquivos:
        for bloco in texto_myst.ler_blocos(arquivo):
            achado = _CAPITULO_POR_NUMERO.search("\n".join(bloco.mascaradas))
            if achado and "{cite:" not in "\n".join(bloco.originais):
                achados.append(f"{texto_myst.relativo(Path(arquivo))}:{bloco.numeros[0]}: {achado.group(0)}")
    return achados


def test_capitulo_por_numero_sem_citacao_e_apontado(tmp_path):
    assert _capitulos_sem_ligacao([_arquivo(tmp_path, "Como vimos no capítulo 1, a perda cai.\n")])
    assert _capitulos_sem_ligacao([_arquivo(tmp_path, "No cap. 3 vimos a retropropagação.\n")])
    assert not _capitulos_sem_ligacao([_arquivo(
        tmp_path, "Como vimos no {ref}`capítulo sobre verossimilhança <cap-x>`, a perda cai.\n")])
    assert not _capitulos_sem_ligacao([_arquivo(
        tmp_path, "O assunto está no capítulo 9 de {cite:t}`goodfellow2016`.\n")])


def test_livro_nao_cita_os_proprios_capitulos_por_numero():
    achados = _capitulos_sem_ligacao(texto_myst.arquivos_do_livro())
    assert not achados, ("capítulos deste livro citados por número em texto puro; use um "
                         "{ref} para o rótulo do capítulo:\n" + "\n".join(achados))
