"""Channels: e-mail (SMTP), webhook (signed JSON POST) and SMS (HTTP gateway), and the
per-channel workers that send the log's pending rows with retries and backoff."""
