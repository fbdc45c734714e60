"""``create_run`` and ``RunController``, as upstream's ``assistant_stream.create_run``.

Both are the core's (:mod:`assistant_stream_core.run`); see its documentation
for the differences from upstream (call-order of chunks, errors at the call
site, a clean close after an error).
"""

from __future__ import annotations

import logging

from assistant_stream_core.run import (
    ReadOnlyCancellationSignal,
    Run,
    RunController,
    create_run,
)

# Names upstream's module also exposes (imported there for its own use, and
# imported from there by code written for it).
from .assistant_stream_chunk import AnnotationsChunk as AnnotationsChunk
from .assistant_stream_chunk import AssistantStreamChunk as AssistantStreamChunk
from .assistant_stream_chunk import DataChunk as DataChunk
from .assistant_stream_chunk import ErrorChunk as ErrorChunk
from .assistant_stream_chunk import FileChunk as FileChunk
from .assistant_stream_chunk import ReasoningDeltaChunk as ReasoningDeltaChunk
from .assistant_stream_chunk import SourceChunk as SourceChunk
from .assistant_stream_chunk import StepFinishChunk as StepFinishChunk
from .assistant_stream_chunk import StepStartChunk as StepStartChunk
from .assistant_stream_chunk import TextDeltaChunk as TextDeltaChunk
from .assistant_stream_chunk import ToolCallBeginChunk as ToolCallBeginChunk
from .assistant_stream_chunk import ToolResultChunk as ToolResultChunk
from .modules.tool_call import ToolCallController as ToolCallController
from .modules.tool_call import create_tool_call as create_tool_call
from .modules.tool_call import (
    generate_openai_style_tool_call_id as generate_openai_style_tool_call_id,
)
from .state_manager import StateManager as StateManager

__all__ = ["ReadOnlyCancellationSignal", "Run", "RunController", "create_run"]

#: The logger a run's failures go to (the core's run logger).
logger = logging.getLogger("assistant_stream_core.run")
