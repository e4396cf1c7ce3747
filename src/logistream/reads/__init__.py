"""The read side: every SQL read over the batch views and the archive, as the read-only role.

Layer-free: the dashboard, the API, the notifier and the trip reports read through it; the
batch layer and the bridge write the tables it reads. ``connect`` opens reader connections,
``views`` returns batch-view rows as plain dicts (reports, API), ``tables`` returns column
tables for the dashboard's data frames, ``heartbeats`` reads the bridge's heartbeat rows.
"""
