-- Shipments (logistream shipments create|show|list|cancel|override, the API's /v1/shipments).
-- PostgreSQL is the source of truth: `document` holds the whole shipment in its file format
-- (logistream.shipments.wire.to_document); lots and stops are copied out for querying. Every
-- change bumps `version` and is logged in shipment_changes in the same transaction. The row is
-- also the outbox of the compacted Kafka topic `shipments`: a version is published after the
-- commit and `published_version` then set, so a crash in between is healed at the next start.
CREATE TABLE shipments (
    shipment_id       text        PRIMARY KEY CHECK (length(shipment_id) BETWEEN 1 AND 128),
    reference         text        NOT NULL,
    shipper_id        text        NOT NULL,
    shipper_name      text        NOT NULL,
    receiver_id       text        NOT NULL,
    receiver_name     text        NOT NULL,
    cargo             text        NOT NULL,
    truck_id          text        NOT NULL,
    status            text        NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'cancelled', 'delivered')),
    version           integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
    document          jsonb       NOT NULL CHECK (jsonb_typeof(document) = 'object'),
    stage_override    jsonb,      -- the latest stage set by hand (wire.StageOverride), if any
    created_at        timestamptz NOT NULL DEFAULT now(),
    created_by        text        NOT NULL CHECK (length(created_by) BETWEEN 1 AND 128),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    published_version integer     NOT NULL DEFAULT 0,  -- the version last acknowledged by Kafka
    CHECK (published_version BETWEEN 0 AND version)
);

-- A truck carries one active shipment at a time: a database fact, not only a check in code.
CREATE UNIQUE INDEX shipments_one_active_per_truck ON shipments (truck_id)
    WHERE status = 'active';
CREATE INDEX shipments_shipper ON shipments (shipper_id, created_at DESC);
CREATE INDEX shipments_receiver ON shipments (receiver_id, created_at DESC);
CREATE INDEX shipments_truck ON shipments (truck_id, created_at DESC);
-- The outbox: versions not yet on Kafka (usually none, so the index stays tiny).
CREATE INDEX shipments_unpublished ON shipments (updated_at) WHERE published_version < version;

CREATE TABLE shipment_lots (
    shipment_id text             NOT NULL REFERENCES shipments ON DELETE CASCADE,
    position    integer          NOT NULL CHECK (position >= 0),  -- order in the file
    lot_number  text             NOT NULL,
    product     text             NOT NULL,
    quantity    double precision NOT NULL CHECK (quantity > 0),
    unit        text             NOT NULL,
    expiry      date,
    PRIMARY KEY (shipment_id, lot_number),
    UNIQUE (shipment_id, position)
);
-- "Which shipments carried lot MR-2611?"
CREATE INDEX shipment_lots_number ON shipment_lots (lot_number);

CREATE TABLE shipment_stops (
    shipment_id  text        NOT NULL REFERENCES shipments ON DELETE CASCADE,
    position     integer     NOT NULL CHECK (position >= 0),  -- 0: the origin
    stop_id      text        NOT NULL,
    name         text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('origin', 'drop', 'destination')),
    geofence     jsonb       NOT NULL,  -- {"circle": {...}} or {"polygon": [[lat, lon], ...]}
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL CHECK (window_end >= window_start),
    drops        text[]      NOT NULL DEFAULT '{}',  -- lot numbers handed over here
    PRIMARY KEY (shipment_id, position),
    UNIQUE (shipment_id, stop_id)
);

-- The log of every change: who, when, why. Append-only; one row per version.
CREATE TABLE shipment_changes (
    change_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipment_id text        NOT NULL REFERENCES shipments ON DELETE CASCADE,
    version     integer     NOT NULL CHECK (version >= 1),  -- the version the change made
    change      text        NOT NULL
                CHECK (change IN ('created', 'cancelled', 'stage_overridden')),
    changed_by  text        NOT NULL CHECK (length(changed_by) BETWEEN 1 AND 128),
    changed_at  timestamptz NOT NULL DEFAULT now(),
    reason      text        NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
    detail      jsonb,      -- stage_overridden: {"stage": ..., "stop_index": ...}
    UNIQUE (shipment_id, version)
);

COMMENT ON TABLE shipments IS
    'Shipments (logistream shipments, /v1/shipments); document = the shipment file; '
    'published_version < version: not yet on the Kafka topic shipments.';
COMMENT ON TABLE shipment_changes IS
    'Who created, cancelled or set the stage of a shipment by hand, when and why.';

-- Written with the owner's connection (the CLI, the API's owner connection), as accounts and
-- tokens are; the read-only role reads them (0001 grants SELECT by default; said here too).
GRANT SELECT ON shipments, shipment_lots, shipment_stops, shipment_changes TO logistream_reader;
