"""Django in one file: the same view under ASGI and WSGI.

Under ASGI: ``uvicorn django_project:application``. Under WSGI:
``gunicorn -k gthread --threads 8 django_project:wsgi_application``.
"""

import django
from django.conf import settings
from django.http import HttpRequest
from django.urls import path

from assistant_stream_core.run import RunController, create_run

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="change me",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[
            # Instead of django.middleware.gzip.GZipMiddleware, which holds
            # streamed frames back before Django 6.1 (either will do from 6.1).
            "assistant_stream_django.middleware.GZipMiddleware",
        ],
    )
    django.setup()

from assistant_stream_django import DataStreamHttpResponse


async def answer(controller: RunController) -> None:
    controller.append_text("Checking the weather… ")
    tool = await controller.add_tool_call("get_weather")
    tool.append_args_text('{"city": "Paris"}')
    tool.set_response({"temp_c": 21})
    controller.append_text("It is 21 °C in Paris.")


def chat(request: HttpRequest) -> DataStreamHttpResponse:
    # A sync or an async view: the response picks the iterator Django needs.
    return DataStreamHttpResponse(create_run(answer), expose_headers=True, send_timeout=30)


urlpatterns = [path("chat", chat)]


def __getattr__(name: str) -> object:
    # The handlers are built on first use, once settings are in place.
    if name == "application":
        from django.core.asgi import get_asgi_application

        return get_asgi_application()
    if name == "wsgi_application":
        from django.core.wsgi import get_wsgi_application

        return get_wsgi_application()
    raise AttributeError(name)
