-- The bridge's resume state: the next offset to read per partition, written in the same
-- transaction as the rows it covers. This, not Kafka's committed offsets, is the truth.
CREATE TABLE kafka_offsets (
    consumer_group text        NOT NULL,
    topic          text        NOT NULL,
    partition      integer     NOT NULL,
    next_offset    bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- Liveness of each bridge process, for the dashboard: a stalled archive is visible here.
CREATE TABLE bridge_heartbeat (
    consumer_group      text             NOT NULL,
    instance            text             NOT NULL,  -- host:pid
    started_at          timestamptz      NOT NULL,
    last_commit_at      timestamptz      NOT NULL,
    last_batch_messages integer          NOT NULL,
    last_batch_rejected integer          NOT NULL,
    total_messages      bigint           NOT NULL,
    total_rejected      bigint           NOT NULL,
    lag_messages        bigint,           -- high watermark minus next offset, summed
    lag_seconds         double precision, -- commit time minus oldest record timestamp in batch
    PRIMARY KEY (consumer_group, instance)
);

-- The offsets and heartbeat are the bridge's own bookkeeping (upserted), not the archive.
GRANT SELECT, INSERT, UPDATE ON kafka_offsets, bridge_heartbeat TO logistream_bridge;
GRANT SELECT ON kafka_offsets, bridge_heartbeat TO logistream_reader;
