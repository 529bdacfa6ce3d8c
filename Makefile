# Ponto de entrada único do livro. Os dois comandos do README fazem toda a preparação:
#   make book   → HTML em _build/html e PDF em _build/latex/livro.pdf
#   make test   → testes do pacote, construção estrita (--all) e testes do que foi gerado
#   make rapido → reconstrói só o que mudou (HTML), sem preparar nada
#   make texto  → confere a ortografia e os números fora de glue (scripts/verifica_*.py)
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := book

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# O kernel que executa os capítulos roda num segundo ambiente, feito só com binder/requirements.txt:
# a construção estrita (--all) é também a execução de cada capítulo no ambiente do Binder.
BINDER := .venv-binder
KERNELS := $(BINDER)/kernel
JB := $(VENV)/bin/jupyter-book
STRICT := -n -W --keep-going

# nada é baixado durante a construção; o kernel não avisa sobre TCP
export LIVRO_OFFLINE := 1
export LIVRO_BUILD := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# cache do torch.compile desta cópia: o padrão, em /tmp, é dividido pela máquina, e um .so pela
# metade deixado por uma compilação interrompida derruba as seguintes
export TORCHINDUCTOR_CACHE_DIR := $(CURDIR)/_build/torchinductor
# o kernelspec "python3" desta pasta vem antes do da .venv (JUPYTER_PATH tem precedência)
export JUPYTER_PATH := $(CURDIR)/$(KERNELS)

.PHONY: book test rapido setup sistema html html-strict pdf unit texto clean

book: setup html pdf

test: setup unit html-strict pdf
	$(PY) -m pytest -q tests/test_build.py tests/test_browser.py

rapido:
	$(PY) scripts/invalidate_stale.py
	$(JB) build . --builder html $(STRICT)

setup: sistema $(VENV)/.instalado $(BINDER)/.instalado _vendor/static/mathjax/tex-chtml.js

sistema:
	@bash scripts/setup-system.sh

$(VENV)/.instalado: requirements.txt code/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	mkdir -p $(VENV)/etc/ipython
	echo "c.IPKernelApp.log_level = 'ERROR'" > $(VENV)/etc/ipython/ipython_kernel_config.py
	touch $@

# Sem novas tentativas: onde o índice de rodas só-CPU do PyTorch não responde, o pip segue para o
# PyPI, que tem as mesmas versões. O kernel importa o `livro` desta cópia (PYTHONPATH), para que
# uma mudança no pacote valha sem reinstalar.
$(BINDER)/.instalado: binder/requirements.txt code/pyproject.toml scripts/kernel_binder.py
	rm -rf $(BINDER)
	$(PYTHON) -m venv $(BINDER)
	PIP_RETRIES=0 $(BINDER)/bin/python -m pip install -q --disable-pip-version-check -r binder/requirements.txt
	mkdir -p $(BINDER)/etc/ipython
	echo "c.IPKernelApp.log_level = 'ERROR'" > $(BINDER)/etc/ipython/ipython_kernel_config.py
	$(BINDER)/bin/python scripts/kernel_binder.py $(KERNELS)
	touch $@

_vendor/static/mathjax/tex-chtml.js: scripts/vendor-mathjax.sh
	bash scripts/vendor-mathjax.sh

unit:
	$(PY) -m pytest -q tests --ignore=tests/test_build.py --ignore=tests/test_browser.py

# ortografia e números fora de glue no livro inteiro (também em tests/test_texto.py, via unit)
texto: sistema
	$(PY) scripts/verifica_ortografia.py
	$(PY) scripts/verifica_numeros.py

_build/extra:
	mkdir -p $@

html: _build/extra
	$(PY) scripts/invalidate_stale.py
	$(JB) build . --builder html $(STRICT)

html-strict: _build/extra
	$(PY) scripts/invalidate_stale.py
	$(JB) build . --builder html $(STRICT) --all

pdf: _build/extra
	$(JB) build . --builder pdflatex $(STRICT)
	cp _build/latex/livro.pdf _build/extra/livro.pdf
	cp _build/latex/livro.pdf _build/html/livro.pdf

clean:
	rm -rf _build
