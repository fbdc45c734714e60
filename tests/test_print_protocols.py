"""``./scripts/demo.sh print``: the bytes of every protocol on stdout, nothing else.

A dropped chunk kind (the OpenAI stream has no state) is noted at DEBUG, so no
log line lands between the printed bytes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "print_protocols.py"


def test_prints_every_protocol_and_logs_nothing() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stderr == ""
    for marker in ('0:"', "data: [DONE]", "chat.completion.chunk", "RUN_FINISHED"):
        assert marker in result.stdout
