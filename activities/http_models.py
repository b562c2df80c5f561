"""Inputs and result of the ``http.request`` node."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from interpreter.schema import parse_duration

MAX_TIMEOUT = 120.0
Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class SecretRef(BaseModel):
    """A header value taken from a stored secret inside the activity (never in history)."""

    model_config = ConfigDict(extra="forbid")

    secretRef: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    prefix: str = Field(default="", max_length=64, description="e.g. 'Bearer '")


class HttpRequestInput(BaseModel):
    """``http.request``: one call to an allowlisted host; JSON or text body, not both."""

    model_config = ConfigDict(extra="forbid")

    method: Method = "GET"
    url: str = Field(min_length=1, max_length=4096, pattern=r"^https?://")
    headers: dict[str, str | SecretRef] = Field(default_factory=dict, max_length=50)
    json_body: Any = Field(default=None, alias="json", description="sent as application/json")
    body: str | None = Field(default=None, max_length=256 * 1024, description="sent as text")
    timeout: float = Field(default=30.0, description="per attempt (30s), at most 2m")
    expectedStatus: list[int] = Field(
        default_factory=list, max_length=50, description="statuses that succeed; default 2xx"
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        seconds = parse_duration(value)
        if seconds > MAX_TIMEOUT:
            raise ValueError(f"a request timeout is at most {MAX_TIMEOUT:g}s")
        return seconds

    @field_validator("expectedStatus")
    @classmethod
    def _statuses(cls, value: list[int]) -> list[int]:
        wrong = [s for s in value if not 100 <= s <= 599]
        if wrong:
            raise ValueError(f"{wrong[0]} is not an HTTP status (100-599)")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> HttpRequestInput:
        if self.json_body is not None and self.body is not None:
            raise ValueError("give 'json' or 'body', not both")
        return self


class HttpRequestOutput(BaseModel):
    """The answer: ``json`` when the body parsed as JSON, else ``text`` (bounded in size)."""

    model_config = ConfigDict(populate_by_name=True)

    status: int
    headers: dict[str, str]
    json_body: Any = Field(default=None, alias="json")
    text: str | None = None
    truncated: bool = False
    url: str
