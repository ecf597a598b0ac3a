#!/usr/bin/env bash
# The environment of `codemesh eval swe` (SWE-bench grading without a package index): the Debian python3-*
# packages the five dev-set projects need, and a sitecustomize.py that gives old releases (sympy 1.0/1.1,
# requests 1.x/2.x) the aliases Python 3.10+ removed. Idempotent; `npm run setup` does not run it.
#   bash deploy/eval-env.sh [--shim-only] [SHIM_DIR]
# SHIM_DIR defaults to $CODEMESH_EVAL_SHIM, else ~/.cache/codemesh/eval-shim (where `eval swe` looks).
set -euo pipefail

shim_only=0
if [ "${1:-}" = "--shim-only" ]; then shim_only=1; shift; fi
shim_dir="${1:-${CODEMESH_EVAL_SHIM:-${XDG_CACHE_HOME:-$HOME/.cache}/codemesh/eval-shim}}"

packages=(python3-pytest python3-mpmath python3-tomli python3-hypothesis python3-xmlschema python3-mock
  python3-nose python3-argcomplete python3-attr python3-flask python3-werkzeug python3-click python3-blinker
  python3-itsdangerous python3-jinja2 python3-dotenv python3-asgiref python3-requests python3-socks
  python3-pytest-httpbin python3-httpbin python3-sqlparse python3-tz)

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
tmp="$(mktemp "$shim_dir/.sitecustomize.XXXXXX")"
cat > "$tmp" <<'PY'
# Written by codemesh deploy/eval-env.sh: aliases that Python 3.10+ removed and old releases still use.
import collections
import collections.abc
import fractions
import inspect
import math

for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Set", "MutableSet", "Iterable",
              "Iterator", "Callable", "Hashable", "Sized", "Container", "Generator", "KeysView", "ItemsView",
              "ValuesView", "MappingView", "Awaitable", "Coroutine", "AsyncIterable", "AsyncIterator"):
    if not hasattr(collections, _name) and hasattr(collections.abc, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

if not hasattr(fractions, "gcd"):
    fractions.gcd = math.gcd

if not hasattr(inspect, "getargspec"):
    _ArgSpec = collections.namedtuple("ArgSpec", "args varargs keywords defaults")

    def getargspec(func):
        spec = inspect.getfullargspec(func)
        return _ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)

    inspect.getargspec = getargspec

# Python 3.10+ requires locations on every AST node, also on the `alias` nodes that old pytest's assertion
# rewriter builds without them.
import ast
import builtins

_compile = builtins.compile


def _compile_with_locations(source, *args, **kwargs):
    if isinstance(source, ast.AST):
        ast.fix_missing_locations(source)
        # Copied start positions without end positions leave ranges that end before they start.
        for node in ast.walk(source):
            line = getattr(node, "lineno", None)
            if line is None:
                continue
            end = getattr(node, "end_lineno", None)
            if end is None or end < line:
                node.end_lineno = line
                node.end_col_offset = getattr(node, "col_offset", 0)
            elif end == line and (getattr(node, "end_col_offset", None) or 0) < (node.col_offset or 0):
                node.end_col_offset = node.col_offset
    return _compile(source, *args, **kwargs)


builtins.compile = _compile_with_locations
PY
mv "$tmp" "$shim_dir/sitecustomize.py"

# pytest < 6 imports atomicwrites (not packaged here): the one function it uses.
tmp="$(mktemp "$shim_dir/.atomicwrites.XXXXXX")"
cat > "$tmp" <<'PY'
# Written by codemesh deploy/eval-env.sh: the part of the atomicwrites package old pytest releases use.
import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path, mode="w", overwrite=False, **open_kwargs):
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".atomicwrites-")
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
PY
mv "$tmp" "$shim_dir/atomicwrites.py"

# pytest 5.x also imports wcwidth and importlib_metadata (backports not packaged here).
tmp="$(mktemp "$shim_dir/.wcwidth.XXXXXX")"
cat > "$tmp" <<'PY'
# Written by codemesh deploy/eval-env.sh: the two functions of the wcwidth package old pytest releases use.
import unicodedata


def wcwidth(c):
    o = ord(c)
    if o == 0:
        return 0
    if o < 32 or 0x7F <= o < 0xA0:
        return -1
    if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def wcswidth(s, n=None):
    total = 0
    for c in s if n is None else s[:n]:
        w = wcwidth(c)
        if w < 0:
            return -1
        total += w
    return total
PY
mv "$tmp" "$shim_dir/wcwidth.py"
printf '%s\n' '# Written by codemesh deploy/eval-env.sh: the standard library has what this backport offered.' \
  'from importlib.metadata import *  # noqa: F401,F403' \
  'from importlib.metadata import PackageNotFoundError, distribution, distributions, entry_points, metadata, version  # noqa: F401' \
  > "$shim_dir/importlib_metadata.py"
echo "eval-env: ok — shim at $shim_dir/sitecustomize.py (python $(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])'))"
