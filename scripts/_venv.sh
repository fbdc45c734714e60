# Sourced by the scripts in this folder: enter the repository's virtualenv,
# creating it on first use. Set PYTHON to choose the interpreter (>= 3.10).

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then
    python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        echo "error: $python is older than Python 3.10; set PYTHON=/path/to/python3.10+" >&2
        exit 1
    fi
    echo "--> creating .venv with $("$python" --version)"
    "$python" -m venv .venv
fi

# shellcheck disable=SC1091
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
