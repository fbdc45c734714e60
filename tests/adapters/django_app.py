"""A Django project in one module: settings, URLs and views for the suite.

The same views serve Django under ASGI (uvicorn) and under WSGI (wsgiref).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from assistant_stream_django import AssistantStreamHttpResponse
from django.http import HttpRequest, HttpResponse
from django.urls import path

from .scenarios import build, encoder_for
from .servers import HEADERS


def stream(request: HttpRequest, protocol: str, scenario: str) -> AssistantStreamHttpResponse:
    source, options = build(scenario, request.GET.dict())
    return AssistantStreamHttpResponse(
        source,
        encoder_for(protocol),
        headers=HEADERS,
        keepalive_interval=options.keepalive,
        send_timeout=options.send_timeout,
        expose_headers=True,
    )


async def tasks(request: HttpRequest) -> HttpResponse:
    if hasattr(request, "scope"):  # ASGI: tasks in the server's loop
        return HttpResponse(str(len(asyncio.all_tasks()) - 1))
    # WSGI: each stream runs on a portal thread; they must all have ended.
    count = sum(1 for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor"))
    return HttpResponse(str(count))


urlpatterns = [
    path("tasks", tasks),
    path("<str:protocol>/<str:scenario>", stream),
]


def configure() -> None:
    """Configure Django once per process."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()


def asgi_app() -> Any:
    configure()
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


def wsgi_app() -> Any:
    configure()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()
