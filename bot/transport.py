"""The HTTP client under the COC and IAM clients: httpx's interface on aiohttp's connection pool.

httpcore's pool walks every connection it holds on each request and on each release, so its
cost grows with the number of enables in flight: at 100 enables a second against a COC that
answers in a second, a call cost 4.1 ms of CPU on it and 2.3 ms on aiohttp's pool, which
hands out a kept-alive connection in constant time. httpx-aiohttp carries the requests
across. This module names their failures the way httpx does, because the bot's retries and
its reports to users depend on whether a request could have reached the other side
(httpx-aiohttp calls a connection dropped after the request was sent a connect timeout). It
also keeps what httpx's own transport did: its trusted certificates, the proxy environment
variables, and no cookies. One difference remains: aiohttp itself sends a GET once more when
a kept-alive connection drops under it; a GET only reads, so that is harmless.
"""

from __future__ import annotations

import contextlib
import re
import urllib.request
from collections.abc import AsyncIterator, Iterator
from http.cookiejar import DefaultCookiePolicy

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

KEEPALIVE_SECONDS = 5.0
"""How long an idle connection is kept for the next call, as long as httpx's own pool keeps one."""

# Most specific first: the first match names the failure.
_NAMES: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    # No connection in time, including the wait for a free one in the pool: nothing was sent.
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    # Connected, sent, and no answer in time: the other side may be acting on it.
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    # A proxy refused to carry the call, or could not be reached: nothing reached the other side.
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    # Refused, unresolvable, or the TLS handshake failed: nothing was sent.
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    # The connection ended before a whole answer came back.
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientConnectionResetError, httpx.WriteError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    # Anything else: the request may have been sent, so it is neither retried nor called unsent.
    (aiohttp.ClientError, httpx.TransportError),
)


def new_client(timeout_seconds: float, *, max_connections: int = 256) -> httpx.AsyncClient:
    """The shared client for COC and IAM calls, with their timeout; close it with ``aclose``."""
    client = httpx.AsyncClient(
        transport=NamedFailuresTransport(max_connections=max_connections),
        timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
        headers={"User-Agent": "enable-schedule/0.1"},
    )
    # The client is shared by every user's calls: a cookie one answer sets must never ride
    # along on another user's request.
    client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return client


class NamedFailuresTransport(httpx.AsyncBaseTransport):
    """httpx-aiohttp's transport, raising httpx's own exception for each kind of failure."""

    def __init__(self, *, max_connections: int) -> None:
        def session() -> aiohttp.ClientSession:
            return aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=max_connections,
                    keepalive_timeout=KEEPALIVE_SECONDS,
                    # The certificates httpx trusts (certifi's, or SSL_CERT_FILE), not the OS's.
                    ssl=httpx.create_ssl_context(),
                ),
                # httpx sends no cookies either (see new_client).
                cookie_jar=aiohttp.DummyCookieJar(),
                # Proxies are chosen here instead: aiohttp would read the environment, and
                # ~/.netrc, on a thread for every request.
                trust_env=False,
            )

        # The session is made on the first request, inside the running loop, as aiohttp wants.
        self._direct = AiohttpTransport(client=session)
        # HTTP_PROXY, HTTPS_PROXY and ALL_PROXY are read once; NO_PROXY on each request.
        self._proxied = {
            scheme: AiohttpTransport(client=session, proxy=httpx.Proxy(url))
            for scheme, url in environment_proxies().items()
        }

    def _route(self, request: httpx.Request) -> AiohttpTransport:
        proxied = self._proxied.get(request.url.scheme)
        if proxied is None or urllib.request.proxy_bypass(request.url.host):
            return self._direct
        return proxied

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _failures_named(request):
            response = await self._route(request).handle_async_request(request)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_NamedFailuresStream(response.stream, request),
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for transport in (self._direct, *self._proxied.values()):
            await transport.aclose()


class _NamedFailuresStream(httpx.AsyncByteStream):
    """A response body whose read failures are named as the request's are."""

    def __init__(self, inner: httpx.SyncByteStream | httpx.AsyncByteStream, request: httpx.Request) -> None:
        if not isinstance(inner, httpx.AsyncByteStream):
            raise TypeError("an async transport answered with a sync body")
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _failures_named(self._request):
            async for chunk in self._inner:
                yield chunk

    async def aclose(self) -> None:
        with _failures_named(self._request):
            await self._inner.aclose()


def environment_proxies() -> dict[str, str]:
    """The proxy for each of ``http`` and ``https`` that the environment names, as httpx reads them."""
    found = urllib.request.getproxies()
    proxies = {}
    for scheme in ("http", "https"):
        url = found.get(scheme) or found.get("all")
        if url:
            # httpx, too, takes a bare host:port to mean a plain HTTP proxy.
            proxies[scheme] = url if "://" in url else f"http://{url}"
    return proxies


@contextlib.contextmanager
def _failures_named(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        # httpx-aiohttp raises its own exception from aiohttp's, or lets aiohttp's through.
        cause = exc if isinstance(exc, aiohttp.ClientError) or exc.__cause__ is None else exc.__cause__
        for kind, name in _NAMES:
            if isinstance(cause, kind):
                raise name(_without_credentials(str(cause)) or type(cause).__name__, request=request) from cause
        raise


_BASIC_AUTH = re.compile(r"BasicAuth\([^)]*\)")
_URL_USERINFO = re.compile(r"(://)[^/@\s]*@")


def _without_credentials(text: str) -> str:
    """aiohttp's message, minus a proxy's login: some messages print the connection's key."""
    return _URL_USERINFO.sub(r"\1…@", _BASIC_AUTH.sub("BasicAuth(…)", text))
