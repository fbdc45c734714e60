#!/usr/bin/env bash
# The tests against the LOWEST versions pyproject.toml allows, on the lowest
# Python it claims (3.10): proof that the declared lower bounds are true.
#
#   scripts/test-lowest.sh            install into .venv-lowest, then run the tests
#   scripts/test-lowest.sh -x -k sse  extra arguments go to pytest
#
# The runtime dependencies (the core's and every extra's that `all` names) are
# installed by uv with --resolution lowest-direct; scripts/lowest_deps.py then
# fails the run if any of them is not exactly its declared bound, and pins
# them while the test tools install at their newest compatible versions.
# Without Python 3.10 it skips (exit 0) on a developer machine and fails when
# CI=true.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The tests that call the frameworks' APIs (adapters, the run layer's servers,
# request reading, LangGraph), about 4 minutes on 2 busy cores. Left out:
# tests/protocols and tests/core (msgspec alone, which these import too) and
# the rest of tests/resumable (its Redis store contract, offset-id and
# unleased-append tests stay: redis.asyncio, its scripts and connections).
TEST_DIRS=(tests/adapters tests/run tests/conversation tests/langgraph tests/resumable/test_redis_contract.py
    tests/resumable/test_redis_offset_ids.py tests/resumable/test_redis_unleased_append.py)
VENV=.venv-lowest
# Starlette's own GZipMiddleware flushes each streamed body message from
# Starlette 1.5.0 (its release notes: "Flush GZip output for each streamed
# chunk"); older releases hold compressed frames back. The docs say so
# (docs/adapters/starlette.rst); this test, which needs the flush, runs on the
# newest releases only.
DESELECT=(
    --deselect "tests/adapters/test_compression.py::test_starlette_gzip_middleware_passes_each_drain_through"
)

# shellcheck source=scripts/_python.sh
. scripts/_python.sh

if ! python=$(find_python 3.10); then
    message="no Python 3.10 (python3.10 on PATH or ${PYENV_ROOT:-$HOME/.pyenv}/versions/3.10.*)"
    if [ "${CI:-}" = "true" ]; then
        echo "error: ${message}: the lowest-versions tests need it" >&2
        exit 1
    fi
    echo "--> skipping the lowest-versions tests: ${message}"
    exit 0
fi

echo "--> a fresh ${VENV} with $("$python" --version) (${python})"
# Fresh every time: uv keeps versions already installed when they satisfy the
# bounds, so a venv left from an earlier run could hide a bound that is false.
"$python" -m venv --clear "$VENV"
"$VENV/bin/python" -m pip install --quiet --progress-bar off --disable-pip-version-check uv
uv="$VENV/bin/uv"

echo "--> the runtime dependencies at the lowest versions pyproject.toml allows"
"$uv" pip install --quiet --python "$VENV/bin/python" --resolution lowest-direct -e '.[all]'

echo "--> each runtime requirement and the version installed"
pins="$VENV/lowest-pins.txt"
"$VENV/bin/python" scripts/lowest_deps.py "$pins"

echo "--> the test tools at their newest versions that keep those pins"
"$uv" pip install --quiet --python "$VENV/bin/python" --constraint "$pins" -e '.[all,test]'

echo "--> pytest ${TEST_DIRS[*]} ${DESELECT[*]} $*"
"$VENV/bin/python" -m pytest -p no:cacheprovider "${TEST_DIRS[@]}" "${DESELECT[@]}" "$@"
