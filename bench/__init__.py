"""Benchmarks of the running hub (``make bench``): the hub on PostgreSQL + Redis against a bare baseline.

Speed is measured here, never in the test suite. Add a benchmark as one module in ``bench/cases/``
(see ``bench/cases/__init__.py``); the harness runs every registered case and prints one table.
"""
