"""The COC and IAM client's transport names each failure as httpx does, over real loopback sockets.

Each test serves one misbehaviour from a raw TCP server, because whether the bot retries a
call and what it tells the user depend on which exception comes back.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from bot import retry
from bot.transport import environment_proxies, new_client

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"data":"done"}'


@asynccontextmanager
async def serving(behaviour: Behaviour) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server on loopback that reads each request's head and then does ``behaviour``."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                heads.append(head)
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                await behaviour(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", heads
    finally:
        server.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(OK)
    await writer.drain()


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment with no proxy variable set; tests set the ones they need on it."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


async def _post(url: str, timeout: float = 2.0) -> httpx.Response:
    async with new_client(timeout) as http:
        return await http.post(f"{url}/v1/schedule/task/ST1/enable", json={"ticket_infos": []})


async def test_an_answer_comes_back_whole_with_the_headers_sent() -> None:
    async with serving(_answer) as (url, heads), new_client(2.0) as http:
        response = await http.post(f"{url}/enable", json={"a": 1}, headers={"X-Sdk-Date": "20261203T000000Z"})

    assert response.status_code == 200
    assert response.json() == {"data": "done"}
    assert b"x-sdk-date: 20261203t000000z" in heads[0].lower()
    assert b"user-agent: enable-schedule/" in heads[0].lower()


async def test_cookies_one_answer_sets_are_not_sent_on_later_calls() -> None:
    async def answer_with_cookie(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(OK.replace(b"Content-Length", b"Set-Cookie: session=user-a\r\nContent-Length"))
        await writer.drain()

    async with serving(answer_with_cookie) as (url, heads), new_client(2.0) as http:
        await http.get(f"{url}/one")
        await http.get(f"{url}/two")

    assert len(heads) == 2
    assert b"cookie" not in heads[1].lower().replace(b"set-cookie", b"")


async def test_a_refused_connection_is_a_connect_error_that_sent_nothing() -> None:
    with pytest.raises(httpx.ConnectError) as raised:
        await _post(f"http://127.0.0.1:{_closed_port()}")
    assert isinstance(raised.value, retry.NOT_SENT)


async def test_a_connection_closed_before_an_answer_may_have_been_acted_on() -> None:
    async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with serving(hang_up) as (url, heads):
        with pytest.raises(httpx.RemoteProtocolError) as raised:
            await _post(url)

    assert heads, "the request reached the server before it hung up"
    assert isinstance(raised.value, retry.BROKEN)
    assert not isinstance(raised.value, retry.NOT_SENT)


async def test_an_answer_that_is_not_http_is_a_protocol_error() -> None:
    async def babble(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        await writer.drain()
        writer.close()

    async with serving(babble) as (url, _):
        with pytest.raises(httpx.RemoteProtocolError):
            await _post(url)


async def test_no_answer_within_the_timeout_is_a_read_timeout() -> None:
    async def stall(_: asyncio.StreamReader, __: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async with serving(stall) as (url, heads):
        with pytest.raises(httpx.ReadTimeout) as raised:
            await _post(url, timeout=0.3)

    assert heads
    assert not isinstance(raised.value, retry.NOT_SENT)


async def test_a_body_cut_short_is_a_read_error() -> None:
    async def cut_short(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"data":')
        await writer.drain()
        writer.close()

    async with serving(cut_short) as (url, _):
        with pytest.raises(httpx.ReadError) as raised:
            await _post(url)

    assert isinstance(raised.value, retry.BROKEN)


async def test_a_url_with_an_unknown_scheme_is_refused_before_sending() -> None:
    async with new_client(1.0) as http:
        with pytest.raises(httpx.UnsupportedProtocol):
            await http.get("ftp://127.0.0.1/enable")


async def test_http_proxy_from_the_environment_carries_calls(proxy_env: pytest.MonkeyPatch) -> None:
    async with serving(_answer) as (proxy_url, heads):
        proxy_env.setenv("HTTP_PROXY", proxy_url)
        async with new_client(2.0) as http:
            response = await http.get("http://coc.example.invalid/v1/schedule/task")

    assert response.json() == {"data": "done"}
    # A proxy is asked for the whole URL.
    assert heads[0].startswith(b"GET http://coc.example.invalid/v1/schedule/task HTTP/1.1")


async def test_no_proxy_hosts_are_reached_directly(proxy_env: pytest.MonkeyPatch) -> None:
    async with serving(_answer) as (proxy_url, proxied), serving(_answer) as (target_url, direct):
        proxy_env.setenv("HTTP_PROXY", proxy_url)
        proxy_env.setenv("NO_PROXY", "127.0.0.1")
        async with new_client(2.0) as http:
            await http.get(f"{target_url}/v1/schedule/task")

    assert proxied == []
    assert direct[0].startswith(b"GET /v1/schedule/task HTTP/1.1")


def test_proxies_are_read_from_the_environment_as_httpx_reads_them(proxy_env: pytest.MonkeyPatch) -> None:
    proxy_env.setenv("ALL_PROXY", "proxy.corp.example:3128")
    proxy_env.setenv("HTTPS_PROXY", "http://tls-proxy.corp.example:8080")

    assert environment_proxies() == {
        "http": "http://proxy.corp.example:3128",
        "https": "http://tls-proxy.corp.example:8080",
    }


async def test_a_proxy_refusing_the_tunnel_is_a_proxy_error_without_its_password(
    proxy_env: pytest.MonkeyPatch,
) -> None:
    async def refuse(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with serving(refuse) as (proxy_url, heads):
        proxy_env.setenv("HTTPS_PROXY", proxy_url.replace("://", "://ops:proxy-password-123@"))
        with pytest.raises(httpx.ProxyError) as raised:
            await _post("https://coc.example.invalid")

    assert heads[0].startswith(b"CONNECT coc.example.invalid:443 HTTP/1.1")
    assert not isinstance(raised.value, retry.NOT_SENT + retry.BROKEN)
    assert "proxy-password-123" not in str(raised.value)
