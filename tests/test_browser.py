"""O site construído, testado num navegador de verdade (Chromium do Debian via Playwright).

O ``_build/html`` é servido em localhost; todo pedido a outro endereço é
bloqueado e conta como falha, para provar que o site funciona sem rede.
Capturas de tela ficam em ``_build/screenshots/`` para revisão.
"""

import functools
import http.server
import re
import subprocess
import threading
import unicodedata
import urllib.parse

import pytest
import yaml
from conftest import ROOT
from playwright.sync_api import sync_playwright

HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """Uma aba que registra erros do console, pedidos que falharam e pedidos para fora."""

    def __init__(self, browser, site, **context_kwargs):
        self.context = browser.new_context(**context_kwargs)
        self.page = self.context.new_page()
        self.errors, self.failed, self.external = [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))

        def route(r):
            if r.request.url.startswith(site):
                r.continue_()
            else:
                self.external.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)

    def open(self, url):
        response = self.page.goto(url, wait_until="networkidle")
        assert response is not None and response.ok, url
        return self.page

    def close(self):
        self.context.close()


def toc_pages(browser, site):
    tab = Page(browser, site)
    page = tab.open(f"{site}/book/intro.html")
    links = page.eval_on_selector_all("nav.bd-links a.reference.internal", "els => els.map(e => e.href)")
    tab.close()
    return sorted({urllib.parse.urldefrag(u)[0] for u in links})


def test_home_page_loads_clean(browser, site):
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab = Page(browser, site)
    page = tab.open(f"{site}/index.html")
    assert page.url.endswith("book/intro.html")
    assert "Aprendizado Profundo" in page.title()
    page.screenshot(path=str(SHOTS / "inicio.png"), full_page=True)
    assert tab.errors == [] and tab.failed == [] and tab.external == [], (tab.errors, tab.failed, tab.external)
    tab.close()


def test_every_toc_page_opens_with_math_and_images(browser, site):
    pages = toc_pages(browser, site)
    assert len(pages) >= 6
    for url in pages:
        tab = Page(browser, site)
        page = tab.open(url)
        page.wait_for_function("() => !window.MathJax || !MathJax.startup || MathJax.startup.promise")
        page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
        main_text = page.inner_text("main")
        assert "$$" not in main_text and "\\begin{" not in main_text, url
        if page.locator("main .math").count():
            assert page.locator("mjx-container").count() > 0, url
        broken = page.eval_on_selector_all("main img", "els => els.filter(e => !(e.naturalWidth > 0)).map(e => e.src)")
        assert broken == [], (url, broken)
        assert tab.errors == [] and tab.failed == [] and tab.external == [], (url, tab.errors, tab.failed,
                                                                              tab.external)
        name = url.rsplit("/", 1)[-1].replace(".html", "")
        if name in ("01-verossimilhanca", "construcao", "exercicios"):
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        tab.close()


def test_solution_opens_on_click(browser, site):
    tab = Page(browser, site)
    page = tab.open(f"{site}/book/01-verossimilhanca.html")
    solution = page.locator(".solution.dropdown").first
    body = solution.locator("section").first
    assert not body.is_visible()
    solution.locator("button.toggle-button").click()
    page.wait_for_timeout(500)
    assert body.is_visible()
    tab.close()


def test_search_finds_accented_word(browser, site):
    tab = Page(browser, site)
    page = tab.open(f"{site}/search.html?q=verossimilhan%C3%A7a")
    page.wait_for_selector("#search-results li", timeout=15000)
    hrefs = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.getAttribute('href'))")
    assert any("01-verossimilhanca" in h for h in hrefs), hrefs
    page.screenshot(path=str(SHOTS / "busca.png"))
    tab.close()


def test_launch_and_download_buttons(browser, site):
    tab = Page(browser, site)
    page = tab.open(f"{site}/book/01-verossimilhanca.html")
    hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.href)")
    binder = [h for h in hrefs if "mybinder.org" in h]
    assert binder, hrefs
    repo_path = urllib.parse.urlparse(REPO_URL).path.strip("/")
    assert repo_path in binder[0] and "01-verossimilhanca" in binder[0]
    assert any(h.startswith(REPO_URL) for h in hrefs)
    assert page.locator(".btn-launch-thebe").count() == 1
    downloads = page.eval_on_selector_all(".dropdown-download-buttons a, a.btn-download-source-button, "
                                          "a.btn-download-notebook-button", "els => els.map(e => e.href)")
    local = [u for u in hrefs + downloads if u.startswith(site)]
    md = [u for u in local if u.endswith("01-verossimilhanca.md")]
    ipynb = [u for u in local if u.endswith("01-verossimilhanca.ipynb")]
    assert md and ipynb, downloads
    pdf = page.get_attribute("#livro-pdf", "href")
    assert pdf.endswith("livro.pdf")
    for url in (md[0], ipynb[0], urllib.parse.urljoin(page.url, pdf)):
        response = page.request.get(url)
        assert response.ok, url
    tab.close()


def test_phone_width_has_no_horizontal_scroll(browser, site):
    tab = Page(browser, site, viewport={"width": 375, "height": 800}, device_scale_factor=2, is_mobile=True)
    for path in ("book/intro.html", "book/01-verossimilhanca.html"):
        page = tab.open(f"{site}/{path}")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (path, overflow)
    page.screenshot(path=str(SHOTS / "celular.png"), full_page=False)
    tab.close()


def test_figures_readable_in_dark_mode(browser, site):
    tab = Page(browser, site, color_scheme="dark")
    page = tab.open(f"{site}/book/01-verossimilhanca.html")
    page.evaluate("() => document.documentElement.setAttribute('data-theme', 'dark')")
    colors = page.eval_on_selector_all(".cell_output img", "els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert colors
    for color in colors:
        r, g, b = (int(v) for v in re.findall(r"\d+", color)[:3])
        assert min(r, g, b) > 200, color  # cartão claro atrás da figura transparente
    page.screenshot(path=str(SHOTS / "modo-escuro.png"))
    tab.close()


def test_pdf_chapter_pages_rendered():
    """Primeira página de cada capítulo do PDF em PNG, em _build/screenshots/pdf/."""
    pdf = ROOT / "_build" / "latex" / "livro.pdf"
    out = SHOTS / "pdf"
    out.mkdir(parents=True, exist_ok=True)
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    titles = []
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            first = (ROOT / (chapter["file"] + ".md")).read_text(encoding="utf-8")
            titles.append(re.search(r"^# (.+)$", first, re.M).group(1).replace("*", ""))
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True,
                                                            text=True, check=True).stdout).group(1))
    texts = [subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), str(pdf), "-"], capture_output=True,
                            text=True, check=True).stdout for i in range(1, pages + 1)]
    full = "\n".join(texts)
    assert "??" not in full
    for title in titles:
        assert title in full, title
        start = next(i for i, t in enumerate(texts, 1) if t.lstrip().startswith(("CAPÍTULO", "Capítulo", title))
                     and title in t[:300]) if any(title in t[:300] for t in texts) else None
        if start is None:
            continue
        ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
        stem = re.sub(r"\W+", "-", ascii_title.lower()).strip("-")
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", "-f", str(start), "-l", str(start),
                        str(pdf), str(out / stem)], check=True)
    assert list(out.glob("*.png"))
    exercises = re.findall(r"Exercício \d+\.\d+\.\d+", full)
    assert len(exercises) >= 4
