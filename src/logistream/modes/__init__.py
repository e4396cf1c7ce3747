"""Operating modes per truck (issue 18): pre-cooling, maintenance and washout.

A dispatcher sets a mode with a reason and an end time; PostgreSQL (``truck_modes``) is the
source of truth and every approved change goes out on the compacted ``truck_modes`` topic
(``wire.py``), where the speed layer reads it to hold that truck's temperature alarms.
Layer-free: the CLI, the API and the speed layer import it.
"""
