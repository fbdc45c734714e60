"""Print one small run as the bytes every wire protocol puts on the wire.

    python examples/print_protocols.py                  # every protocol
    python examples/print_protocols.py data_stream      # just one

The run produces its chunks once; each protocol's sans-IO encoder from
``assistant_stream_core.protocols`` turns them into bytes. No web framework, no
server: an adapter would write exactly these bytes to the response.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Iterator

import anyio

import assistant_stream_core.protocols
from assistant_stream_core.chunks import Chunk
from assistant_stream_core.protocols.base import Encoder
from assistant_stream_core.run import RunController, create_run


async def weather(controller: RunController) -> None:
    """A tool-using answer: text, a tool call with its result, state, text."""
    controller.append_text("Checking the weather in Paris… ")
    tool = await controller.add_tool_call("get_weather", "call_1")
    tool.append_args_text('{"city": "Paris"}')
    tool.set_response({"temp_c": 21, "sky": "clear"})
    controller.state["status"] = "done"
    controller.append_text('It is 21 °C and "clear".')


def encoders() -> Iterator[tuple[str, type[Encoder]]]:
    """Every protocol module's encoder class, by module name."""
    package = assistant_stream_core.protocols
    for module_info in pkgutil.iter_modules(package.__path__):
        if module_info.name.startswith("_") or module_info.name == "base":
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for name in getattr(module, "__all__", ()):
            cls = getattr(module, name)
            if name.endswith("Encoder") and isinstance(cls, type):
                yield module_info.name, cls


async def main(selected: list[str]) -> None:
    """Run :func:`weather` once and print it in the ``selected`` protocols."""
    available = dict(encoders())
    unknown = sorted(set(selected) - available.keys())
    if unknown:
        raise SystemExit(f"unknown protocol {unknown}; choose from {sorted(available)}")
    chunks: list[Chunk] = [chunk async for chunk in create_run(weather, state={})]
    out = sys.stdout.buffer
    for protocol, encoder_class in available.items():
        if selected and protocol not in selected:
            continue
        encoder = encoder_class()
        out.write(f"==> {protocol} ({encoder.headers['Content-Type']})\n".encode())
        out.write(encoder.encode_many(chunks) + encoder.finish())
        out.write(b"\n")
    out.flush()


if __name__ == "__main__":
    anyio.run(main, sys.argv[1:])
