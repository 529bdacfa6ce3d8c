// Ajustes do livro em cada página do site.

// Textos que extensões escrevem em inglês pelo JavaScript, sem catálogo de tradução.
const LIVRO_TRADUCOES = {
  "Toggle hidden content": "Mostrar ou esconder o conteúdo",
  "Click to show": "Clique para mostrar",
  "Click to hide": "Clique para esconder",
  "Copy": "Copiar",
  "Copied!": "Copiado!",
  "Copy to clipboard": "Copiar para a área de transferência",
  "Search": "Buscar",
  "Page": "Página",
  "Main": "Conteúdo principal",
};

function livroTraduz(root) {
  for (const attr of ["aria-label", "title", "data-tooltip", "placeholder"]) {
    root.querySelectorAll(`[${attr}]`).forEach((el) => {
      const value = el.getAttribute(attr);
      if (value in LIVRO_TRADUCOES) el.setAttribute(attr, LIVRO_TRADUCOES[value]);
    });
  }
}

// Botão "PDF" no cabeçalho de cada página, apontando para o livro inteiro em PDF.
function livroBotaoPdf() {
  const root = document.documentElement.dataset.content_root || "./";
  const bar = document.querySelector(".article-header-buttons");
  if (!bar || document.getElementById("livro-pdf")) return;
  const link = document.createElement("a");
  link.id = "livro-pdf";
  link.href = root + "livro.pdf";
  link.className = "btn btn-sm";
  link.title = "Baixar o livro inteiro em PDF";
  link.setAttribute("aria-label", "Baixar o livro inteiro em PDF");
  link.textContent = "PDF";
  bar.prepend(link);
}

document.addEventListener("DOMContentLoaded", livroBotaoPdf);
window.addEventListener("load", () => {
  livroTraduz(document);
  // elementos criados depois (botões de copiar, dicas) também são traduzidos
  new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach((n) => {
    if (n.nodeType === 1) livroTraduz(n.parentNode || n);
  }))).observe(document.body, { childList: true, subtree: true });
});
