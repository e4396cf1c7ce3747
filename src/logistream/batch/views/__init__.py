"""Batch views: trips, trip compliance (excursions, MKT, verdict), fuel efficiency, driver
behaviour and speed-vs-batch reconciliation, recomputed from the raw archive.

The audit maths are pure functions over plain data (:mod:`mkt`, :mod:`excursions`,
:mod:`compliance`, :mod:`fuel`, :mod:`drivers`); :mod:`recompute` does the same sums set-based
in PostgreSQL over millions of rows (its steps: :mod:`registry_copy`, :mod:`scope`, :mod:`pass_sql`,
:mod:`slicing`, :mod:`view_sql`, :mod:`swap`, :mod:`progress`), and :mod:`read` is what the
dashboard and reports query.
"""
