"""A checked connection to the live views' Redis for command-line tools: it answers, or one line
says how to start it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from logistream.errors import LogiStreamError

if TYPE_CHECKING:
    from redis import Redis


def checked_client(url: str) -> Redis:
    """A client of the Redis at ``url`` that has answered a PING."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as error:
        where = url.rsplit("@", 1)[-1]
        raise LogiStreamError(
            f"cannot reach Redis at {where} ({error}); is the stack up (`logistream stack up`)?"
        ) from error
    return client
