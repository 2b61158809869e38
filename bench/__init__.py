"""Steward's benchmarks (`make bench`, i.e. `python -m bench`).

Every benchmark measures its own baseline in the same run on the same machine and prints ratios
against it; nothing asserts absolute times, and a missed target is printed, never failed.
"""
