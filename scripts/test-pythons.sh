#!/usr/bin/env bash
# The version-sensitive part of the suite on every other Python the package
# claims (pyproject's "Programming Language :: Python :: 3.X" classifiers),
# each in its own virtualenv (.venv-3.X) with the newest releases pip resolves
# for that interpreter. What differs between interpreters is what these tests
# cover: the asyncio internals of the serving loop's write-through, the
# interpreter's recursion limits, and each framework's newest release (Django
# 6 needs Python 3.12 or newer, so only these runs meet it).
#
# A missing interpreter fails the run when CI=true and is skipped, saying so,
# elsewhere.
# Extra arguments go to every pytest run, e.g. ./scripts/test-pythons.sh -x
set -euo pipefail
. "$(dirname "$0")/_venv.sh"

# What depends on the interpreter or on the frameworks' releases: the run
# layer, the request readers, the core, and the adapters on their servers. The
# adapters' tests repeat each scenario per protocol; the protocols' bytes do
# not depend on the interpreter, so here the adapters run with the Data Stream
# only. The protocols, interop, browser, resumable and upstream suites and the
# benchmarks' tests run on the main interpreter (./scripts/test.sh).
DIRS=(tests/run tests/conversation tests/core)
ADAPTERS_ONE_PROTOCOL="not assistant_transport and not openai_chat and not ui_message_stream and not ag_ui"

main=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
claimed=$(python - <<'EOF'
import tomllib

with open("pyproject.toml", "rb") as file:
    classifiers = tomllib.load(file)["project"]["classifiers"]
prefix = "Programming Language :: Python :: 3."
print(" ".join(c.removeprefix("Programming Language :: Python :: ") for c in classifiers
               if c.startswith(prefix) and c[len(prefix):].isdigit()))
EOF
)

# python3.X on PATH (unless it is a pyenv shim for a version not selected),
# else pyenv's newest 3.X: the first that runs and is that version.
find_python() {
    local version=$1 candidate
    for candidate in $(command -v "python$version") $(
        ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version".*/bin/python 2>/dev/null | sort -rV
    ); do
        if "$candidate" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$version')" \
            2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    return 1
}

failed=()
for version in $claimed; do
    [ "$version" = "$main" ] && continue
    if ! interpreter=$(find_python "$version"); then
        if [ "${CI:-}" = true ]; then
            echo "error: no Python $version (python$version on PATH, or pyenv's)," \
                "which pyproject's classifiers claim" >&2
            failed+=("$version (missing)")
        else
            echo "--> skipping Python $version: not found (install it, e.g. pyenv install $version)"
        fi
        continue
    fi
    venv=".venv-$version"
    echo "--> Python $version ($interpreter): installing into $venv"
    [ -x "$venv/bin/python" ] || "$interpreter" -m venv "$venv"
    # (pip's warnings about index locations this machine lacks are noise here)
    "$venv/bin/python" -m pip install -q --progress-bar off -e '.[all,test]' 2>&1 \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; }
    "$venv/bin/python" -m pip list --format=freeze 2>/dev/null \
        | grep -iE '^(anyio|msgspec|starlette|fastapi|aiohttp|django|uvicorn|redis|langgraph)==' \
        | tr '\n' ' '
    echo
    echo "--> Python $version: pytest ${DIRS[*]}, then tests/adapters (Data Stream)"
    "$venv/bin/python" -m pytest -p no:cacheprovider -q "${DIRS[@]}" "$@" \
        && "$venv/bin/python" -m pytest -p no:cacheprovider -q tests/adapters \
            -k "$ADAPTERS_ONE_PROTOCOL" "$@" \
        || failed+=("$version")
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "error: the suite failed on Python ${failed[*]}" >&2
    exit 1
fi
