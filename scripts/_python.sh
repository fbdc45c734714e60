# Sourced by the scripts that test other interpreters: find_python 3.X prints
# the path of a Python 3.X, or fails. python3.X on PATH comes first (unless
# it is a pyenv shim for a version not selected), then pyenv's newest 3.X:
# the first that runs and is that version.

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
