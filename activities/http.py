"""``http.request``: one call to an allowlisted host, secrets by reference, bounded answers.

Destinations are restricted per workspace (a host allowlist, deny by default) so that a
definition cannot reach the worker's own network (SSRF); in sandbox mode 127.0.0.1 is
allowed too. Header values written ``{secretRef: name}`` are read from the encrypted store
here, inside the activity, so they never enter Temporal history. Redirects are followed
only to the same origin.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
from temporalio import activity

from activities.credentials import ChainedCredentials
from activities.errors import (
    InvalidRequestError,
    ProviderUnavailableError,
    RateLimitedError,
    integration_errors,
    parse_retry_after,
)
from activities.http_models import HttpRequestInput, HttpRequestOutput, SecretRef
from interpreter.plan import NodeCall

SECRETS = "http"
"""The integration name under which ``secretRef`` secrets are stored."""
MAX_RESPONSE = 64 * 1024
EXCERPT = 200
MAX_REDIRECTS = 3
LOOPBACK = frozenset({"127.0.0.1", "localhost"})
DROPPED_HEADERS = frozenset({"set-cookie", "authorization", "proxy-authorization"})

AllowedHosts = Callable[[str], Awaitable[Sequence[str]]]


async def no_hosts(workspace: str) -> Sequence[str]:
    return ()


def host_allowed(host: str, allowed: Sequence[str], *, loopback: bool) -> bool:
    """Whether ``host`` is listed (``*.example.com`` covers subdomains only)."""
    name = host.lower().rstrip(".")
    if loopback and name in LOOPBACK:
        return True
    for entry in allowed:
        entry = entry.lower()
        if entry.startswith("*.") and name.endswith(entry[1:]) and name != entry[2:]:
            return True
        if name == entry:
            return True
    return False


def _where(url: httpx.URL) -> str:
    """The URL without its query (which may carry tokens) for messages."""
    return f"{url.scheme}://{url.netloc.decode()}{url.path}"


class HttpActivities:
    """``http.request`` bound to a shared client, the credentials and the host allowlist."""

    def __init__(
        self,
        credentials: ChainedCredentials,
        http: httpx.AsyncClient,
        *,
        allowed_hosts: AllowedHosts = no_hosts,
        loopback: bool = False,
    ) -> None:
        self._credentials = credentials
        self._http = http
        self._allowed_hosts = allowed_hosts
        self._loopback = loopback

    def all(self) -> list[Callable[..., Any]]:
        return [self.request]

    @activity.defn(name="http.request")
    async def request(self, call: NodeCall) -> dict[str, Any]:
        """Sends the request; statuses outside ``expectedStatus`` fail the attempt."""
        with integration_errors():
            params = HttpRequestInput.model_validate(call.inputs)
            workspace = call.context.workspace
            headers = await self._headers(workspace, params)
            if "idempotency-key" not in {k.lower() for k in headers}:
                headers["Idempotency-Key"] = call.context.idempotency_key
            response = await self._send(workspace, params, headers)
            result = await _read(response)
            _check_status(params, response, result)
        return result.model_dump(by_alias=True)

    async def _headers(self, workspace: str, params: HttpRequestInput) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in params.headers.items():
            if isinstance(value, SecretRef):
                secret = await self._credentials.get(workspace, SECRETS, value.secretRef)
                if secret is None:
                    raise InvalidRequestError(
                        f"header '{name}': no HTTP secret named '{value.secretRef}' in "
                        f"workspace '{workspace}' (store it with PUT /api/http/secrets/"
                        f"{value.secretRef})"
                    )
                headers[name] = value.prefix + secret
            else:
                headers[name] = value
        given = {k.lower() for k in headers}
        if params.json_body is not None and "content-type" not in given:
            headers["Content-Type"] = "application/json"
        elif params.body is not None and "content-type" not in given:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        return headers

    async def _check_host(self, workspace: str, url: httpx.URL) -> None:
        allowed = await self._allowed_hosts(workspace)
        if not host_allowed(url.host, allowed, loopback=self._loopback):
            raise InvalidRequestError(
                f"{url.host} is not in the HTTP allowlist of workspace '{workspace}' "
                f"(add it with PUT /api/http/allowlist)"
            )

    async def _send(
        self, workspace: str, params: HttpRequestInput, headers: dict[str, str]
    ) -> httpx.Response:
        url = httpx.URL(params.url)
        method = params.method
        content = _content(params)
        for _hop in range(MAX_REDIRECTS + 1):
            await self._check_host(workspace, url)
            request = self._http.build_request(
                method, url, headers=headers, content=content, timeout=params.timeout
            )
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
                raise ProviderUnavailableError(
                    f"{method} {_where(url)} {kind} ({type(exc).__name__})"
                ) from None
            if not response.is_redirect:
                return response
            await response.aclose()
            target = url.join(response.headers.get("location", ""))
            if (target.scheme, target.host, target.port) != (url.scheme, url.host, url.port):
                raise InvalidRequestError(
                    f"{method} {_where(url)} redirected to {target.host}: redirects to "
                    "another host are not followed"
                )
            if response.status_code == 303:
                method, content = "GET", None
            url = target
        raise InvalidRequestError(
            f"{params.method} {_where(httpx.URL(params.url))}: more than {MAX_REDIRECTS} redirects"
        )


def _content(params: HttpRequestInput) -> bytes | None:
    if params.json_body is not None:
        return json.dumps(params.json_body).encode()
    if params.body is not None:
        return params.body.encode()
    return None


async def _read(response: httpx.Response) -> HttpRequestOutput:
    """Reads at most ``MAX_RESPONSE`` bytes; JSON is parsed only when complete."""
    chunks: list[bytes] = []
    size, truncated = 0, False
    try:
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_RESPONSE:
                truncated = True
                break
    except httpx.TransportError as exc:
        raise ProviderUnavailableError(
            f"reading the answer of {_where(response.request.url)} failed ({type(exc).__name__})"
        ) from None
    finally:
        await response.aclose()
    raw = b"".join(chunks)[:MAX_RESPONSE]
    text = raw.decode(response.encoding or "utf-8", errors="replace")
    parsed: Any = None
    if not truncated and "json" in response.headers.get("content-type", ""):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
    headers = {
        k.lower(): v for k, v in response.headers.items() if k.lower() not in DROPPED_HEADERS
    }
    return HttpRequestOutput(
        status=response.status_code,
        headers=headers,
        json_body=parsed,
        text=None if parsed is not None else text,
        truncated=truncated,
        url=_where(response.request.url),
    )


def _check_status(
    params: HttpRequestInput, response: httpx.Response, result: HttpRequestOutput
) -> None:
    """Expected: done. 408, 429 and 5xx: retried (``Retry-After`` honoured). Else: failed."""
    status = response.status_code
    expected = params.expectedStatus
    if (status in expected) if expected else 200 <= status < 300:
        return
    excerpt = " ".join((result.text or json.dumps(result.json_body))[:EXCERPT].split())
    message = f"{params.method} {result.url} answered HTTP {status}: {excerpt}"
    delay = parse_retry_after(response.headers.get("retry-after"))
    if status == 429:
        raise RateLimitedError(message, retry_after=delay, status=status)
    if status == 408 or status >= 500:
        raise ProviderUnavailableError(message, retry_after=delay, status=status)
    raise InvalidRequestError(message, status=status)
