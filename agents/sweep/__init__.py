"""Verification sweeps: scenarios × seeds × modes × activities on Ray, with a durable ledger.

``spec`` (the sweep file and its plan of units), ``ledger`` (the SQLite record of results),
``triad`` (one triad running units in one process), ``runner`` (the units on Ray actors, with
retries and quarantine) and ``command`` (``triad sweep``). See docs/sweeps.md.
"""
