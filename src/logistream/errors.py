"""The one error tree of LogiStream: every error raised on purpose is a LogiStreamError.

Each error carries the data a caller needs to act on it (which store, which table, which field),
so nobody parses a message. The message itself is for people: it says what failed and what to do.
Errors of one kind share one class here; a module may subclass one where it needs more data,
never define a tree of its own.
"""

from __future__ import annotations


class LogiStreamError(Exception):
    """Base of every error LogiStream raises on purpose; its message says what to do."""


class ConfigError(LogiStreamError):
    """A setting is wrong or missing. The message starts with the setting's name."""


class PrerequisiteError(LogiStreamError):
    """A program the local stack needs is missing. The message names the package to install."""


class StackError(LogiStreamError):
    """A local server did not start, stop or answer in time. The message names its log file."""


class MigrationError(LogiStreamError):
    """A migration file is malformed, was edited after it ran, or failed to apply."""


class BackupError(LogiStreamError):
    """A backup cannot be made or restored; the message says why and what to do."""


class StoreUnavailable(LogiStreamError):
    """A store or broker does not answer (or did not acknowledge in time); retrying later may help.

    ``store`` is ``kafka``, ``postgres`` or ``redis``; ``detail`` what failed, for the log.
    """

    def __init__(self, store: str, detail: str) -> None:
        super().__init__(detail)
        self.store = store
        self.detail = detail


class KafkaClientFailed(LogiStreamError):
    """A Kafka client hit an error it cannot recover from; restarting the process is the cure."""


class SchemaMissing(LogiStreamError):
    """A table the program reads is not there: the schema needs migrating (``table`` names it)."""

    def __init__(self, table: str, detail: str) -> None:
        super().__init__(detail)
        self.table = table
        self.detail = detail


class NotFound(LogiStreamError):
    """No ``kind`` (trip, alert, user, token...) of that ``key``."""

    def __init__(self, kind: str, key: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.key = key
        self.detail = detail


class TripNotFound(NotFound):
    """No trip ``key`` (of ``truck_id``, when given) in the batch views or the archive."""

    def __init__(self, trip_id: str, detail: str, *, truck_id: str | None = None) -> None:
        super().__init__("trip", trip_id, detail)
        self.truck_id = truck_id


class Refused(LogiStreamError):
    """An input that must be refused: a request, a token, a cursor, a name or password.

    ``reason`` is a short machine-readable code (``malformed``, ``expired``, ``too_large``...),
    ``field`` the input it is about when it names one; the message says what to change.
    """

    def __init__(self, reason: str, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.field = field


class InvalidReading(LogiStreamError):
    """A message breaks the wire contract (DESIGN.md). ``code`` is the DLQ reason code and
    ``field`` the contract field it is about, when one is to blame."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class StopRequested(LogiStreamError):
    """A stop was asked for while waiting (``waiting_for``: a store, a batch); nothing is
    committed past the last safe point, so a restart goes on from there."""

    def __init__(self, waiting_for: str, detail: str = "stop requested") -> None:
        super().__init__(detail)
        self.waiting_for = waiting_for
        self.detail = detail


class SendError(LogiStreamError):
    """A notification that did not go through. ``permanent``: retrying cannot help (bad address,
    refused credentials, a 4xx); otherwise it is retried with backoff. The message is logged: it
    must say what failed and what to do, and never contain a secret."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class BatchAbandoned(StopRequested):
    """The speed processor was asked to stop while a store (``waiting_for``: ``Redis`` or
    ``truck_alerts``) refused the batch in hand: the batch is left uncommitted and is processed
    again on restart."""


class ConsumerFailed(KafkaClientFailed):
    """A Kafka consumer hit a fatal error (``code``: Kafka's error name, e.g. a static member
    fenced after a broker bounce) and cannot be used again; a new consumer that joins the group
    in its place is the cure, not a new process (the bridge does that)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
