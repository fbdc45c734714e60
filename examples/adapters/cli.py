"""No server at all: print the encoded bytes of a run from synchronous code."""

import sys

from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.run.blocking import BlockingStream


async def answer(controller: RunController) -> None:
    controller.append_text("Hello from a blocking iterator.")


def main() -> None:
    with BlockingStream(lambda: create_run(answer), "data_stream") as body:
        for data in body:  # one buffer per drain of the run
            sys.stdout.buffer.write(data)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
