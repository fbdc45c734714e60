import asyncio

from assistant_stream_ce import create_run


async def run(controller):
    controller.append_text("Checking the weather…")
    tool = await controller.add_tool_call("get_weather")
    tool.append_args_text('{"city": "Paris"}')
    tool.set_response({"temp_c": 21})
    controller.state["status"] = "done"


async def main():
    # state={} gives the run an empty state object to write to;
    # without it controller.state is None, as in upstream assistant-stream.
    async for chunk in create_run(run, state={}):
        print(chunk)


if __name__ == "__main__":
    asyncio.run(main())
