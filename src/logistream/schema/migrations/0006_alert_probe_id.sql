-- Several temperature probes per truck: an alert of a cargo-air rule says which probe's
-- readings raised it (NULL: the truck's single probe, a vehicle rule, and every alert
-- archived before this column). Its payload already holds the field.
ALTER TABLE alert_changes ADD COLUMN probe_id text;

COMMENT ON COLUMN alert_changes.probe_id IS
    'The probe whose readings raised the alert (devices.toml); NULL: single probe or vehicle rule.';
