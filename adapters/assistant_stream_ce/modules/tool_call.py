"""``ToolCallController``, as upstream's ``assistant_stream.modules.tool_call``.

``await controller.add_tool_call(name)`` returns one; its chunks go straight
into the run's buffer in call order (upstream relayed them through a task).
"""

from __future__ import annotations

from assistant_stream_core.run import ToolCallController, generate_openai_style_tool_call_id

__all__ = ["ToolCallController", "generate_openai_style_tool_call_id"]
