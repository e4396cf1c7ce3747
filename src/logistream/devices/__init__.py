"""Device protocols, pure: bytes from real trackers in, typed records and contract fields out.

Layer-free (no servers, no Kafka), so the ingest gateway and the simulator both import it.
"""
