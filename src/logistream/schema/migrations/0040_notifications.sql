-- Notifications and escalation (logistream notify). The notification log is the record of who
-- was told what, when, by which channel: a row is written (pending) before its offsets are
-- committed and before it is sent, and marked sent only after the channel accepted it, so a
-- send confirmed here is never repeated and a crash repeats at most the one unconfirmed send,
-- with the same idempotency_key (webhook header, e-mail Message-ID, SMS client reference).
CREATE TABLE notifications (
    notification_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key  text        NOT NULL UNIQUE,
    kind             text        NOT NULL CHECK (kind IN ('alert', 'escalation', 'watchdog')),
    alert_id         text        NOT NULL,   -- or pipeline:<component>:<since> for the watchdog
    alert_state      text        NOT NULL,   -- open/acknowledged/resolved, or stalled/recovered
    level            integer     NOT NULL DEFAULT 0 CHECK (level >= 0),  -- 0: first notice
    truck_id         text,
    trip_id          text,
    rule             text,
    severity         text,
    alert_opened_at  timestamptz,            -- event time the alert opened
    recipient        text        NOT NULL,   -- person key in the routing file
    recipient_name   text        NOT NULL,
    channel          text        NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),
    address          text        NOT NULL,   -- e-mail address, phone number or URL
    subject          text        NOT NULL,
    body             text        NOT NULL,   -- exactly what was sent (the SMS text for sms)
    payload          jsonb       NOT NULL,   -- the webhook body
    status           text        NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'failed', 'superseded')),
    held             boolean     NOT NULL DEFAULT false,  -- held by quiet hours
    attempts         integer     NOT NULL DEFAULT 0,
    last_error       text,                   -- why the last attempt failed (or the permanent reason)
    provider_ref     text,                   -- gateway message id / HTTP status, when given
    created_at       timestamptz NOT NULL DEFAULT now(),
    not_before       timestamptz NOT NULL DEFAULT now(),  -- quiet hours end, or retry backoff
    sent_at          timestamptz,
    failed_at        timestamptz
);
CREATE INDEX notifications_due ON notifications (channel, not_before) WHERE status = 'pending';
CREATE INDEX notifications_truck ON notifications (truck_id, alert_opened_at);
CREATE INDEX notifications_alert ON notifications (alert_id);

-- What the notifier knows of each alert: its latest state and how far it has escalated, updated
-- in the same transaction as the notifications of a level (a restart repeats and forgets none).
CREATE TABLE notify_alerts (
    alert_id         text        PRIMARY KEY,
    truck_id         text        NOT NULL,
    state            text        NOT NULL,
    severity         text        NOT NULL,
    alert            jsonb       NOT NULL,   -- the latest change as published on truck_alerts
    first_seen_at    timestamptz NOT NULL,
    levels_done      integer     NOT NULL DEFAULT 0,
    next_level_at    timestamptz,
    acknowledged_by  text,
    acknowledged_at  timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notify_alerts_due ON notify_alerts (next_level_at) WHERE next_level_at IS NOT NULL;

-- The watchdog's last report per component (speed, bridge): told once per stall and recovery.
CREATE TABLE notify_watchdog (
    component   text        PRIMARY KEY,
    stalled     boolean     NOT NULL,
    since       timestamptz NOT NULL,
    detail      text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE notifications IS
    'Who was told what, when, by which channel (logistream notify); status failed + last_error '
    'shows a permanent failure.';

GRANT SELECT ON notifications, notify_alerts, notify_watchdog TO logistream_reader;
