"""Sphinx configuration for the assistant-stream-ce documentation.

Build with ``make html`` in this folder (output in ``build/html``) or with
``sphinx-build -W -b html docs docs/build/html``. The build needs no network.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util.matching import patfilter

# Document the source tree even when the package is not installed. Adapter
# packages live under adapters/ and are top-level packages once installed.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "adapters")]

project = "assistant-stream-ce"
author = "assistant-stream-ce contributors"
copyright = "assistant-stream-ce contributors"
# The one source of the version, read from the tree being documented.
release = importlib.import_module("assistant_stream_core").__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

exclude_patterns = ["build", "_build", "Thumbs.db", ".DS_Store"]
nitpicky = False

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

# Offline builds only: no intersphinx inventories are fetched.
html_theme = "furo" if importlib.util.find_spec("furo") else "alabaster"
html_title = f"{project} {release}"


def _leave_out_unwritten_pages(app: Sphinx, docname: str, source: list[str]) -> None:
    """Drop toctree entries of ``index`` that match no page (yet).

    The index lists whole sections by pattern (``protocols/*``, ``adapters/*``)
    so new pages appear without editing it; a pattern nothing matches would
    otherwise be a warning, and the build runs with ``-W``.
    """
    if docname != "index":
        return
    found = app.env.found_docs
    kept: list[str] = []
    in_toctree = False
    for line in source[0].splitlines(keepends=True):
        entry = line.strip()
        if line.startswith(".. toctree::"):
            in_toctree = True
        elif in_toctree and entry and not line[0].isspace():
            in_toctree = False
        elif in_toctree and entry and not entry.startswith(":") and not patfilter(found, entry):
            continue
        kept.append(line)
    source[0] = "".join(kept)


# The modules whose prose is on docs/protocols/<name>.rst, above their automodule.
_PROTOCOL_PAGES = {
    f"assistant_stream_core.protocols.{name}"
    for name in ("ag_ui", "assistant_transport", "data_stream", "openai_chat", "ui_message_stream")
}


def _drop_protocol_module_docstrings(
    app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """A protocol's page holds its prose; its module docstring only points to the page."""
    if what == "module" and name in _PROTOCOL_PAGES:
        lines.clear()


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the index filter and the protocol docstring filter."""
    app.connect("source-read", _leave_out_unwritten_pages)
    app.connect("autodoc-process-docstring", _drop_protocol_module_docstrings)
    return {"parallel_read_safe": True}


# Names every docstring example may use without importing them first.
doctest_global_setup = """
from assistant_stream_core.chunks import *
from assistant_stream_core.protocols.ag_ui import AGUIDecoder, AGUIEncoder
from assistant_stream_core.protocols.assistant_transport import (
    AssistantTransportDecoder,
    AssistantTransportEncoder,
)
from assistant_stream_core.protocols.data_stream import DataStreamDecoder, DataStreamEncoder
from assistant_stream_core.protocols.openai_chat import OpenAIChatDecoder, OpenAIChatEncoder
from assistant_stream_core.protocols.ui_message_stream import (
    UIMessageStreamDecoder,
    UIMessageStreamEncoder,
)
"""
