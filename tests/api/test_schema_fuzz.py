"""Schemathesis over the API's own OpenAPI schema: no 5xx, every response as documented."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.contrib.pydantic import pydantic_data_converter

from api.app import create_app
from settings import Settings
from simulators.server import serve
from stack import devserver
from tests.api.conftest import ADMIN
from tests.api.fakes import provider_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class BackgroundApi:
    """The whole app under uvicorn on 127.0.0.1, on its own loop in a thread (the fuzzer's
    HTTP client blocks), with its own SQLite store, a Temporal dev server and the fake
    provider of the API tests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with (
            await devserver.start_local(data_converter=pydantic_data_converter) as env,
            serve(provider_app()) as provider,
        ):
            settings = self.settings.model_copy(
                update={
                    "incident_io_base_url": provider,
                    "slack_base_url": provider,
                    "linear_base_url": provider,
                }
            )
            async with serve(create_app(settings, client=env.client)) as url:
                self.url = url
                self._ready.set()
                await self._stop.wait()

    def __enter__(self) -> BackgroundApi:
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the API did not start within 60 s")
        return self

    def __exit__(self, *_: Any) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("fuzz")
    config = Settings(
        data_dir=Path(data) / "data",
        admin_token=SecretStr(ADMIN),
        public_url="https://rensei.example.com",
    )
    with BackgroundApi(config) as api:
        yield api.url


def test_no_route_answers_5xx_or_off_schema(api_url: str) -> None:
    # The operations are walked here rather than with ``schema.parametrize()``: the lazy
    # fixture loader of schemathesis 4.32 does not run under pytest 9.
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 10
    for operation in operations:
        exercise(operation, api_url)


def exercise(operation: Any, api_url: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: Any) -> None:
        for headers in ({"Authorization": f"Bearer {ADMIN}"}, {}):
            response = case.call(base_url=api_url, headers=headers, timeout=20)
            case.validate_response(response, checks=CHECKS)

    run()
