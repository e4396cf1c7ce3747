-- The organisation a dashboard account belongs to (an organisation id as in shipment files:
-- shipper.id / receiver.id); null: the fleet operator's own staff. A proof of delivery is
-- recorded only by a user of the shipment's receiving organisation (ShipmentStore.record_pod).
ALTER TABLE users ADD COLUMN organisation text
    CHECK (organisation IS NULL OR length(organisation) BETWEEN 1 AND 128);

-- The read-only role reads it with the other columns that are not secrets (as 0020 grants).
GRANT SELECT (organisation) ON users TO logistream_reader;
