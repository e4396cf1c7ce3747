-- Operating modes per truck (issue 18): precooling, maintenance, washout, set with a reason and
-- an end time (logistream modes, POST /v1/trucks/{truck_id}/mode). PostgreSQL is the source of
-- truth (logistream.modes.store); the row is also the outbox of the compacted Kafka topic
-- `truck_modes`: `version` counts the versions meant for the topic (0 while a mode waits for a
-- second person's approval, or was refused: such a mode is never published), and
-- `published_version` is the last one Kafka acknowledged (logistream.modes.publish).
CREATE TABLE truck_modes (
    mode_id           text        PRIMARY KEY CHECK (length(mode_id) BETWEEN 1 AND 64),
    truck_id          text        NOT NULL CHECK (length(truck_id) BETWEEN 1 AND 128),
    kind              text        NOT NULL CHECK (kind IN ('precooling', 'maintenance', 'washout')),
    reason            text        NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    ended_at          timestamptz,            -- ended early by hand (null: runs to ends_at)
    ended_by          text,
    end_reason        text,
    set_by            text        NOT NULL CHECK (length(set_by) BETWEEN 1 AND 128),
    set_source        text        NOT NULL CHECK (set_source IN ('dashboard', 'cli', 'api')),
    status            text        NOT NULL
                      CHECK (status IN ('pending_approval', 'active', 'ended', 'refused')),
    approved_by       text,                   -- also who refused it (status refused)
    approved_at       timestamptz,
    version           integer     NOT NULL DEFAULT 0 CHECK (version >= 0),
    published_version integer     NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK (published_version BETWEEN 0 AND version),
    CHECK (status <> 'active' OR (version >= 1 AND ended_at IS NULL)),
    CHECK (approved_by IS NULL OR approved_by <> set_by)
);

-- At most one mode per truck that is not over: waiting for approval or in force.
CREATE UNIQUE INDEX truck_modes_one_open_per_truck ON truck_modes (truck_id)
    WHERE status IN ('pending_approval', 'active');
CREATE INDEX truck_modes_truck ON truck_modes (truck_id, starts_at DESC);
-- The outbox: versions not yet on Kafka (usually none, so the index stays tiny).
CREATE INDEX truck_modes_unpublished ON truck_modes (updated_at) WHERE published_version < version;

COMMENT ON TABLE truck_modes IS
    'Operating modes per truck (logistream modes, /v1/trucks/{id}/mode); source of the '
    'compacted truck_modes topic.';

-- The dashboard and the API read it with the read-only role (truck chart, reports).
GRANT SELECT ON truck_modes TO logistream_reader;
