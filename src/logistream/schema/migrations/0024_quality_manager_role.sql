-- The quality manager (issue 18): a dashboard role that reads the audit trail, the audits and
-- the reports, and changes nothing (serving/auth.py). 0020's CHECK named the three roles of the
-- time; it is replaced by one that admits the fourth.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('viewer', 'dispatcher', 'admin', 'quality_manager'));
