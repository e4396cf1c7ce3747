"""Settings of the notifier only (prefix ``LOGISTREAM_NOTIFY_``); CLI options override them.

Secrets (SMTP password, SMS API key, webhook and ack-link signing keys) come from the
environment or, when unset, the local stack's secrets file; they are never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from logistream import link_tokens
from logistream.config import Port, Settings, format_validation_error, read_secrets
from logistream.errors import ConfigError

DEFAULT_PUBLIC_URL: Final = "http://127.0.0.1:8600"


class NotifyOptions(BaseSettings):
    """Field ``x`` is the variable ``LOGISTREAM_NOTIFY_X``."""

    model_config = SettingsConfigDict(
        env_prefix="LOGISTREAM_NOTIFY_", extra="ignore", frozen=True, populate_by_name=True
    )

    routing_file: Path | None = None
    """Your routing rules (TOML); unset: the shipped ``notify/routing.toml``."""
    public_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LOGISTREAM_NOTIFY_PUBLIC_URL", "LOGISTREAM_API_PUBLIC_URL"),
    )
    """Base of the ack links (the API's public base URL); unset: http://127.0.0.1:8600."""
    link_ttl_h: Annotated[float, Field(gt=0)] = 72.0
    ack_secret: str | None = None
    """Key that signs ack links; unset: ``notify_ack_secret`` in the stack's secrets file."""

    smtp_host: str | None = None
    smtp_port: Port = 587
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "LogiStream <alerts@logistream.local>"
    smtp_timeout_s: Annotated[float, Field(gt=0)] = 10.0

    webhook_secret: str | None = None
    """Key of the HMAC-SHA256 signature header; unset: ``notify_webhook_secret`` in secrets."""
    webhook_timeout_s: Annotated[float, Field(gt=0)] = 5.0

    sms_url: str | None = None
    """SMS gateway endpoint (Africa's Talking style form POST)."""
    sms_username: str | None = None
    sms_api_key: str | None = None
    sms_sender_id: str | None = None
    sms_timeout_s: Annotated[float, Field(gt=0)] = 5.0

    max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    """Attempts of one send before it is logged as failed."""
    backoff_base_s: Annotated[float, Field(gt=0)] = 2.0
    backoff_max_s: Annotated[float, Field(gt=0)] = 300.0
    check_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    """How often escalation and the watchdog look (seconds)."""


def load_options(**overrides: object) -> NotifyOptions:
    """The options from the environment, with ``overrides`` (CLI flags) winning."""
    try:
        base = NotifyOptions()
        if not overrides:
            return base
        return NotifyOptions.model_validate({**base.model_dump(), **overrides})
    except ValidationError as error:
        raise ConfigError(
            format_validation_error(error).replace("LOGISTREAM_", "LOGISTREAM_NOTIFY_", 1)
        ) from error


def secret(settings: Settings, explicit: str | None, key: str) -> str | None:
    """A secret from its variable, else from the local stack's secrets file (or None)."""
    if explicit:
        return explicit
    return read_secrets(settings).get(key) or None


def ack_secret(settings: Settings, options: NotifyOptions) -> bytes:
    """The key that signs ack links (:func:`logistream.link_tokens.ack_secret`)."""
    return link_tokens.ack_secret(settings, options.ack_secret)


def public_url(options: NotifyOptions) -> str:
    return (options.public_url or DEFAULT_PUBLIC_URL).rstrip("/")
