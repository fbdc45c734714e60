"""What a failing run leaves in an application that never configured logging.

Python's last-resort handler prints WARNING and above to stderr; the library
adds no handler of its own. A run that raises, served to completion, must
write its traceback there once, and nothing to stdout.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from assistant_stream_core.run import create_run
    from assistant_stream_core.run.blocking import BlockingStream

    async def run(controller):
        controller.state["status"] = "thinking"
        controller.append_text("partial")
        raise RuntimeError("the model exploded")

    for protocol in ("data_stream", "openai_chat", "ui_message_stream"):
        with BlockingStream(lambda: create_run(run, state={}), protocol) as body:
            data = b"".join(body)
        assert b"the model exploded" in data, (protocol, data)
    """
)


def test_one_traceback_per_failed_run_and_nothing_on_stdout() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == ""
    # Three runs, three records, one traceback each; no notice about the
    # state the OpenAI and UI Message streams cannot carry (that is DEBUG).
    assert result.stderr.count("Traceback (most recent call last)") == 3
    assert result.stderr.count("RuntimeError: the model exploded") == 3
    assert result.stderr.count(" failed\n") == 3
    assert "dropping" not in result.stderr
