"""Codec server for the Temporal UI and CLI: ``POST /codec/encode`` and ``/codec/decode``.

The UI's browser calls these directly, so they answer CORS for the UI's origin. They
decrypt workflow payloads, so they need the admin token (CLI: ``--codec-auth``) or the
session cookie (UI: enable "include cross-origin credentials" after logging in).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from api.auth import UNAUTHORIZED, admin_auth
from api.deps import Services, services
from store.codec import EncryptionCodec, PayloadDecryptError

router = APIRouter(prefix="/codec", tags=["codec"])
Svc = Annotated[Services, Depends(services)]
ALLOWED_HEADERS = "content-type,x-namespace,authorization"


def allowed_origins(svc: Services) -> set[str]:
    port = svc.settings.temporal_ui_port
    return {
        f"http://127.0.0.1:{port}",
        f"http://localhost:{port}",
        "http://127.0.0.1:8233",
        "http://localhost:8233",
    }


def _cors(request: Request, svc: Services, response: Response) -> None:
    origin = request.headers.get("origin")
    if origin in allowed_origins(svc):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Vary"] = "Origin"


@router.options("/{operation}", response_class=Response)  # an empty preflight answer
async def preflight(operation: str, request: Request, svc: Svc) -> Response:
    response = Response(status_code=200)
    _cors(request, svc, response)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    return response


def _codec(request: Request) -> EncryptionCodec:
    codec: EncryptionCodec = request.app.state.codec
    return codec


def _answer(request: Request, svc: Services, status: int, body: Any) -> Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = Response(content=content, status_code=status, media_type="application/json")
    _cors(request, svc, response)
    return response


async def _run(request: Request, svc: Services, *, decode: bool) -> Response:
    if not admin_auth(request).is_admin(request):
        return _answer(request, svc, 401, {"detail": UNAUTHORIZED})
    payloads = Payloads()
    try:
        json_format.Parse(await request.body(), payloads)
    except json_format.ParseError as exc:
        return _answer(request, svc, 400, {"detail": f"not a proto3-JSON Payloads body: {exc}"})
    codec = _codec(request)
    try:
        result = await (codec.decode if decode else codec.encode)(payloads.payloads)
    except PayloadDecryptError as exc:
        return _answer(request, svc, 400, {"detail": str(exc)})
    return _answer(request, svc, 200, json_format.MessageToJson(Payloads(payloads=result)).encode())


@router.post("/decode")
async def decode(request: Request, svc: Svc) -> Any:
    return await _run(request, svc, decode=True)


@router.post("/encode")
async def encode(request: Request, svc: Svc) -> Any:
    return await _run(request, svc, decode=False)
