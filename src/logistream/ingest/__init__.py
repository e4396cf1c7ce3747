"""LogiStream ingest."""
