-- What an admin decided about a truck that reports but is not in the fleet registry: adopted
-- (its fleet.toml entry was written or handed out) or dismissed (a test or a typo). Append-only:
-- a later decision about the same truck is a new row, so who decided what, and when, stays.
CREATE TABLE unknown_truck_decisions (
    id         bigserial   PRIMARY KEY,
    truck_id   text        NOT NULL CHECK (length(truck_id) BETWEEN 1 AND 64),
    decision   text        NOT NULL CHECK (decision IN ('adopted', 'dismissed')),
    decided_by text        NOT NULL CHECK (length(decided_by) BETWEEN 1 AND 128),
    decided_at timestamptz NOT NULL DEFAULT now(),
    note       text        NOT NULL DEFAULT '' CHECK (length(note) <= 2000)
);

CREATE INDEX unknown_truck_decisions_truck ON unknown_truck_decisions (truck_id, decided_at DESC);

COMMENT ON TABLE unknown_truck_decisions IS
    'Admins'' decisions on trucks not in the fleet registry (logistream trucks adopt|dismiss, '
    'or the dashboard''s Unknown trucks page).';

GRANT SELECT ON unknown_truck_decisions TO logistream_reader;
