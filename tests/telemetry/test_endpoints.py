"""The worker's metrics endpoint on its own, and where `make run` says the endpoints are."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from settings import Settings
from simulators.server import free_port
from stack.supervisor import StackError, _check_ports, banner
from telemetry import metrics


def test_make_run_prints_both_metrics_urls(tmp_path: Path) -> None:
    text = banner(Settings(data_dir=tmp_path, api_port=27801, worker_metrics_port=27465))
    assert "http://127.0.0.1:27801/metrics  (API)" in text
    assert "http://127.0.0.1:27465/metrics  (worker)" in text
    off = banner(Settings(data_dir=tmp_path, worker_metrics_port=0))
    assert "(worker)" not in off


def test_a_taken_metrics_port_is_refused_before_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(
            data_dir=tmp_path,
            temporal_address="127.0.0.1:1",
            api_port=free_port(),
            worker_metrics_port=port,
        )
        with pytest.raises(StackError, match="RENSEI_WORKER_METRICS_PORT"):
            _check_ports(settings)


@pytest.mark.asyncio
async def test_the_endpoint_serves_ours_even_without_the_sdk(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> bytes:
        raise httpx.ConnectError("refused")

    async def sdk() -> bytes:
        return b"# TYPE temporal_probe counter\ntemporal_probe_total 1\n"

    metrics.PROVIDER_CALLS.labels("probe", "2xx").inc()
    for fetch, has_sdk in ((sdk, True), (broken, False)):
        port = free_port()
        server = await metrics.serve_worker_metrics("127.0.0.1", port, sdk=fetch)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                page = await http.get("/metrics")
                assert page.status_code == 200
                assert 'rensei_provider_calls_total{provider="probe",status="2xx"}' in page.text
                assert ("temporal_probe_total 1" in page.text) is has_sdk
                assert (await http.get("/other")).status_code == 404
        finally:
            server.close()
            await server.wait_closed()
    assert "Temporal SDK metrics unavailable" in caplog.text


@pytest.mark.asyncio
async def test_calls_without_an_answer_are_counted() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    before = (
        metrics.REGISTRY.get_sample_value(
            "rensei_provider_calls_total", {"provider": "other", "status": "error"}
        )
        or 0.0
    )
    async with metrics.provider_client(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("http://127.0.0.1:9/")
    after = metrics.REGISTRY.get_sample_value(
        "rensei_provider_calls_total", {"provider": "other", "status": "error"}
    )
    assert after == before + 1


def test_each_rate_limited_answer_is_counted_once() -> None:
    from activities.errors import RateLimitedError

    def sample(name: str) -> float:
        return metrics.REGISTRY.get_sample_value(name, {"provider": "other"}) or 0.0

    calls, waited = (
        sample("rensei_provider_rate_limited_total"),
        sample("rensei_provider_retry_wait_seconds_sum"),
    )
    first = RateLimitedError("rate limited", retry_after=7.0, status=429)
    RateLimitedError("restated: not waiting", retryable=False, status=first.status)
    assert sample("rensei_provider_rate_limited_total") == calls + 1
    assert sample("rensei_provider_retry_wait_seconds_sum") == waited + 7.0
