#!/usr/bin/env bash
# Everything CI checks, in one command: install, lint, type-check, test.
# Extra arguments go to pytest, e.g. ./scripts/test.sh tests/protocols -x
set -euo pipefail
. "$(dirname "$0")/_venv.sh"

# Each step's line says when it started: where a slow CI run spent its time.
step() { echo "--> [$(date -u +%H:%M:%S)] $*"; }

step "installing assistant-stream-ce with every extra (uv, into .venv)"
# uv resolves and downloads in parallel: seconds where pip takes minutes on a
# fresh machine. It goes into the virtualenv first, with pip.
command -v uv >/dev/null || python -m pip install -q --progress-bar off uv
uv pip install -e '.[all,test,lint,docs,release]'

step "installing the Node clients for the interop tests"
bash scripts/install-node-deps.sh

step "building the front ends for the browser tests (examples/frontends)"
bash scripts/build-frontends.sh

step "fetching upstream's test suite (the assistant-stream 0.0.36 sdist)"
if [ ! -f .cache/upstream/assistant_stream-0.0.36.tar.gz ]; then
    python -m pip download -q --no-deps --no-binary :all: \
        -d .cache/upstream "assistant-stream==0.0.36"
fi

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    echo "--> no nginx: the reverse proxy tests (tests/proxies) will skip" \
        "(sudo apt-get install nginx)"
fi

if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    echo "--> no Chromium: the browser tests will skip (sudo apt-get install chromium," \
        "or set CHROMIUM_PATH)"
fi

step "ruff"
ruff check .
ruff format --check .

step "mypy"
mypy

if [ "$#" -eq 0 ]; then
    # The whole run (CI's) also checks what would be published: the sdist and
    # the wheel, and the wheel alone in a clean virtualenv. Before pytest, so
    # that pytest's summary is the last thing a run prints.
    step "the distributions (scripts/check_dist.py)"
    python scripts/check_dist.py
    # The same run also covers every other Python the package claims (their
    # own virtualenvs, newest releases): see the script.
    step "the other supported Pythons (scripts/test-pythons.sh)"
    bash scripts/test-pythons.sh
fi

step "pytest"
if [ "$#" -eq 0 ]; then
    # The whole suite on every core (pytest-xdist): each test still runs
    # whole in one process, with its own servers on ports of its own.
    python -m pytest -p no:cacheprovider -n auto
else
    python -m pytest -p no:cacheprovider "$@"
fi
