#!/usr/bin/env bash
# The README's first command: serve the example chat (examples/server.py) on
# http://127.0.0.1:8000/ -- a scripted assistant in every protocol, and a page
# that renders the Data Stream as it arrives; with Node >= 20.19 it first builds
# the assistant-ui and useChat apps of examples/frontends, served at /apps/.
#
#   ./scripts/demo.sh                  serve on 127.0.0.1:8000
#   ./scripts/demo.sh --port 9000      arguments go to examples/server.py
#   ./scripts/demo.sh print [PROTOCOL] print one run's bytes in every protocol
#                                      (examples/print_protocols.py, no server)
set -euo pipefail
. "$(dirname "$0")/_venv.sh"

if [ "${1:-}" = "print" ]; then
    shift
    # The printing example needs only the core package (no web framework).
    if ! python -c 'import assistant_stream_core' 2>/dev/null; then
        echo "--> installing assistant-stream-ce into .venv"
        python -m pip install -q -e .
    fi
    exec python examples/print_protocols.py "$@"
fi

# The server needs the Starlette adapter and an ASGI server.
if ! python -c 'import assistant_stream_starlette, uvicorn' 2>/dev/null; then
    echo "--> installing assistant-stream-ce[starlette,server] into .venv"
    python -m pip install -q -e '.[starlette,server]'
fi

# The assistant-ui and useChat apps (/apps/...) need Node; the plain page does not.
if ! bash scripts/build-frontends.sh; then
    echo "--> the front ends at /apps/ are not built; the page at / works without them" >&2
fi

exec python examples/server.py "$@"
