"""The database schema every layer shares: numbered migrations and their runner (``migrate``)."""
