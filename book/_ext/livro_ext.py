"""Extensão Sphinx do livro: o relatório de execução e as versões das bibliotecas.

``{relatorio-execucao}`` monta, a cada construção, uma tabela com o tempo de
execução de cada capítulo, se ele foi executado agora ou veio do cache, o
dispositivo e o pico de memória do *kernel*. O tempo e o estado vêm do
myst-nb; o dispositivo e a memória vêm do valor ``glue`` que
``livro.report.record()`` grava na última célula de cada capítulo, lido do
cache de execução (jupyter-cache). ``{versoes}`` lista as versões do Python e
das bibliotecas usadas na construção.
"""

from __future__ import annotations

import ast
import gettext
import importlib.metadata
import json
import platform
import time
from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOGGER = logging.getLogger(__name__)
GLUE_KEY = "livro-relatorio"
PACKAGES = ("torch", "torchvision", "numpy", "scipy", "matplotlib", "scikit-learn", "scikit-image",
            "pandas", "jupyter-book", "sphinx", "myst-nb", "jupyter-cache", "livro")


def _reread_every_build(env):
    """Marca a página atual para ser relida a cada construção (ver ``_always_reread``)."""
    pages = getattr(env, "livro_relatorio_pages", set())
    pages.add(env.docname)
    env.livro_relatorio_pages = pages


class RelatorioNode(nodes.General, nodes.Element):
    """Lugar da tabela de execução, preenchido depois que todos os capítulos rodaram."""


class RelatorioDirective(SphinxDirective):
    def run(self):
        _reread_every_build(self.env)
        return [RelatorioNode()]


class ExerciciosNode(nodes.General, nodes.Element):
    """Lugar da lista de exercícios do livro, preenchida depois da leitura de todos os capítulos."""


class ExerciciosDirective(SphinxDirective):
    def run(self):
        _reread_every_build(self.env)
        return [ExerciciosNode()]


def _doc_order(env):
    """Documentos na ordem do sumário, a partir da raiz."""
    order, todo = [], [env.config.root_doc]
    while todo:
        doc = todo.pop(0)
        if doc in order:
            continue
        order.append(doc)
        todo[0:0] = env.toctree_includes.get(doc, [])
    return order


class ExerciciosTransform(SphinxPostTransform):
    default_priority = 8

    def run(self, **kwargs):
        placeholders = list(self.document.findall(ExerciciosNode))
        if not placeholders:
            return
        env = self.env
        registry = getattr(env, "sphinx_exercise_registry", {})
        by_doc = {}
        for label, entry in registry.items():
            if entry.get("type", "").startswith("exercise"):
                by_doc.setdefault(entry["docname"], []).append((label, entry["node"]))
        container = nodes.container()
        for docname in _doc_order(env):
            if docname not in by_doc:
                continue
            title = env.titles.get(docname)
            section_title = nodes.rubric(text=title.astext() if title else docname)
            container += section_title
            items = nodes.bullet_list()
            doctree = env.get_doctree(docname)
            texts = {}
            for element in doctree.findall(nodes.Element):
                for label in element.get("ids", []):
                    texts.setdefault(label, element)
            for number, (label, node) in enumerate(by_doc[docname], start=1):
                element = texts.get(label, node)
                body = [c for c in element.children if not isinstance(c, nodes.title)]
                words = " ".join(c.astext() for c in body).split()
                summary = " ".join(words[:16]) + ("…" if len(words) > 16 else "")
                link = nodes.reference("", "", internal=True,
                                       refuri=env.app.builder.get_relative_uri(env.docname, docname) + "#" + label)
                link += nodes.Text(f"Exercício {number}")
                para = nodes.paragraph()
                para += link
                para += nodes.Text(f": {summary}")
                items += nodes.list_item("", para)
            container += items
        for node in placeholders:
            node.replace_self(container.deepcopy())


class VersoesDirective(SphinxDirective):
    def run(self):
        rows = [("Python", platform.python_version())]
        for name in PACKAGES:
            try:
                rows.append((name, importlib.metadata.version(name)))
            except importlib.metadata.PackageNotFoundError:
                rows.append((name, "não instalado"))
        return [_table(["biblioteca", "versão"], rows)]


