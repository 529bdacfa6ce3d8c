"""Testes do livro construído (rodam depois de ``make html-strict pdf``, em ``make test``).

Conferem o que o leitor recebe: as páginas, os números colados pelo ``glue``,
a interface em português, a matemática servida pelo próprio site (sem CDN), o
relatório de execução e o PDF.
"""

import json
import os
import pathlib
import re
import subprocess
from collections import Counter

import yaml
from bs4 import BeautifulSoup
from conftest import ROOT

# LIVRO_SITE aponta os testes do site para outra construção, por exemplo a de um capítulo só:
# LIVRO_SITE=_build/capitulos/01-verossimilhanca/_build/html pytest tests/test_build.py -k "colab or progress"
HTML = pathlib.Path(os.environ.get("LIVRO_SITE", ROOT / "_build" / "html")).resolve()
PDF = ROOT / "_build" / "latex" / "livro.pdf"
CHAPTER1 = HTML / "book" / "01-verossimilhanca.html"
ENGLISH_UI = ["Skip to main content", "Back to top", "Color mode", "previous page", "next page",
              "Search this book", "Show code cell", "Hide code cell", "Toggle primary sidebar",
              "Toggle secondary sidebar", "Launch Thebe", "Launch interactive content", "Download source file",
              "Download notebook file", "Print to PDF", "Fullscreen mode", "Open an issue", "Suggest edit",
              "On this page", "Contents", "Algorithm", "Exercise", "Solution to"]


def soup(path):
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def chromium_dom(path):
    """DOM de ``path`` depois de executado o JavaScript, no Chromium sem rede."""
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--virtual-time-budget=10000", "--dump-dom",
           path.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout


def test_site_pages_exist():
    assert (HTML / "index.html").is_file()
    assert "book/intro.html" in (HTML / "index.html").read_text()
    for page in ["book/intro.html", "book/01-verossimilhanca.html", "book/apendices/construcao.html",
                 "book/apendices/referencias.html", "search.html"]:
        assert (HTML / page).is_file(), page


def test_chapter1_numbers_are_glued():
    page = soup(CHAPTER1)
    pasted = {span.get_text(strip=True) for span in page.select("span.pasted-text")}
    for expected in ["12", "40", "0,3", "0,14", "7,48 × 10⁻³²", "416", "59", "34.371"]:
        assert expected in pasted, (expected, sorted(pasted))
    main = page.find("main").get_text(" ", strip=True)
    assert "{glue" not in main and "glue:text" not in main


def test_figures_have_captions_and_alt_text():
    page = soup(CHAPTER1)
    figures = page.find_all("figure")
    assert len(figures) >= 4
    for fig in figures:
        img = fig.find("img")
        assert img.get("alt") and len(img["alt"]) > 20, img
        assert (CHAPTER1.parent / img["src"]).resolve().is_file()
        assert fig.find("figcaption").get_text(strip=True).startswith("Figura")


def test_solutions_are_collapsed_and_executed():
    page = soup(CHAPTER1)
    solutions = page.select(".solution")
    assert len(solutions) == 4
    assert all("dropdown" in s["class"] for s in solutions)
    assert "previsão: 416; laço: 416" in page.get_text()


def test_interface_in_portuguese():
    for path in [CHAPTER1, HTML / "book" / "intro.html"]:
        text = chromium_dom(path)
        dom = BeautifulSoup(text, "html.parser")
        for tag in dom(["script", "style"]):
            tag.decompose()
        visible = dom.get_text(" ")
        attrs = " ".join(v for el in dom.find_all(True)
                         for k, v in el.attrs.items() if k in ("title", "aria-label", "placeholder")
                         and isinstance(v, str))
        for english in ENGLISH_UI:
            # palavra inteira: "Algorithms" no título de um livro citado (dica da citação) não é interface
            pattern = re.compile(rf"(?<!\w){re.escape(english)}(?!\w)")
            assert not pattern.search(visible) and not pattern.search(attrs), (path.name, english)
        assert 'lang="pt-BR"' in text or 'lang="pt_BR"' in text or 'lang="pt"' in text


def test_mathjax_is_local_and_typesets():
    html = CHAPTER1.read_text()
    assert "cdn.jsdelivr" not in html and "mathjax@3" not in html
    src = re.search(r'src="([^"]*mathjax/tex-chtml\.js)[^"]*"', html).group(1)
    assert (CHAPTER1.parent / src).resolve().is_file()
    dom = chromium_dom(CHAPTER1)
    assert dom.count("<mjx-container") > 50
    assert "$$" not in BeautifulSoup(dom, "html.parser").find("main").get_text()


