"""The one error tree of LogiStream: every error raised on purpose is a LogiStreamError."""

from __future__ import annotations


class LogiStreamError(Exception):
    """Base of every error LogiStream raises on purpose; its message says what to do."""


class ConfigError(LogiStreamError):
    """A setting is wrong or missing. The message starts with the setting's name."""


class PrerequisiteError(LogiStreamError):
    """A program the local stack needs is missing. The message names the package to install."""


class StackError(LogiStreamError):
    """A local server did not start, stop or answer in time. The message names its log file."""


class KafkaClientFailed(LogiStreamError):
    """A Kafka client hit an error it cannot recover from; restarting the process is the cure."""


class InvalidReading(LogiStreamError):
    """A message breaks the wire contract (DESIGN.md). ``code`` is the DLQ reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
