"""The audit trail (issue 18): an append-only, hash-chained ``audit_log`` of every change.

Layer-free: every layer may import it. ``trail.record`` appends one row in the caller's
transaction; ``chain`` is the pure hash chain; ``verify`` walks the table and finds the first
break; ``config_files`` records a changed rules or cargo profiles file at a service's start;
``acks`` records an acknowledgement once Kafka has its command, from all four places that send one.
"""