def test_execution_report_page():
    page = soup(HTML / "book" / "apendices" / "construcao.html")
    tables = page.find_all("table")
    text = " ".join(t.get_text(" ", strip=True) for t in tables)
    assert "Verossimilhança e otimização" in text
    assert re.search(r"CPU \(\d+ threads\)|GPU", text)
    row = next(tr for tr in page.find_all("tr") if "Verossimilhança" in tr.get_text())
    cells = [td.get_text(strip=True) for td in row.find_all("td")]
    header = [th.get_text(strip=True) for th in page.find("table").find_all("th")]
    assert header[:4] == ["capítulo", "tempo de execução (s)", "orçamento (s)", "no orçamento"]
    seconds, memory = float(cells[1].replace(",", ".")), float(cells[6].replace(",", "."))
    # o tempo é mostrado ao lado do orçamento, nunca afirmado: depende da máquina
    assert seconds > 0 and cells[2] == "240" and cells[3] in ("sim", "não")
    assert 0 < memory < 4, "nenhum capítulo pode passar de 4 GB"
    assert "torch" in text and "jupyter-book" in text


def test_pdf_link_in_site():
    assert (HTML / "livro.pdf").is_file()
    assert "livro.pdf" in (HTML / "_static" / "livro.js").read_text()


def test_pdf_contents():
    assert PDF.is_file()
    info = subprocess.run(["pdfinfo", str(PDF)], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info
    text = subprocess.run(["pdftotext", str(PDF), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ["Verossimilhança e otimização", "Algoritmo", "Exercício", "Solução para Exercício",
                     "Resumo", "Como este livro é construído", "Referências", "7,48 × 10⁻³²"]:
        assert expected in text, expected
    # o título das caixas do sphinx-proof ("Algorithm 1.1") vem traduzido; "Algorithm" em títulos
    # de obras citadas na bibliografia é legítimo
    assert not re.search(r"\bAlgorithm \d", text) and "??" not in text
    # "Figura 8.1", "Tabela 2.1": com espaço entre o nome e o número
    assert re.search(r"Figura[ \u00a0]\d+\.\d+", text), "nenhuma legenda 'Figura N.M' no PDF"
    glued = re.findall(r"(?:Figura|Tabela)\d", text)
    assert not glued, f"nome e número colados nas legendas do PDF: {sorted(set(glued))}"
    assert "brazil" in (ROOT / "_build" / "latex" / "livro.tex").read_text()  # hifenização em português
    log = (ROOT / "_build" / "latex" / "livro.log").read_text(errors="replace")
    assert "Missing character" not in log, "há glifos faltando no PDF"
    images = subprocess.run(["pdfimages", "-list", str(PDF)], capture_output=True, text=True, check=True).stdout
    assert len(images.strip().splitlines()) - 2 >= 4  # as figuras do capítulo 1


def test_no_stderr_and_no_error_outputs_in_executed_notebooks():
    from jupyter_cache import get_cache

    cache = get_cache(str(ROOT / "_build" / ".jupyter_cache"))
    records = cache.list_cache_records()
    assert records
    # numa construção incremental, o cache guarda também execuções antigas de um capítulo que
    # mudou: vale a mais recente de cada arquivo
    latest = {}
    for record in records:
        if record.uri not in latest or record.pk > latest[record.uri].pk:
            latest[record.uri] = record
    for record in latest.values():
        nb = cache.get_cache_bundle(record.pk).nb
        for cell in nb.cells:
            on_purpose = "raises-exception" in cell.get("metadata", {}).get("tags", [])
            for out in cell.get("outputs", []):
                assert on_purpose or out.get("output_type") != "error", record.uri
                assert out.get("name") != "stderr", (record.uri, out.get("text", "")[:200])


def test_report_glue_is_valid_json():
    from jupyter_cache import get_cache

    cache = get_cache(str(ROOT / "_build" / ".jupyter_cache"))
    found = 0
    for record in cache.list_cache_records():
        for cell in cache.get_cache_bundle(record.pk).nb.cells:
            for out in cell.get("outputs", []):
                if out.get("metadata", {}).get("scrapbook", {}).get("name") == "livro-relatorio":
                    import ast

                    text = next(v for k, v in out["data"].items() if k.endswith("text/plain"))
                    info = json.loads(ast.literal_eval(text))
                    assert info["memoria_gb"] < 4
                    found += 1
    assert found >= 1


def test_pdf_first_page_renders(tmp_path):
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "1", str(PDF), str(tmp_path / "p")], check=True)
    assert list(tmp_path.glob("p*.png"))


def _chapter_pages():
    """Páginas dos capítulos executáveis (os que têm notebook para o Colab), que existam no site."""
    names = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    return [p for p in sorted(HTML.rglob("*.html")) if p.stem in names and "_sources" not in p.parts]


def test_colab_links_point_to_generated_notebooks():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    owner, repo = config["repository"]["url"].rstrip("/").split("/")[-2:]
    branch = config["repository"].get("branch", "main")
    prefix = f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/notebooks/"
    chapters = _chapter_pages()
    assert chapters, f"nenhuma página de capítulo em {HTML}"
    for page in sorted(HTML.rglob("*.html")):
        links = [a["href"] for a in soup(page).find_all("a", href=True) if "colab.research.google.com" in a["href"]]
        if page not in chapters:
            assert not links, (page.name, links)  # só os capítulos têm o botão
            continue
        assert len(set(links)) == 1, (page.name, links)
        link = links[0]
        assert link == prefix + page.stem + ".ipynb", link
        assert (ROOT / "notebooks" / (page.stem + ".ipynb")).is_file(), (
            f"{link} aponta para um notebook que não existe; rode `python scripts/gera_notebooks.py`")
        anchor = next(a for a in soup(page).find_all("a", href=link))
        assert anchor.get("title") == "Abrir no Colab"
        binder = [a["href"] for a in soup(page).find_all("a", href=True) if "mybinder.org" in a["href"]]
        assert binder and all(h.endswith(f"urlpath=lab/tree/notebooks/{page.stem}.ipynb") for h in binder), binder


# Linhas de progresso: as do tqdm (barra, taxa) e a linha única de ``livro.train.progress_bar``
# com LIVRO_BUILD ("treino: 940/940 lotes em 12 s, perda=…"), e as de um laço por época.
TQDM_LINE = re.compile(r"\d+%\||it/s\]|s/it\]|\|[█#]{2,}")
ONE_LINE = re.compile(r"^(?P<desc>[^\n:]+): \d+/\d+ \w+ em \d+ s")
EPOCH_LINE = re.compile(r"^\s*[ée]poca\s+\d+\s*/\s*\d+", re.I)


def progress_problems(text):
    """O que, num bloco de saída, mostra mais de uma linha de progresso para o mesmo treino."""
    lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
    problems = []
    tqdm_lines = [line for line in lines if TQDM_LINE.search(line)]
    if len(tqdm_lines) >= 2:
        problems.append(f"{len(tqdm_lines)} linhas de barra de progresso (tqdm)")
    descs = Counter(m.group("desc") for m in map(ONE_LINE.match, lines) if m)
    same = {desc: n for desc, n in descs.items() if n >= 2}
    if same:
        problems.append(f"o mesmo treino em várias linhas: {same}")
    epochs = [line for line in lines if EPOCH_LINE.match(line)]
    if len(epochs) >= 2:
        problems.append(f"{len(epochs)} linhas por época")
    return problems


def test_progress_problems_detector():
    assert progress_problems("treino: 940/940 lotes em 12 s, perda=0.3") == []
    assert progress_problems("a: 10/10 lotes em 1 s\nb: 10/10 lotes em 1 s") == []  # dois treinos
    assert progress_problems("treino:  10%|#   | 1/10 [00:01<00:09, 1.0it/s]\r"
                             "treino:  20%|##  | 2/10 [00:02<00:08, 1.0it/s]")
    assert progress_problems("treino: 5/10 lotes em 1 s\ntreino: 10/10 lotes em 2 s")
    assert progress_problems("época 1/3: perda 0,5\népoca 2/3: perda 0,4")


def test_one_progress_line_per_training_in_built_pages():
    """Cada treino mostra uma linha só na página (LIVRO_BUILD), nunca uma por época ou por lote."""
    chapters = _chapter_pages()
    assert chapters, f"nenhuma página de capítulo em {HTML}"
    bad = {}
    for page in chapters:
        for block in soup(page).select("div.cell_output div.output"):
            problems = progress_problems(block.get_text())
            if problems:
                bad.setdefault(page.name, []).extend(problems)
    assert not bad, f"saídas com mais de uma linha de progresso por treino: {bad}"


VERSION_CONTEXT = r"(?:scikit-learn|PyTorch|torch|torchvision|diffusers|Python|NumPy|versão|edição)\s*$"


def pasted_number_problems(text):
    """O que há de errado num valor colado: hífen ASCII como sinal de menos, ponto decimal."""
    problems = []
    if re.search(r"(?:^|[\s(\[=])-\d", text):
        problems.append("hífen ASCII como sinal de menos (use livro.fmt, que escreve −)")
    if re.search(r"(?<![\d.])\d+\.\d+(?![\d.])", text) and not re.search(r"\d\.\d{3}(?!\d)", text):
        problems.append("ponto decimal (use livro.fmt, que escreve vírgula)")
    return problems


def test_pasted_number_problems_detector():
    assert pasted_number_problems("-4,7")
    assert pasted_number_problems("14.1")
    assert not pasted_number_problems("−4,7")
    assert not pasted_number_problems("60.000")
    assert not pasted_number_problems("2-D")


def test_glued_numbers_render_in_portuguese():
    """Cada valor colado (glue) nas páginas usa vírgula decimal e o sinal de menos "−"."""
    bad = []
    for page in _chapter_pages():
        for span in soup(page).select("span.pasted-text"):
            text = span.get_text()
            before = span.previous_sibling if isinstance(span.previous_sibling, str) else ""
            if text.startswith("§") or re.search(VERSION_CONTEXT, before):
                continue  # seção de outra obra (§12.6) ou versão de uma biblioteca (scikit-learn 1.9)
            for problem in pasted_number_problems(text):
                bad.append(f"{page.name}: {text!r}: {problem}")
    assert not bad, "\n".join(bad)
