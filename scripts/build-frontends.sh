#!/usr/bin/env bash
# Build the two front ends of examples/frontends (an assistant-ui thread and a
# Vercel AI SDK useChat page) into examples/frontends/dist, which the example
# server serves at /apps/assistant-ui/ and /apps/ai-sdk/. The npm packages are
# installed exactly as pinned by examples/frontends/package-lock.json.
#
#   scripts/build-frontends.sh           install and build unless up to date
#   scripts/build-frontends.sh --force   always run `npm ci` and the build
#
# Fails loudly (exit 1) if node or npm is missing or Node is older than 20.19
# (Vite 8's floor): the browser tests of the front ends skip without the build
# on a developer machine but fail in CI.
set -euo pipefail

script_dir="${BASH_SOURCE[0]%/*}"
[ "$script_dir" != "${BASH_SOURCE[0]}" ] || script_dir=.
app_dir="$(cd "${script_dir}/../examples/frontends" && pwd)"
force="${1:-}"

die() {
    echo "error: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node is not on PATH; install Node.js >= 20.19"
command -v npm >/dev/null 2>&1 || die "npm is not on PATH; install npm (it ships with Node.js)"
node -e '
const [major, minor] = process.versions.node.split(".").map(Number);
process.exit(major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19) ? 0 : 1);
' || die "Node.js $(node --version) is too old; the front ends need Node.js ^20.19 or >= 22.12"

cd "$app_dir"
[ -f package-lock.json ] || die "${app_dir}/package-lock.json is missing"

# `npm ci` deletes node_modules first, so skip it while the installed tree
# still matches the lock file (the copy is written only after a good install).
installed="node_modules/.installed-lock.json"
if [ "$force" = "--force" ] || ! cmp -s package-lock.json "$installed"; then
    echo "examples/frontends: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json "$installed"
else
    echo "examples/frontends: node_modules is up to date"
fi

# Rebuild only when a source, the config or the lock changed since the last
# good build (the hash is written into dist/ after it).
sources="$(find assistant-ui ai-sdk shared -type f | LC_ALL=C sort) index.html package-lock.json tsconfig.json vite.config.ts"
# shellcheck disable=SC2086
hash="$(sha256sum $sources | sha256sum | cut -d' ' -f1)"
built="dist/.sources.sha256"
if [ "$force" != "--force" ] && [ "$(cat "$built" 2>/dev/null)" = "$hash" ]; then
    echo "examples/frontends: dist is up to date"
    exit 0
fi
echo "examples/frontends: type-check and build"
npm run --silent build
echo "$hash" >"$built"
