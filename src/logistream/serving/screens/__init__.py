"""The dashboard's pages, one module each with ``render()``, called by ``app.py``'s navigation.

Not named ``pages``: Streamlit would take a ``pages/`` folder next to ``app.py`` for its older
file-based navigation.
"""
