#!/usr/bin/env bash
# `npm run setup`: installs what codemesh needs on a Debian/Ubuntu machine. Idempotent.
#  - apt: nats-server (the bus), bubblewrap (the sandbox), git, python3 + pytest + coverage (Python repos' tests),
#    golang-go (Go repos' tests and their coverage), chromium (the console's browser test drives /usr/bin/chromium with playwright-core: never a browser download)
#  - npm: the pinned dependencies (npm ci)
#  - the web console (console/dist, served by the gateway at /console/): rebuilt when its sources changed
#  - with --local-model (`npm run setup -- --local-model`): node-llama-cpp 3.21.1 for the embedded local
#    model (CODEMESH_LLM_PROVIDER=local): prebuilt CPU binaries, no compiler, but 732 MB, so not by default
set -euo pipefail
cd "$(dirname "$0")/.."

local_model=0
for arg in "$@"; do
  case "$arg" in
    --local-model) local_model=1 ;;
    *) echo "setup: unknown option $arg (known: --local-model)" >&2; exit 2 ;;
  esac
done

missing=()
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# The Tester runs /usr/bin/python3 when there is one (actors/tester/detect.ts): pytest must be in that
# interpreter, not only in a python3 earlier on PATH (a pyenv shim has its own packages).
py=/usr/bin/python3; [ -x "$py" ] || py=python3
(cd / && "$py" -m pytest --version >/dev/null 2>&1) || missing+=(python3-pytest)
# The Tester measures the coverage of a change with coverage.py in the interpreter the sandbox runs.
(cd / && "$py" -c 'import coverage' >/dev/null 2>&1) || missing+=(python3-coverage)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Go repositories' tests (and their coverage, `go test -coverprofile`) need the toolchain in the sandbox.
command -v go >/dev/null 2>&1 || missing+=(golang-go)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get"
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

node -e 'const [M]=process.versions.node.split(".").map(Number); if (M<20) { console.error("setup: Node 20+ is needed, found "+process.versions.node); process.exit(1) }'

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi

# Not in package.json (the default install stays small): installed beside it, kept out of the lock file.
# `npm ci` above removes it again, so it is installed after every `npm ci`.
if [ "$local_model" = 1 ]; then
  echo "setup: installing node-llama-cpp@3.21.1 for the embedded local model (732 MB)"
  npm i -E --no-save --no-audit --no-fund --loglevel=error node-llama-cpp@3.21.1
  node -e 'import("node-llama-cpp").then(m => m.getLlama({ gpu: false, build: "never" })).then(l => l.dispose()).then(() => console.log("setup: node-llama-cpp loads (CPU)"))'
fi

if [ ! -f console/dist/index.html ] || [ -n "$(find console/src console/index.html console/vite.config.ts package-lock.json -newer console/dist/index.html -print -quit)" ]; then
  npm run --silent console:build -- --logLevel warn
fi

echo "setup: ok — nats-server $(nats-server --version 2>&1 | head -1 | awk '{print $NF}'), bwrap $(bwrap --version | awk '{print $2}'), chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), node $(node --version)"
