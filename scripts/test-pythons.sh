#!/usr/bin/env bash
# The version-sensitive part of the suite on every other Python the package
# claims (pyproject's "Programming Language :: Python :: 3.X" classifiers):
#
# * the lowest claimed Python with every runtime dependency at its declared
#   lower bound (scripts/test-lowest.sh);
# * each other one, but the main interpreter's, in its own virtualenv
#   (.venv-3.X) with the newest releases uv resolves for it (Django 6 needs
#   Python 3.12 or newer, so only these runs meet it).
#
# What differs between interpreters is what these tests cover: the asyncio
# internals of the serving loop's write-through, the frameworks' releases,
# the interpreter's recursion limits. The runs go side by side (their tests
# mostly wait on sockets); a test that fails there runs again alone, and only
# a second failure fails the run, since a few tests bound latencies that two
# busy cores can stretch. Each run's output is printed when all are done.
#
# A missing interpreter fails the run when CI=true and is skipped, saying so,
# elsewhere. Extra arguments go to every pytest run.
set -euo pipefail
. "$(dirname "$0")/_venv.sh"

# The run layer, the request readers, the core, and the adapters on their
# servers (the lowest run: scripts/test-lowest.sh's list). The adapters' tests
# repeat each scenario per protocol; the protocols' bytes depend on neither
# the interpreter nor the frameworks, so these runs keep the Data Stream's. The protocols, interop, browser, resumable and upstream
# suites and the benchmarks' tests run on the main interpreter
# (./scripts/test.sh).
DIRS=(tests/run tests/conversation tests/core tests/adapters)
ONE_PROTOCOL="not assistant_transport and not openai_chat and not ui_message_stream and not ag_ui"

main=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
claimed=$(python - <<'EOF'
import tomllib

with open("pyproject.toml", "rb") as file:
    classifiers = tomllib.load(file)["project"]["classifiers"]
prefix = "Programming Language :: Python :: 3."
versions = sorted(
    (c.removeprefix("Programming Language :: Python :: ") for c in classifiers
     if c.startswith(prefix) and c[len(prefix):].isdigit()),
    key=lambda v: tuple(map(int, v.split("."))),
)
print(" ".join(versions))
EOF
)
lowest=${claimed%% *}

# shellcheck source=scripts/_python.sh
. scripts/_python.sh

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
names=()

# One run: its name, the virtualenv's Python, then the command (in the background).
start() {
    local name=$1 python=$2
    shift 2
    names+=("$name")
    echo "$python" > "$logs/$name.python"
    (if "$@" > "$logs/$name.log" 2>&1; then echo 0; else echo $?; fi > "$logs/$name.status") &
}

newest() {
    local interpreter=$1 venv=".venv-$2"
    shift 2
    # (Run as an if's condition, where set -e is off: each step returns on failure.)
    # uv, not pip: on a fresh machine it installs these in seconds, not minutes.
    [ -x "$venv/bin/python" ] || uv venv -q --seed --python "$interpreter" "$venv" || return
    uv pip install -q --python "$venv/bin/python" -e '.[all,test]' || return
    uv pip freeze -q --python "$venv/bin/python" \
        | grep -iE '^(anyio|msgspec|starlette|fastapi|aiohttp|django|uvicorn|langgraph)==' \
        | tr '\n' ' '
    echo
    echo "--> pytest ${DIRS[*]} (adapters: the Data Stream's tests)"
    "$venv/bin/python" -m pytest -p no:cacheprovider -q "${DIRS[@]}" -k "$ONE_PROTOCOL" "$@"
}

# The virtualenvs of the newest releases are made by uv, from the main one.
command -v uv >/dev/null || python -m pip install -q --progress-bar off uv

for version in $claimed; do
    if [ "$version" = "$lowest" ]; then
        echo "--> Python $version, the lowest dependencies (scripts/test-lowest.sh)"
        start "$version-lowest" .venv-lowest/bin/python \
            bash scripts/test-lowest.sh -q -k "$ONE_PROTOCOL" "$@"
        continue
    fi
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
    echo "--> Python $version ($interpreter), the newest dependencies, in .venv-$version"
    start "$version" ".venv-$version/bin/python" newest "$interpreter" "$version" "$@"
done
wait

for name in "${names[@]}"; do
    echo "--> Python $name:"
    cat "$logs/$name.log"
    [ "$(cat "$logs/$name.status")" = 0 ] && continue
    # The ids from pytest's summary (-ra): "FAILED <id> - <message>".
    mapfile -t again < <(sed -nE 's/^(FAILED|ERROR) (tests\/[^ ]+)( - .*)?$/\2/p' "$logs/$name.log")
    if [ "${#again[@]}" -eq 0 ]; then
        failed+=("$name")
        continue
    fi
    echo "--> Python $name: the ${#again[@]} failed test(s) again, alone"
    "$(cat "$logs/$name.python")" -m pytest -p no:cacheprovider -q "${again[@]}" || failed+=("$name")
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "error: the suite failed on Python ${failed[*]}" >&2
    exit 1
fi
