"""The Host-header check the web chat and the API both apply.

A web page on another name that its owner points at 127.0.0.1 (DNS rebinding) is, to the
browser, the same origin as that name: without this check it could read answers and passages
from a server on loopback. Requests must name this machine as the client reached it.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import PlainTextResponse

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def allowed_hosts(bind_host: str, extra: str = "") -> frozenset[str]:
    """Loopback names, the address the server binds to, and the comma-separated `extra` names
    (`*` allows any).

    >>> sorted(allowed_hosts("127.0.0.1", "News.lan, 192.168.1.5"))
    ['127.0.0.1', '192.168.1.5', '::1', 'localhost', 'news.lan']
    """
    names = {name.strip().lower() for name in extra.split(",") if name.strip()}
    return frozenset({*LOOPBACK_NAMES, bind_host.strip().lower(), *names})


def host_name(header: str) -> str:
    """The name in a Host header, without the port.

    >>> host_name("[::1]:8000"), host_name("Example.org:80"), host_name("localhost")
    ('::1', 'example.org', 'localhost')
    """
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostCheck:
    """ASGI middleware: a request whose Host header names none of `allowed` gets 400."""

    def __init__(self, app: Any, allowed: frozenset[str]):
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            header = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            host = host_name(header)
            if "*" not in self.allowed and host not in self.allowed:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                response = PlainTextResponse(
                    f"this server does not answer to the host name {host!r}; add it to "
                    "RAG_ALLOWED_HOSTS if you reach the server by that name",
                    status_code=400,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
