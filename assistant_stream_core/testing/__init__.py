"""Helpers for testing code built on assistant-stream-ce.

:mod:`assistant_stream_core.testing.strategies` holds `Hypothesis
<https://hypothesis.readthedocs.io>`_ strategies for chunks, valid runs and byte
splits, for conformance tests of your own encoders, decoders and adapters.
Hypothesis is not a dependency of this library: install it (``pip install
hypothesis``) before importing that module. This package itself imports
nothing beyond the core.
"""

from __future__ import annotations

__all__: list[str] = []
