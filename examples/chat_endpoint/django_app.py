"""A chat endpoint for assistant-ui, ``useChat`` and AG-UI, in Django (served by ASGI).

Run from the repository's root, with an OpenAI-compatible server at ``OPENAI_BASE_URL``::

    OPENAI_BASE_URL=http://127.0.0.1:8001/v1 MODEL=fake-model \\
        uvicorn examples.chat_endpoint.django_app:application
"""

import django
from django.conf import settings
from django.http import Http404, HttpRequest
from django.urls import path

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="change me",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        # A malformed body gets a 400 (a body too large, a 413) with a JSON error.
        MIDDLEWARE=["assistant_stream_django.request.RequestErrorMiddleware"],
    )
    django.setup()

from assistant_stream_django import AssistantStreamHttpResponse, read_conversation

from assistant_stream_core.conversation import response_encoder
from examples.chat_endpoint.agent import FRONT_ENDS, answer


async def chat(request: HttpRequest, front_end: str) -> AssistantStreamHttpResponse:
    protocol = FRONT_ENDS.get(front_end)
    if protocol is None or request.method != "POST":
        raise Http404(front_end)
    conversation = read_conversation(request, protocol)
    return AssistantStreamHttpResponse(
        answer(conversation), response_encoder(protocol, conversation)
    )


urlpatterns = [path("api/<str:front_end>", chat)]


def __getattr__(name: str) -> object:
    if name == "application":  # built on first use, once settings are in place
        from django.core.asgi import get_asgi_application

        return get_asgi_application()
    raise AttributeError(name)
