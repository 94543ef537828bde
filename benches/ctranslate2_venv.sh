#!/usr/bin/env bash
# Prints the Python interpreter of the CTranslate2 bench venv, creating it first when absent.
# CTranslate2 is only needed by benches/abstractive_ctranslate2.py, so it lives in its own venv
# beside the project's torch venv (whose torch and transformers 4.44 its converter uses, seen
# through a .pth file) instead of in scripts/requirements.txt.
# Usage: benches/ctranslate2_venv.sh TORCH_VENV_PYTHON
set -euo pipefail
base_python="$1"
venv="$HOME/.cache/newsgist/py-ct2-4.5.0"
if ! "$venv/bin/python" -c "import ctranslate2" 2>/dev/null; then
    "$base_python" -m venv "$venv"
    site=$("$base_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    own=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$site" > "$own/newsgist-torch.pth"
    # 4.5.0: the last release whose converter works with transformers 4.44.
    "$venv/bin/pip" install --quiet ctranslate2==4.5.0 >&2
fi
echo "$venv/bin/python"
