-- Operating modes (issue 18): an expected alarm that fell inside an operating mode of its truck
-- (migration 0070) was held by the speed layer on purpose (a `suppressed` alert change), so the
-- reconciliation classes it 'held_by_mode' instead of missed, early, late or on time.
ALTER TABLE reconciliation DROP CONSTRAINT reconciliation_status_check;
ALTER TABLE reconciliation ADD CONSTRAINT reconciliation_status_check
    CHECK (status IN ('on_time', 'late', 'early', 'missed', 'unmatched_alert', 'held_by_mode'));
