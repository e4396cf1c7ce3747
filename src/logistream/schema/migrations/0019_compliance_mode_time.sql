-- Operating modes (issue 18) in the trip compliance figures: the time out of range that fell
-- inside an operating mode of the truck (migration 0070, the modes in force), stated apart.
-- It stays counted in tor_s, the excursions and the verdict (batch/views/view_sql.py says why);
-- this column says how much of it the speed layer held.
ALTER TABLE trip_compliance ADD COLUMN mode_tor_s double precision NOT NULL DEFAULT 0;
ALTER TABLE probe_compliance ADD COLUMN mode_tor_s double precision NOT NULL DEFAULT 0;
