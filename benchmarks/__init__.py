"""Benchmarks for assistant-stream-ce; run them with ``python -m benchmarks``.

They are not part of the test run. The machine they run on is usually noisy,
so every contender runs side by side in one process, best of N, and the
numbers worth reading are the ratios, not the absolute times.
"""
