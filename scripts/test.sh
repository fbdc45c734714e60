#!/usr/bin/env bash
# Everything CI checks, in one command: install, lint, type-check, test.
# Extra arguments go to pytest, e.g. ./scripts/test.sh tests/protocols -x
set -euo pipefail
. "$(dirname "$0")/_venv.sh"

echo "--> installing assistant-stream-ce with every extra (uv, into .venv)"
# uv resolves and downloads in parallel: seconds where pip takes minutes on a
# fresh machine. It goes into the virtualenv first, with pip.
command -v uv >/dev/null || python -m pip install -q --progress-bar off uv
uv pip install -e '.[all,test,lint,docs,release]'

echo "--> installing the Node clients for the interop tests"
bash scripts/install-node-deps.sh

echo "--> building the front ends for the browser tests (examples/frontends)"
bash scripts/build-frontends.sh

echo "--> fetching upstream's test suite (the assistant-stream 0.0.36 sdist)"
if [ ! -f .cache/upstream/assistant_stream-0.0.36.tar.gz ]; then
    python -m pip download -q --no-deps --no-binary :all: \
        -d .cache/upstream "assistant-stream==0.0.36"
fi

if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    echo "--> no Chromium: the browser tests will skip (sudo apt-get install chromium," \
        "or set CHROMIUM_PATH)"
fi

echo "--> ruff"
ruff check .
ruff format --check .

echo "--> mypy"
mypy

if [ "$#" -eq 0 ]; then
    # The whole run (CI's) also checks what would be published: the sdist and
    # the wheel, and the wheel alone in a clean virtualenv. Before pytest, so
    # that pytest's summary is the last thing a run prints.
    echo "--> the distributions (scripts/check_dist.py)"
    python scripts/check_dist.py
    # The same run also covers every other Python the package claims (their
    # own virtualenvs, newest releases): see the script.
    echo "--> the other supported Pythons (scripts/test-pythons.sh)"
    bash scripts/test-pythons.sh
fi

echo "--> pytest"
python -m pytest -p no:cacheprovider "$@"
