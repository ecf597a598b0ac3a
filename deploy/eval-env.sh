#!/usr/bin/env bash
# The environment of `codemesh eval swe` (SWE-bench grading without a package index): the Debian python3-*
# packages the five dev-set projects need, and a sitecustomize.py that gives old releases (sympy 1.0/1.1,
# requests 1.x/2.x) the aliases Python 3.10+ removed. Idempotent; `npm run setup` does not run it.
#   bash deploy/eval-env.sh [--shim-only] [SHIM_DIR]
# SHIM_DIR defaults to $CODEMESH_EVAL_SHIM, else ~/.cache/codemesh/eval-shim (where `eval swe` looks); as root
# /usr/local/share/codemesh/eval-shim, which the sandbox's unprivileged user can read (/root cannot be).
set -euo pipefail

shim_only=0
if [ "${1:-}" = "--shim-only" ]; then shim_only=1; shift; fi
if [ "$(id -u)" = 0 ]; then default_shim=/usr/local/share/codemesh/eval-shim
else default_shim="${XDG_CACHE_HOME:-$HOME/.cache}/codemesh/eval-shim"; fi
shim_dir="${1:-${CODEMESH_EVAL_SHIM:-$default_shim}}"

packages=(python3-pytest python3-mpmath python3-tomli python3-hypothesis python3-xmlschema python3-mock
  python3-nose python3-argcomplete python3-attr python3-flask python3-werkzeug python3-click python3-blinker
  python3-itsdangerous python3-jinja2 python3-dotenv python3-asgiref python3-requests python3-socks
  python3-pytest-httpbin python3-httpbin python3-sqlparse python3-tz python3-docutils python3-pil)

if [ "$shim_only" = 0 ]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "eval-env: installing ${missing[*]} with apt-get"
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "eval-env: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

mkdir -p "$shim_dir"
# One shim for the Tester and for grading: actors/tester/pyshim (sitecustomize.py + backports/), copied here.
cp -R "$(dirname "$0")/../actors/tester/pyshim/." "$shim_dir/"
chmod -R a+rX "$shim_dir"
echo "eval-env: ok — shim at $shim_dir/sitecustomize.py (python $(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])'))"
