// Botão "PDF" no cabeçalho de cada página, apontando para o livro inteiro em PDF.
document.addEventListener("DOMContentLoaded", () => {
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
});
