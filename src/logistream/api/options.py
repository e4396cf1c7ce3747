"""Settings of the API server only (prefix ``LOGISTREAM_API_``); CLI options override them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from logistream.config import Port, format_validation_error
from logistream.errors import ConfigError


class ApiOptions(BaseSettings):
    """Field ``x`` is the variable ``LOGISTREAM_API_X``."""

    model_config = SettingsConfigDict(env_prefix="LOGISTREAM_API_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    """Localhost by default: exposing the API is a decision, not an accident."""
    port: Port = 8600
    public_url: str | None = None
    """Base URL clients use (behind a proxy); shown in the OpenAPI ``servers`` list."""

    rate_per_s: Annotated[float, Field(gt=0)] = 50.0
    """Sustained requests per second per token (token bucket, in-process)."""
    burst: Annotated[int, Field(ge=1)] = 100
    """Requests a token may make at once before the rate applies."""
    auth_failures_per_min: Annotated[float, Field(gt=0)] = 30.0
    """Refused tokens per minute per client address, so guessing tokens stays slow."""
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    max_batch: Annotated[int, Field(ge=1, le=100_000)] = 1000
    """Most readings in one ingest request."""
    token_cache_s: Annotated[float, Field(ge=0)] = 5.0
    """How long a looked-up token is trusted without asking PostgreSQL again (so a revoked
    token is refused within this many seconds)."""
    kafka_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    """Longest wait for Kafka to acknowledge ingested readings or a command."""
    ack_wait_s: Annotated[float, Field(ge=0, le=30)] = 2.0
    """Default wait for the speed layer to apply an acknowledgement before answering."""
    fleet_cache_s: Annotated[float, Field(ge=0, le=10)] = 0.5
    """GET /v1/trucks answers from one shared snapshot this young (0: read Redis every time):
    many clients polling the fleet cost one Redis read per interval. The live stream is the
    low-latency path."""
    reader_pool_size: Annotated[int, Field(ge=1, le=100)] = 8
    stream_keepalive_s: Annotated[float, Field(gt=0)] = 15.0
    stream_truck_scan_s: Annotated[float, Field(gt=0)] = 1.0
    """How often the live stream looks for trucks whose reading changed."""


def load_options(**overrides: object) -> ApiOptions:
    """The options from the environment, with ``overrides`` (CLI flags) winning."""
    from pydantic import ValidationError

    try:
        base = ApiOptions()
        if not overrides:
            return base
        return ApiOptions.model_validate({**base.model_dump(), **overrides})
    except ValidationError as error:
        raise ConfigError(
            format_validation_error(error).replace("LOGISTREAM_", "LOGISTREAM_API_", 1)
        ) from error
