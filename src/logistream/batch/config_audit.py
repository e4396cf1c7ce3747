"""Record in the audit trail the rules file and cargo profiles a batch-layer service starts with,
when they changed since the last recorded (``logistream.audit.config_files``).

Who records: the bridge at every start and every ``logistream batch`` run, on the owner's
connection. The speed layer reads the same files but holds no database connection by design
(it writes only Redis and Kafka); on a deployment it starts with the bridge and the same
settings, so the bridge's row stands for both, and the batch's row for the views it computes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from logistream.audit.config_files import record_config_files
from logistream.audit.trail import Actor
from logistream.config import Settings
from logistream.registry.config_files import files_in_use

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("logistream.batch")


def record_files_in_use(
    conn: psycopg.Connection[Any], settings: Settings, service: str
) -> list[int]:
    """Append a ``rules_file_changed`` row per changed file, committed; the seqs appended
    (often none)."""
    files = files_in_use(settings.rules_file, settings.registry_dir)
    seqs = list(record_config_files(conn, Actor(service, "service"), files))
    if not conn.autocommit:
        # Committed at once: the append holds the audit trail's lock until its transaction ends,
        # and a batch run that follows on this connection may last minutes.
        conn.commit()
    if seqs:
        log.info(
            "audit trail: %s started with %d changed configuration file(s)", service, len(seqs)
        )
    return seqs
