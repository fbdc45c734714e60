#!/usr/bin/env bash
# Everything CI checks, in one command: install, lint, type-check, test.
# Extra arguments go to pytest, e.g. ./scripts/test.sh tests/protocols -x
set -euo pipefail
. "$(dirname "$0")/_venv.sh"

echo "--> installing assistant-stream-ce with every extra"
python -m pip install -q -e '.[all,test,lint,docs]'

echo "--> installing the Node clients for the interop tests"
bash scripts/install-node-deps.sh

echo "--> building the front ends for the browser tests (examples/frontends)"
bash scripts/build-frontends.sh

echo "--> fetching upstream's test suite (the assistant-stream 0.0.36 sdist)"
if [ ! -f .cache/upstream/assistant_stream-0.0.36.tar.gz ]; then
    python -m pip download -q --no-deps --no-binary :all: \
        -d .cache/upstream "assistant-stream==0.0.36"
fi

echo "--> ruff"
ruff check .
ruff format --check .

echo "--> mypy"
mypy

echo "--> pytest"
python -m pytest -p no:cacheprovider "$@"
