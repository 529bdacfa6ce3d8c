#!/usr/bin/env python3
"""Registra o ambiente do Binder como o kernel ``python3`` que a construção usa.

Rode com o Python do ambiente feito só com ``binder/requirements.txt`` (o Makefile faz isso):

    .venv-binder/bin/python scripts/kernel_binder.py .venv-binder/kernel

Escreve ``<pasta>/kernels/python3/kernel.json`` apontando para este Python. O Makefile e
``scripts/build_chapter.sh`` põem ``<pasta>`` em ``JUPYTER_PATH``, que o jupyter_client consulta
antes do ambiente da construção: o kernel de nome ``python3``, o do cabeçalho dos capítulos,
passa a ser este. O ``livro`` vem da pasta ``code/`` desta cópia (``PYTHONPATH``), para que uma
mudança no pacote valha na próxima construção sem reinstalar o ambiente.
"""

import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def kernel_spec(python, code_dir):
    return {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ambiente do Binder)",
        "language": "python",
        "env": {"PYTHONPATH": str(code_dir)},
        "metadata": {"debugger": True},
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("uso: python scripts/kernel_binder.py PASTA (por exemplo .venv-binder/kernel)")
    if sys.prefix == sys.base_prefix:
        raise SystemExit("rode este script com o Python do ambiente do Binder (.venv-binder/bin/python)")
    # o caminho do executável do ambiente, sem resolver o link (resolvido, seria o Python de base)
    python = pathlib.Path(os.path.abspath(sys.executable))
    target = pathlib.Path(argv[0]).resolve() / "kernels" / "python3"
    target.mkdir(parents=True, exist_ok=True)
    spec = kernel_spec(python, ROOT / "code")
    (target / "kernel.json").write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"kernel python3 → {python}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
