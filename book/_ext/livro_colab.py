"""Extensão Sphinx do livro: o botão "Abrir no Colab" de cada capítulo.

O sphinx-book-theme aponta o Colab para a fonte da página, e a dos capítulos é MyST Markdown
(``.md``), que o Colab não abre. ``scripts/gera_notebooks.py`` guarda em
``notebooks/<nome>.ipynb`` uma cópia de cada capítulo executável, com uma primeira célula que
instala o pacote ``livro``; esta extensão troca, no menu de execução (o do foguete, ao lado do
Binder), o item do tema por um "Abrir no Colab" que abre esse notebook direto do GitHub, e
aponta o Binder para o mesmo notebook (a fonte ``.md`` abriria como texto no JupyterLab). Só as
páginas com ``kernelspec`` (os capítulos) e com notebook gerado recebem o item; o endereço vem
de ``repository.url`` e ``repository.branch`` (``html_theme_options``) e de
``launch_buttons.colab_url``.
"""

from __future__ import annotations

import re
from pathlib import Path

PASTA = "notebooks"


def colab_url(theme_options, nome):
    """Endereço do Colab para ``notebooks/<nome>.ipynb``, ou ``None`` sem GitHub ou sem Colab."""
    launch = theme_options.get("launch_buttons", {}) or {}
    colab = (launch.get("colab_url") or "").rstrip("/")
    repo = (theme_options.get("repository_url") or "").rstrip("/").removesuffix(".git")
    m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", repo)
    if not colab or not m:
        return None
    branch = theme_options.get("repository_branch") or "main"
    return f"{colab}/github/{m.group(1)}/{m.group(2)}/blob/{branch}/{PASTA}/{nome}.ipynb"


def _add_colab(app, pagename, templatename, context, doctree):
    if doctree is None or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    nome = Path(pagename).name
    url = colab_url(app.config.html_theme_options, nome)
    if url is None:
        return
    buttons = context.setdefault("header_buttons", [])
    group = next((b for b in buttons if b.get("label") == "launch-buttons"), None)
    if group is None:
        group = {"type": "group", "tooltip": "Executar o conteúdo interativo", "icon": "fas fa-rocket",
                 "buttons": [], "label": "launch-buttons"}
        buttons.append(group)
    # o tema põe um item do Colab que aponta para a fonte .md, que o Colab não abre: sai sempre
    colab = url.split("/github/", 1)[0]
    items = group["buttons"]
    old = [i for i, b in enumerate(items) if str(b.get("url", "")).startswith(colab)]
    where = old[0] if old else min(1, len(items))
    items[:] = [b for b in items if not str(b.get("url", "")).startswith(colab)]
    if not (Path(app.confdir) / PASTA / f"{nome}.ipynb").is_file():
        return  # capítulo novo, ainda sem notebook: tests/test_notebooks_colab.py acusa
    # o Binder também abre o notebook: a fonte .md abriria no editor de texto do JupyterLab
    for item in items:
        if "urlpath=" in str(item.get("url", "")):
            item["url"] = re.sub(r"(urlpath=(?:lab/)?tree/).*$", rf"\g<1>{PASTA}/{nome}.ipynb", item["url"])
    items.insert(where, {"type": "link", "text": "Colab", "tooltip": "Abrir no Colab",
                         "icon": "_static/images/logo_colab.png", "url": url, "label": "abrir-no-colab"})


def setup(app):
    # depois do sphinx-book-theme, que monta o menu de execução com prioridade 501
    app.connect("html-page-context", _add_colab, priority=502)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
