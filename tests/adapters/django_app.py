"""A Django project in one module: settings, URLs and views for the suite.

The same views serve Django under ASGI (uvicorn) and under WSGI (wsgiref).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import markcoroutinefunction
from assistant_stream_django import AssistantStreamHttpResponse
from django.http import HttpRequest, HttpResponse
from django.urls import path

from .scenarios import build, encoder_for
from .servers import HEADERS, running_loop_kind


def stream(request: HttpRequest, protocol: str, scenario: str) -> AssistantStreamHttpResponse:
    source, options = build(scenario, request.GET.dict())
    return AssistantStreamHttpResponse(
        source,
        encoder_for(protocol),
        headers=HEADERS,
        keepalive_interval=options.keepalive,
        send_timeout=options.send_timeout,
        expose_headers=True,
        error_message=options.error_message,
    )


async def tasks(request: HttpRequest) -> HttpResponse:
    if hasattr(request, "scope"):  # ASGI: tasks in the server's loop
        return HttpResponse(str(len(asyncio.all_tasks()) - 1))
    # WSGI: each stream runs on a portal thread; they must all have ended.
    count = sum(1 for t in threading.enumerate() if "-portal-" in t.name)
    return HttpResponse(str(count))


async def loop(request: HttpRequest) -> HttpResponse:
    return HttpResponse(running_loop_kind())  # ASGI only: WSGI has no loop


def delay_middleware(get_response: Any) -> Any:
    """Hold the response back for ``?delay=`` seconds after the view returned it.

    Lets a test disconnect after the view built its response but before
    Django iterates it.
    """

    async def middleware(request: HttpRequest) -> Any:
        response = await get_response(request)
        delay = request.GET.get("delay")
        if delay:
            await asyncio.sleep(float(delay))
        return response

    markcoroutinefunction(middleware)
    return middleware


delay_middleware.async_capable = True  # type: ignore[attr-defined]
delay_middleware.sync_capable = False  # type: ignore[attr-defined]


def wrap_middleware(get_response: Any) -> Any:
    """Replace every streaming body with a pass-through async generator, as
    middleware that rewrites ``streaming_content`` does."""

    async def middleware(request: HttpRequest) -> Any:
        response = await get_response(request)
        if getattr(response, "streaming", False) and response.is_async:
            original = response.streaming_content

            async def passed_through() -> AsyncIterator[bytes]:
                async for part in original:
                    yield part

            response.streaming_content = passed_through()
        return response

    markcoroutinefunction(middleware)
    return middleware


wrap_middleware.async_capable = True  # type: ignore[attr-defined]
wrap_middleware.sync_capable = False  # type: ignore[attr-defined]

urlpatterns = [
    path("tasks", tasks),
    path("loop", loop),
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


def asgi_app(middleware: list[str] | None = None) -> Any:
    """Django's ASGI handler, with ``middleware`` as ``settings.MIDDLEWARE``."""
    configure()
    from django.core.asgi import get_asgi_application
    from django.test.utils import override_settings

    # The handler builds its middleware chain once, when it is created.
    with override_settings(MIDDLEWARE=middleware or []):
        return get_asgi_application()


def wsgi_app(middleware: list[str] | None = None) -> Any:
    """Django's WSGI handler, with ``middleware`` as ``settings.MIDDLEWARE``."""
    configure()
    from django.core.wsgi import get_wsgi_application
    from django.test.utils import override_settings

    with override_settings(MIDDLEWARE=middleware or []):
        return get_wsgi_application()
