"""E-mail over SMTP: plain, STARTTLS or implicit TLS, optional login. Message-ID = the key."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from logistream.notify.channels.base import SendError
from logistream.notify.log_store import Pending
from logistream.notify.options import NotifyOptions


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


class EmailChannel:
    name = "email"

    def __init__(self, options: NotifyOptions, password: str | None) -> None:
        self.options = options
        self._password = password
        self._context: ssl.SSLContext | None = None
        domain = parseaddr(options.mail_from)[1].rpartition("@")[2]
        self.domain = domain or "logistream.local"

    def _tls_context(self) -> ssl.SSLContext | None:
        # Loading the system CAs takes tens of ms: once per process, and only when TLS is used.
        if self.options.smtp_security == "none":
            return None
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def message(self, item: Pending) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.options.mail_from
        msg["To"] = item.address
        msg["Subject"] = item.subject
        msg["Date"] = formatdate(localtime=False)
        # The same send always has the same Message-ID: mail systems drop the repeat.
        msg["Message-ID"] = f"<{item.key}@{self.domain}>"
        msg["X-LogiStream-Idempotency-Key"] = item.key
        msg["X-LogiStream-Alert"] = item.alert_id
        msg.set_content(item.body)
        return msg

    def send(self, item: Pending) -> str | None:
        o = self.options
        if not o.smtp_host:
            raise SendError(
                "e-mail is not configured: set LOGISTREAM_NOTIFY_SMTP_HOST (and _SMTP_PORT, "
                "_SMTP_SECURITY, _SMTP_USER, _SMTP_PASSWORD)",
                permanent=True,
            )
        context = self._tls_context()
        try:
            smtp: smtplib.SMTP
            if o.smtp_security == "tls":
                smtp = smtplib.SMTP_SSL(
                    o.smtp_host, o.smtp_port, timeout=o.smtp_timeout_s, context=context
                )
            else:
                smtp = smtplib.SMTP(o.smtp_host, o.smtp_port, timeout=o.smtp_timeout_s)
            with smtp:
                if o.smtp_security == "starttls":
                    smtp.starttls(context=context)
                if o.smtp_user:
                    smtp.login(o.smtp_user, self._password or "")
                refused = smtp.send_message(self.message(item))
        except smtplib.SMTPAuthenticationError as error:
            raise SendError(
                f"SMTP {o.smtp_host} refused the login ({error.smtp_code}); check "
                "LOGISTREAM_NOTIFY_SMTP_USER and _SMTP_PASSWORD",
                permanent=True,
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            raise SendError(
                f"SMTP {o.smtp_host}: {error}; set LOGISTREAM_NOTIFY_SMTP_SECURITY to match the "
                "server (starttls, tls or none)",
                permanent=True,
            ) from None
        except smtplib.SMTPRecipientsRefused as error:
            codes = ", ".join(f"{code}" for code, _ in error.recipients.values())
            raise SendError(
                f"SMTP {o.smtp_host} refused the recipient ({codes}); check the address in the "
                "routing file",
                permanent=all(code >= 500 for code, _ in error.recipients.values()),
            ) from None
        except smtplib.SMTPResponseException as error:
            raise SendError(
                f"SMTP {o.smtp_host} answered {error.smtp_code}: {_text(error.smtp_error)[:200]}",
                permanent=500 <= error.smtp_code < 600,
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            # Connection refused, timeouts, TLS trouble, a dropped line: worth retrying.
            raise SendError(
                f"SMTP {o.smtp_host}:{o.smtp_port} unreachable or failed ({error}); is the "
                "mail server up?"
            ) from None
        if refused:
            raise SendError(f"SMTP refused {len(refused)} recipient(s)", permanent=True)
        return None

    def close(self) -> None:
        return None
