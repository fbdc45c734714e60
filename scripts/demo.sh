#!/usr/bin/env bash
# Run one small chat run and print the bytes every protocol puts on the wire.
set -euo pipefail
. "$(dirname "$0")/_venv.sh"

# The demo needs only the core package (no web framework).
if ! python -c 'import assistant_stream_core' 2>/dev/null; then
    echo "--> installing assistant-stream-ce into .venv"
    python -m pip install -q -e .
fi

exec python examples/print_protocols.py "$@"
