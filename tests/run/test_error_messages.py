"""The error-message policy of a run (issue 13, item 5)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from assistant_stream_core.chunks import Chunk, ErrorChunk, TextDeltaChunk
from assistant_stream_core.run import (
    INTERNAL_ERROR_MESSAGE,
    RunController,
    create_run,
    exception_text,
    internal_error,
)

pytestmark = pytest.mark.anyio

SECRET = "db connect failed: postgresql://admin:hunter2@db.internal/app"


async def leaky(controller: RunController) -> None:
    controller.append_text("partial")
    raise RuntimeError(SECRET)


async def read(run: Any) -> tuple[list[Chunk], BaseException | None]:
    chunks: list[Chunk] = []
    try:
        async for chunk in run:
            chunks.append(chunk)
    except RuntimeError as exc:
        return chunks, exc
    return chunks, None


async def test_the_default_sends_the_exception_text_as_upstream() -> None:
    chunks, raised = await read(create_run(leaky))
    assert chunks[-1] == ErrorChunk(error=SECRET)
    assert raised is not None


async def test_internal_error_hides_the_text_and_the_log_keeps_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="assistant_stream_core.run"):
        chunks, raised = await read(create_run(leaky, error_message=internal_error))
    assert chunks == [TextDeltaChunk("partial"), ErrorChunk(error=INTERNAL_ERROR_MESSAGE)]
    # The caller still gets the real exception, and the log has its traceback.
    assert str(raised) == SECRET
    assert "hunter2" in caplog.text
    assert "Traceback" in caplog.text


async def test_a_custom_policy_sees_the_exception() -> None:
    def policy(exc: BaseException) -> str:
        return f"failed ({type(exc).__name__})"

    chunks, _ = await read(create_run(leaky, error_message=policy))
    assert chunks[-1] == ErrorChunk(error="failed (RuntimeError)")


@pytest.mark.parametrize("bad", [lambda exc: 1 / 0, lambda exc: None])
async def test_a_policy_that_fails_falls_back_to_the_safe_sentence(
    bad: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="assistant_stream_core.run"):
        chunks, _ = await read(create_run(leaky, error_message=bad))
    assert chunks[-1] == ErrorChunk(error=INTERNAL_ERROR_MESSAGE)
    assert "error_message policy" in caplog.text


def test_a_policy_must_be_callable() -> None:
    with pytest.raises(TypeError, match="error_message must be callable"):
        create_run(leaky, error_message="An internal error occurred.")  # type: ignore[arg-type]


def test_exception_text_names_the_class_when_the_text_is_empty() -> None:
    assert exception_text(ValueError()) == "ValueError"
    assert exception_text(ValueError("bad")) == "bad"
