-- Proof of delivery (logistream shipments pod; the dashboard's PoD form; the API later): at the
-- stop where a lot is dropped, a user of the receiving organisation accepts or rejects it. One
-- row per (shipment, lot): a lot is signed for once. Written by ShipmentStore.record_pod in the
-- same transaction that bumps the shipment's version and logs 'pod_recorded' in
-- shipment_changes; the record on the Kafka topic `shipments` then carries the PoDs, so the
-- speed layer raises the rejection's alert to the shipper (one writer of alerts).
CREATE TABLE shipment_pod (
    shipment_id  text        NOT NULL,
    lot_number   text        NOT NULL,
    stop_index   integer     NOT NULL CHECK (stop_index >= 0),  -- shipment_stops.position
    stop_id      text        NOT NULL,
    decision     text        NOT NULL CHECK (decision IN ('accepted', 'rejected')),
    recorded_by  text        NOT NULL CHECK (length(recorded_by) BETWEEN 1 AND 128),
                 -- users.name (or an API token's name) of who recorded it
    signer_name  text        NOT NULL CHECK (length(signer_name) BETWEEN 1 AND 200),
                 -- the printed name of who signed at the handover
    organisation text        NOT NULL CHECK (length(organisation) BETWEEN 1 AND 128),
                 -- the signer's organisation id (the shipment's receiver.id)
    signed_at    timestamptz NOT NULL,
    note         text        NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    temperature  jsonb       NOT NULL CHECK (jsonb_typeof(temperature) = 'object'),
                 -- the lot's temperature summary up to the handover (min_c, max_c, mkt_c,
                 -- tor_min, excursions, readings, probes, ...: shipments.pod.summary_document)
    version      integer     NOT NULL CHECK (version >= 1),  -- the shipment version it made
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shipment_id, lot_number),
    FOREIGN KEY (shipment_id, lot_number)
        REFERENCES shipment_lots (shipment_id, lot_number) ON DELETE CASCADE,
    FOREIGN KEY (shipment_id, stop_index)
        REFERENCES shipment_stops (shipment_id, position) ON DELETE CASCADE
);

CREATE INDEX shipment_pod_stop ON shipment_pod (shipment_id, stop_index);
-- "Which lots were rejected?" (few rows: a partial index).
CREATE INDEX shipment_pod_rejected ON shipment_pod (signed_at) WHERE decision = 'rejected';

-- A PoD is a change of the shipment: its own kind in the change log.
ALTER TABLE shipment_changes DROP CONSTRAINT shipment_changes_change_check;
ALTER TABLE shipment_changes ADD CONSTRAINT shipment_changes_change_check
    CHECK (change IN ('created', 'cancelled', 'stage_overridden', 'pod_recorded'));

COMMENT ON TABLE shipment_pod IS
    'Proof of delivery: each lot accepted or rejected at its drop by the receiving organisation '
    '(logistream shipments pod), with the lot''s temperature summary up to the handover.';

-- Written with the owner's connection, as the other shipments tables; the read-only role reads it.
GRANT SELECT ON shipment_pod TO logistream_reader;
