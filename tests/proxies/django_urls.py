"""The Django routes behind nginx: the same runs as :mod:`tests.proxies.app`.

Django's settings are the process's (:mod:`tests.adapters.django_app`
configures them); :func:`tests.proxies.app.use_proxy_urls` points each
request of the proxied handler at these routes instead.
"""

from __future__ import annotations

from assistant_stream_django import AssistantStreamHttpResponse
from django.http import HttpRequest
from django.urls import path

from . import app


async def tokens(request: HttpRequest, protocol: str) -> AssistantStreamHttpResponse:
    query = request.GET.dict()
    return AssistantStreamHttpResponse(
        app.tokens_run(query),
        protocol,
        headers=app.headers(query),
        keepalive_interval=app.keepalive(query),
    )


async def endless(request: HttpRequest, protocol: str) -> AssistantStreamHttpResponse:
    query = request.GET.dict()
    return AssistantStreamHttpResponse(
        app.endless_run(query),
        protocol,
        send_timeout=float(query.get("send_timeout", "30")),
    )


urlpatterns = [
    path("tokens/<str:protocol>", tokens),
    path("endless/<str:protocol>", endless),
]
