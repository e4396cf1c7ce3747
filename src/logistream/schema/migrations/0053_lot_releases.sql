-- A quality manager's decision on a lot (logistream shipments release; the dashboard later):
-- released or quarantined, by whom, when and why. Logged: a lot may be quarantined, then
-- released after an investigation; every decision stays, the newest counts. The shipment
-- report shows it beside the lot's release verdict.
CREATE TABLE lot_releases (
    release_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipment_id text        NOT NULL,
    lot_number  text        NOT NULL,
    decision    text        NOT NULL CHECK (decision IN ('released', 'quarantined')),
    decided_by  text        NOT NULL CHECK (length(decided_by) BETWEEN 1 AND 128),
    decided_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason      text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    FOREIGN KEY (shipment_id, lot_number)
        REFERENCES shipment_lots (shipment_id, lot_number) ON DELETE CASCADE
);

-- The newest decision per lot.
CREATE INDEX lot_releases_latest ON lot_releases (shipment_id, lot_number, decided_at DESC);

COMMENT ON TABLE lot_releases IS
    'A quality manager released or quarantined a lot (logistream shipments release); '
    'append-only log, the newest row per (shipment, lot) counts.';

GRANT SELECT ON lot_releases TO logistream_reader;