def _table(header, rows):
    table = nodes.table(classes=["colwidths-auto"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    head += _row(header)
    body = nodes.tbody()
    group += body
    for row in rows:
        body += _row(row)
    return table


def _row(cells):
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += cell if isinstance(cell, nodes.Node) else nodes.paragraph(text=str(cell))
        row += entry
    return row


def _records_by_uri(app):
    """Lê, do cache de execução, o último registro de ``livro.report`` de cada notebook."""
    cache_path = app.config.nb_execution_cache_path or str(Path(app.outdir).parent / ".jupyter_cache")
    found = {}
    if not Path(cache_path).exists():
        return found
    from jupyter_cache import get_cache

    cache = get_cache(cache_path)
    for record in sorted(cache.list_cache_records(), key=lambda r: r.created):
        nb = cache.get_cache_bundle(record.pk).nb
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                meta = output.get("metadata", {}).get("scrapbook", {})
                if meta.get("name") == GLUE_KEY:
                    text = next(v for k, v in output["data"].items() if k.endswith("text/plain"))
                    found[record.uri] = json.loads(ast.literal_eval(text))
    return found


def _fmt(x, digits):
    return f"{x:.{digits}f}".replace(".", ",")


class RelatorioTransform(SphinxPostTransform):
    default_priority = 8

    def run(self, **kwargs):
        placeholders = list(self.document.findall(RelatorioNode))
        if not placeholders:
            return
        from myst_nb.sphinx_ import NbMetadataCollector

        env = self.env
        started = getattr(env.app, "livro_build_started", 0)
        records = _records_by_uri(env.app)
        rows = []
        for docname, data in sorted(NbMetadataCollector.get_doc_data(env).items()):
            exec_data = data.get("exec_data")
            if not exec_data:
                continue
            title = env.titles.get(docname)
            link = nodes.reference("", "", internal=True,
                                   refuri=env.app.builder.get_relative_uri(env.docname, docname))
            link += nodes.Text(title.astext() if title else docname)
            para = nodes.paragraph()
            para += link
            runtime = exec_data.get("runtime")
            fresh = exec_data.get("mtime", 0) >= started
            status = ("executado nesta construção" if fresh else "lido do cache") \
                if exec_data.get("succeeded") else "falhou"
            info = records.get(str(env.doc2path(docname)), {})
            memory = info.get("memoria_gb")
            if memory is None:
                LOGGER.warning(f"o capítulo {docname} não chamou livro.report.record()", type="livro")
            budget = info.get("orcamento_s")
            if budget is None or runtime is None:
                within = "-"
            else:
                within = "sim" if runtime <= budget else "não"
            rows.append((para, "-" if runtime is None else _fmt(runtime, 1),
                         "-" if budget is None else str(int(budget)), within, status,
                         info.get("dispositivo", "-"), "-" if memory is None else _fmt(memory, 2)))
        total = sum(float(r[1].replace(",", ".")) for r in rows if r[1] != "-")
        rows.append(("total", _fmt(total, 1), "", "", "", "", ""))
        table = _table(["capítulo", "tempo de execução (s)", "orçamento (s)", "no orçamento", "estado",
                        "dispositivo", "pico de memória (GB)"], rows)
        for node in placeholders:
            node.replace_self(table.deepcopy())


def _always_reread(app, env, added, changed, removed):
    """As páginas com o relatório são relidas a cada construção, para nunca ficarem velhas."""
    return sorted(getattr(env, "livro_relatorio_pages", set()) - set(removed))


def _purge(app, env, docname):
    pages = getattr(env, "livro_relatorio_pages", set())
    pages.discard(docname)


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    """O sphinx-thebe registra sua configuração duas vezes; o navegador acusa a constante repetida."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", None) or "", attributes.get("body"), attributes.get("src"))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _mark_start(app):
    app.livro_build_started = time.time()


def _translate_proof_titles_latex(depart):
    """Envolve o ``depart`` LaTeX do sphinx-proof, que escreve "Algorithm", "Theorem"… em inglês."""
    from sphinx_proof import nodes as proof_nodes

    def wrapped(self, node):
        depart(self, node)
        english = node.attributes.get("realtype", "").title()
        translated = proof_nodes._(english)
        for i in range(len(self.body) - 1, -1, -1):
            if self.body[i] == english or self.body[i].startswith(english + " "):
                self.body[i] = translated + self.body[i][len(english):]
                break

    return wrapped


def _override_proof_latex(app):
    from sphinx_proof import nodes as proof_nodes

    latex_enum = (proof_nodes.visit_enumerable_node,
                  _translate_proof_titles_latex(proof_nodes.depart_enumerable_node))
    for node_class in set(proof_nodes.NODE_TYPES.values()):
        app.add_node(node_class, override=True, latex=latex_enum)
    app.add_node(proof_nodes.unenumerable_node, override=True,
                 latex=(proof_nodes.visit_unenumerable_node,
                        _translate_proof_titles_latex(proof_nodes.depart_unenumerable_node)))


# Textos que o sphinx-book-theme não traduz, ou traduz mal, para o português do Brasil.
BOOKTHEME_PT_BR = {
    "Launch": "Executar", "Launch Thebe": "Executar o código nesta página",
    "Launch interactive content": "Executar o conteúdo interativo", "Launch on": "Executar no",
    "Live Code": "Código ao vivo", "Open an issue": "Abrir uma issue", "Open issue": "Abrir issue",
    "Repository": "Repositório", "Source repository": "Repositório do livro",
    "Source repositories": "Repositório do livro", "Suggest edit": "Sugerir mudança",
    "Edit this page": "Editar esta página", "Download this page": "Baixar esta página",
    "Download source file": "Baixar o arquivo-fonte (.md)", "Download notebook file": "Baixar o notebook (.ipynb)",
    "Print to PDF": "Imprimir em PDF", "Fullscreen mode": "Tela cheia", "Show source": "Mostrar o código-fonte",
    "Search": "Buscar", "Contents": "Conteúdo", "By": "Por", "By the": "Pelos", "repository": "repositório",
    "open issue": "abrir issue", "suggest edit": "sugerir mudança",
    "Toggle navigation": "Mostrar ou esconder a navegação",
}


class _PreferredTranslations(gettext.NullTranslations):
    """Consulta primeiro a tabela do livro e, se não achar, o catálogo original."""

    def __init__(self, table, fallback):
        super().__init__()
        self.table = table
        if fallback is not None:
            self.add_fallback(fallback)

    def gettext(self, message):
        if message in self.table:
            return self.table[message]
        return self._fallback.gettext(message) if self._fallback else message

    def ngettext(self, singular, plural, n):
        if singular in self.table:
            return self.table[singular]
        return self._fallback.ngettext(singular, plural, n) if self._fallback else singular


def _install_translations(app):
    from sphinx import locale

    if not (app.config.language or "").startswith("pt"):
        return
    key = ("general", "booktheme")  # a ordem da chave no Sphinx é (namespace, catálogo)
    locale.translators[key] = _PreferredTranslations(BOOKTHEME_PT_BR, locale.translators.get(key))


def setup(app):
    app.connect("builder-inited", _install_translations)
    app.setup_extension("sphinx_proof")
    _override_proof_latex(app)
    app.add_node(RelatorioNode)
    app.add_directive("relatorio-execucao", RelatorioDirective)
    app.add_directive("versoes", VersoesDirective)
    app.add_post_transform(RelatorioTransform)
    app.add_node(ExerciciosNode)
    app.add_directive("lista-exercicios", ExerciciosDirective)
    app.add_post_transform(ExerciciosTransform)
    app.connect("builder-inited", _mark_start)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("env-get-outdated", _always_reread)
    app.connect("env-purge-doc", _purge)
    return {"version": "0.1", "parallel_read_safe": False, "parallel_write_safe": True,
            "env_version": 1}
