-- The alert history is read newest first (reads.pages.alert_history_page: ORDER BY changed_at
-- DESC, alert_id DESC, state DESC LIMIT n). Without an index in that order every page sorted
-- the whole table; with it a page reads n rows from its end. It matters most under a tenant's
-- row-level security (0055/0056): a shipper's page walks the index and keeps the rows of its
-- trucks' windows until the page is full, instead of testing every change in the archive
-- (bench_tenancy: a shipper's unfiltered history was 93 % slower than the same rows asked by
-- truck, which reads alert_changes_truck_time).
CREATE INDEX alert_changes_newest ON alert_changes (changed_at DESC, alert_id DESC, state DESC);
