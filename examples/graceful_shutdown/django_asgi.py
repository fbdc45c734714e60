"""Django under an ASGI server: live streams end before the worker exits.

Run with ``uvicorn django_asgi:application --timeout-graceful-shutdown 15``.
"""

import anyio
import django
from assistant_stream_django import DataStreamHttpResponse
from django.conf import settings
from django.http import HttpRequest
from django.urls import path

from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.run.shutdown import drain_on_shutdown

if not settings.configured:
    settings.configure(
        DEBUG=False, SECRET_KEY="change me", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__
    )
    django.setup()


async def answer(controller: RunController) -> None:
    for word in ["a", "long", "answer,", "streamed", "one", "word", "at", "a", "time"]:
        controller.append_text(word + " ")
        await anyio.sleep(0.1)  # a model's pace


async def chat(request: HttpRequest) -> DataStreamHttpResponse:
    return DataStreamHttpResponse(create_run(answer))


urlpatterns = [path("chat", chat)]

from django.core.asgi import get_asgi_application  # noqa: E402 - after settings

# Django has no lifespan of its own: the wrapper answers the server's, and
# its shutdown awaits drain() (10 s for runs and detached producers to end).
application = drain_on_shutdown(get_asgi_application(), grace=10)
