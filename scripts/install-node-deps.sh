#!/usr/bin/env bash
# Install the JavaScript packages the tests drive, exactly as pinned by their
# lock files: the interop clients (tests/interop) and the npm resumable-stream
# Redis store (tests/resumable/npm).
#
#   scripts/install-node-deps.sh           install unless already up to date
#   scripts/install-node-deps.sh --force   always run `npm ci`
#
# Fails loudly (exit 1) if node or npm is missing or Node is older than 18: the
# interop tests skip without them on a developer machine but fail in CI.
set -euo pipefail

MIN_NODE_MAJOR=18
script_dir="${BASH_SOURCE[0]%/*}"
[ "$script_dir" != "${BASH_SOURCE[0]}" ] || script_dir=.
interop_dir="$(cd "${script_dir}/../tests/interop" && pwd)"

die() {
    echo "error: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node is not on PATH; install Node.js >= ${MIN_NODE_MAJOR}"
command -v npm >/dev/null 2>&1 || die "npm is not on PATH; install npm (it ships with Node.js)"

node_version="$(node --version)"
node_major="${node_version#v}"
node_major="${node_major%%.*}"
if ! [[ "$node_major" =~ ^[0-9]+$ ]] || ((node_major < MIN_NODE_MAJOR)); then
    die "Node.js ${node_version} is too old; the interop tests need Node.js >= ${MIN_NODE_MAJOR}"
fi
echo "node ${node_version}, npm $(npm --version)"

# tests/interop: the clients; tests/resumable/npm: the npm Redis store.
install() {
    local dir="$1" name="$2"
    [ -f "${dir}/package-lock.json" ] || die "${dir}/package-lock.json is missing"
    # `npm ci` deletes node_modules first, so skip it while the installed tree
    # still matches the lock file (the copy is written only after a good install).
    local stamp="${dir}/node_modules/.installed-lock.json"
    if [ "$force" != "--force" ] && cmp -s "${dir}/package-lock.json" "$stamp"; then
        echo "${name}: node_modules is up to date"
        return 0
    fi
    echo "${name}: npm ci"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "${dir}/package-lock.json" "$stamp"
}

force="${1:-}"
install "$interop_dir" tests/interop
install "$(cd "${script_dir}/../tests/resumable/npm" && pwd)" tests/resumable/npm
