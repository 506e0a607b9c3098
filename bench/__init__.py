"""Benchmarks of the sandbox API server (``make bench`` = ``python -m bench``).

Not tests: nothing here asserts on a timing. Each benchmark starts its own sandbox process in a temporary
directory, drives it over HTTPS on loopback exactly as a client would (bearer token, the per-run CA verified),
prints a table and records its figures in ``bench/results/latest.json``.
"""
