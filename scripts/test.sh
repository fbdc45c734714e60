#!/usr/bin/env bash
# Everything CI checks, in one command: install, lint, type-check, test.
# Extra arguments go to pytest, e.g. ./scripts/test.sh tests/protocols -x
set -euo pipefail
. "$(dirname "$0")/_venv.sh"

echo "--> installing assistant-stream-ce with every extra"
python -m pip install -q -e '.[all,test,lint,docs]'

echo "--> installing the Node clients for the interop tests"
if [ -f scripts/install-node-deps.sh ]; then
    bash scripts/install-node-deps.sh
elif [ -f tests/interop/package-lock.json ]; then
    if ! command -v npm >/dev/null; then
        echo "warning: npm not found; the interop tests will be skipped (or fail in CI)" >&2
    # npm ci wipes node_modules; skip it while the lock file is unchanged.
    elif ! cmp -s tests/interop/package-lock.json tests/interop/node_modules/.installed-lock.json
    then
        (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
        cp tests/interop/package-lock.json tests/interop/node_modules/.installed-lock.json
    fi
else
    echo "    (no tests/interop/package-lock.json yet)"
fi

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
