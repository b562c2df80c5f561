"""The codec server the Temporal UI and CLI call: CORS, admin auth, proto3-JSON bodies."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from store.codec import ENCODING

pytestmark = pytest.mark.asyncio
UI = "http://localhost:8233"


def _body(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=list(payloads)))


async def test_preflight_allows_the_temporal_ui(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.options(
        "/codec/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-namespace",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == UI
    assert response.headers["access-control-allow-methods"] == "POST"
    assert "x-namespace" in response.headers["access-control-allow-headers"]
    other = await anonymous.options("/codec/decode", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_encode_then_decode(admin: httpx.AsyncClient, app: FastAPI) -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"severity":"SEV-1"}')
    headers = {
        "Origin": "http://127.0.0.1:8233",
        "X-Namespace": "default",
        "Content-Type": "application/json",
    }
    encoded = await admin.post("/codec/encode", content=_body(plain), headers=headers)
    assert encoded.status_code == 200, encoded.text
    assert encoded.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
    sealed = json_format.Parse(encoded.content, Payloads()).payloads[0]
    assert sealed.metadata["encoding"] == ENCODING and b"SEV-1" not in sealed.data
    decoded = await admin.post("/codec/decode", content=_body(sealed), headers=headers)
    assert decoded.status_code == 200
    assert list(json_format.Parse(decoded.content, Payloads()).payloads) == [plain]


async def test_decode_errors_are_clear(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    garbage = await admin.post("/codec/decode", content=b"{not json")
    assert garbage.status_code == 400 and "proto3-JSON" in garbage.json()["detail"]
    forged = Payload(
        metadata={"encoding": ENCODING, "encryption-key-id": b"k-gone"}, data=b"0" * 40
    )
    unknown = await admin.post("/codec/decode", content=_body(forged))
    assert unknown.status_code == 400 and "unknown key" in unknown.json()["detail"]
    denied = await anonymous.post("/codec/decode", content=_body(forged), headers={"Origin": UI})
    assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == UI
