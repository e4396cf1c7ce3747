"""The live views' layout in Redis: key names, limits, and the scripts (alert changes, trucks).

Only the Redis implementation (``redis_reads``, ``redis_writes``, ``redis_feed``) uses these;
everyone else holds a ``LiveViews``. Every key starts with ``ls:`` (the Redis ACLs grant that
prefix):

======================================  ======  ===============================================
key                                     type    content
======================================  ======  ===============================================
``ls:trucks``                           ZSET    truck_id -> event time of its latest reading
``ls:truck:{truck_id}``                 HASH    ``reading`` (JSON, the contract's fields),
                                                ``status`` (``ok``, ``offline`` or the worst
                                                open severity), ``alerts`` (JSON list of
                                                ``{alert_id, rule, severity, state}``),
                                                ``event_time``, ``updated_at`` (wall clock);
                                                on a truck with several probes also ``probes``
                                                (JSON list of ``{probe_id, temp, timestamp}``,
                                                each named probe's newest reading; absent for
                                                a single probe). ``reading`` is the newest of
                                                any probe
``ls:temp:{truck_id}``                  ZSET    rolling temperature history of the truck's
                                                single probe (readings without ``probe_id``):
                                                member ``"{ts}:{temp}"``, score = event time;
                                                the last ``TEMP_HISTORY_LEN`` readings
``ls:ptemp:{truck_id}@{probe_id}``      ZSET    the same for one named probe of a truck with
                                                several: its own last ``TEMP_HISTORY_LEN``
``ls:alert:{alert_id}``                 STRING  JSON of the alert's latest state (an ``Alert``);
                                                resolved alerts expire after a week
``ls:alerts:open``                      ZSET    alert_id -> opened_at, open and acknowledged
``ls:alerts:recent``                    ZSET    alert_id -> changed_at, every state (trimmed)
``ls:alerts:seq``                       STRING  the last alert-change sequence number given
``ls:alerts:changes``                   STREAM  one entry per alert change, capped; entry id
                                                ``{seq}-0``, fields ``alert`` (JSON) and ``at``
                                                (Redis clock, epoch seconds)
``ls:shipments``                        ZSET    shipment_id -> event time of its latest state,
                                                every shipment the speed layer tracks
``ls:shipment:{shipment_id}``           STRING  JSON ``ShipmentLive``: stage, stop, ETAs
``ls:shipment_events:{shipment_id}``    ZSET    member = JSON ``StageEvent``, score = its
                                                event time (writing one twice is a no-op)
``ls:speed:heartbeats``                 HASH    processor instance -> JSON heartbeat, every
                                                second (wall clock ``at``, last record, lag)
``ls:speed:views``                      HASH    telemetry partition -> wall time its views
                                                were last rebuilt; a missing partition (Redis
                                                flushed) makes the speed layer rewrite them
======================================  ======  ===============================================
"""

from __future__ import annotations

from typing import Any, Final

PREFIX: Final = "ls:"
TRUCKS: Final = "ls:trucks"
ALERTS_OPEN: Final = "ls:alerts:open"
ALERTS_RECENT: Final = "ls:alerts:recent"
ALERT_SEQ: Final = "ls:alerts:seq"
ALERT_CHANGES: Final = "ls:alerts:changes"
HEARTBEATS: Final = "ls:speed:heartbeats"
VIEWS_MARKER: Final = "ls:speed:views"
SHIPMENTS: Final = "ls:shipments"

TEMP_HISTORY_LEN: Final = 360
ALERT_CHANGES_MAXLEN: Final = 10_000
ALERTS_RECENT_MAX: Final = 10_000
RESOLVED_TTL_S: Final = 7 * 86_400

# Numbers the change and appends it in one atomic step, so the stream's order is the sequence's
# order even with several speed processes. A missing counter (a new or flushed Redis) starts at
# the clock in microseconds: above every number handed out before, so a client resuming with an
# old number still gets every change written after the rebuild. (Lua formats big numbers with
# an exponent, hence string.format('%d').)
APPEND_CHANGE_LUA: Final = """
local t = redis.call('TIME')
local seq = redis.call('INCR', KEYS[1])
if seq == 1 then
  seq = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('SET', KEYS[1], string.format('%d', seq))
end
local id = string.format('%d', seq)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], id .. '-0',
           'alert', ARGV[1], 'at', t[1] .. '.' .. string.format('%06d', tonumber(t[2])))
return id
"""


# The trucks' newest states and temperature-history points of one batch, in one command: the
# client sends one MessagePack array instead of two pipelined commands per truck (their packing
# and replies were a third of the speed layer's time at 10,000 readings/s in small batches, and
# more with thousands of trucks a batch). The same commands with the same values as before, run
# by the server. The array, all strings (numbers as the client library would send them): the
# history length; the number of trucks; per truck its key, the number of field/value items and
# the items; the number of histories; per history its key, "1" to trim it to the history length
# (else "0"), the number of score/member items and the items. (``unpack`` takes at most a few
# thousand values: the points go to ZADD in chunks.)
WRITE_TRUCKS_LUA: Final = """
local a = cmsgpack.unpack(ARGV[1])
local keep = tonumber(a[1])
local i = 2
local trucks = tonumber(a[i])
i = i + 1
for _ = 1, trucks do
  local key, n = a[i], tonumber(a[i + 1])
  redis.call('HSET', key, unpack(a, i + 2, i + 1 + n))
  i = i + 2 + n
end
local histories = tonumber(a[i])
i = i + 1
for _ = 1, histories do
  local key, trim, n = a[i], a[i + 1], tonumber(a[i + 2])
  local first = i + 3
  local last = first + n - 1
  while first <= last do
    local stop = math.min(first + 1999, last)
    redis.call('ZADD', key, unpack(a, first, stop))
    first = stop + 1
  end
  if trim == '1' then
    redis.call('ZREMRANGEBYRANK', key, 0, -(keep + 1))
  end
  i = i + 3 + n
end
return trucks
"""


def shipment_key(shipment_id: str) -> str:
    return f"ls:shipment:{shipment_id}"


def shipment_events_key(shipment_id: str) -> str:
    return f"ls:shipment_events:{shipment_id}"


def truck_key(truck_id: str) -> str:
    return f"ls:truck:{truck_id}"


def temp_history_key(truck_id: str) -> str:
    return f"ls:temp:{truck_id}"


def probe_temp_history_key(truck_id: str, probe_id: str) -> str:
    # Its own prefix, so it never meets a single-probe truck's key whatever the truck's id.
    return f"ls:ptemp:{truck_id}@{probe_id}"


def history_key(truck_id: str, probe_id: str | None) -> str:
    """The temperature history of a truck's single probe (``probe_id`` None) or a named one."""
    return (
        temp_history_key(truck_id)
        if probe_id is None
        else probe_temp_history_key(truck_id, probe_id)
    )


def alert_key(alert_id: str) -> str:
    return f"ls:alert:{alert_id}"


def text(value: Any) -> str:
    """A Redis reply as text (bytes unless the client decodes responses)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def seq_of(entry_id: Any) -> int:
    """The sequence number of a change stream entry (its id is ``{seq}-0``)."""
    return int(text(entry_id).partition("-")[0])


def entry_id(seq: int) -> str:
    return f"{seq}-0"
