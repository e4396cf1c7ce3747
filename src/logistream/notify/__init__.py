"""Notifications and escalation: alert changes on ``truck_alerts`` -> e-mail, SMS and webhooks.

Pure logic (routing, SMS text, link tokens, escalation and watchdog decisions, message texts)
is separate from I/O (channels, the PostgreSQL log, the service loop, the ack pages).
"""
