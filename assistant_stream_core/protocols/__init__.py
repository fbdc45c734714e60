"""Wire protocols: one module per format, each with a sans-IO encoder and decoder."""

from .base import DEFAULT_MAX_LINE_BYTES, STREAMING_HEADERS, Decoder, Encoder

__all__ = ["DEFAULT_MAX_LINE_BYTES", "STREAMING_HEADERS", "Decoder", "Encoder"]
