"""SMS through an HTTP gateway in the style Kenyan operators use (Africa's Talking's API).

A form POST of ``username``, ``to``, ``message`` and ``from`` (the sender id), with the API key
in the ``apiKey`` header; ``clientReference`` (and an ``Idempotency-Key`` header) carry the
send's idempotency key. The JSON answer lists each recipient's ``statusCode``: 100-102 accepted,
401-407 refused for good (bad number, blacklisted, no balance), 500-502 try again.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from logistream.notify.channels.base import SendError, http_retryable
from logistream.notify.log_store import Pending
from logistream.notify.options import NotifyOptions

ACCEPTED: Final = frozenset({100, 101, 102})
STATUS_HELP: Final[dict[int, str]] = {
    401: "risk hold at the gateway",
    402: "invalid sender id; check LOGISTREAM_NOTIFY_SMS_SENDER_ID",
    403: "invalid phone number; check it in the routing file (+254...)",
    404: "unsupported number type",
    405: "insufficient balance; top up the SMS account",
    406: "the recipient has blocked messages from this sender",
    407: "the gateway could not route the message",
}


def _first_recipient(answer: Any) -> dict[str, Any] | None:
    try:
        recipients = answer["SMSMessageData"]["Recipients"]
        first = recipients[0]
    except (KeyError, IndexError, TypeError):
        return None
    return first if isinstance(first, dict) else None


class SmsChannel:
    name = "sms"

    def __init__(self, options: NotifyOptions, api_key: str | None) -> None:
        self.options = options
        self._api_key = api_key
        self._client = httpx.Client(timeout=options.sms_timeout_s, follow_redirects=False)

    def send(self, item: Pending) -> str | None:
        o = self.options
        if not o.sms_url or not o.sms_username or not self._api_key:
            raise SendError(
                "SMS is not configured: set LOGISTREAM_NOTIFY_SMS_URL, _SMS_USERNAME and "
                "_SMS_API_KEY (and _SMS_SENDER_ID)",
                permanent=True,
            )
        form = {"username": o.sms_username, "to": item.address, "message": item.body,
                "clientReference": item.key}  # fmt: skip
        if o.sms_sender_id:
            form["from"] = o.sms_sender_id
        headers = {"apiKey": self._api_key, "Accept": "application/json",
                   "Idempotency-Key": item.key}  # fmt: skip
        try:
            response = self._client.post(o.sms_url, data=form, headers=headers)
        except httpx.TimeoutException:
            raise SendError("SMS gateway did not answer in time") from None
        except httpx.HTTPError as error:
            raise SendError(f"SMS gateway unreachable ({type(error).__name__})") from None
        status = response.status_code
        if not response.is_success:
            if status in (401, 403):
                raise SendError(
                    f"SMS gateway refused the credentials (HTTP {status}); check "
                    "LOGISTREAM_NOTIFY_SMS_USERNAME and _SMS_API_KEY",
                    permanent=True,
                )
            raise SendError(
                f"SMS gateway answered HTTP {status}", permanent=not http_retryable(status)
            )
        try:
            recipient = _first_recipient(response.json())
        except ValueError:
            recipient = None
        if recipient is None:
            return f"HTTP {status}"  # accepted, without a per-recipient report
        code = int(recipient.get("statusCode", 0) or 0)
        if code in ACCEPTED:
            return str(recipient.get("messageId") or f"status {code}")
        reason = STATUS_HELP.get(code, str(recipient.get("status", "unknown status")))
        raise SendError(f"SMS gateway status {code}: {reason}", permanent=400 <= code < 500)

    def close(self) -> None:
        self._client.close()
