"""The integration API (issue 8): REST + Server-Sent Events for machines, over the two stores.

One concern per module: :mod:`options` (settings), :mod:`tokens` (token format, hashing and
scopes, pure), :mod:`token_store` (tokens in PostgreSQL), :mod:`auth` (the FastAPI dependency),
:mod:`limits` (rate and size limits, pure + ASGI), :mod:`paging` and :mod:`filters` (pure),
:mod:`ingest` (validation, pure) and :mod:`publish` (Kafka, I/O), :mod:`streaming` (SSE),
:mod:`backends` (connections), :mod:`routes` (one module per resource), :mod:`app` (factory),
:mod:`cli` (``logistream api``). Layers are read only through Redis, PostgreSQL and Kafka.
"""
