"""backorder: exact stock, a fair backorder queue, honest promises."""

__version__ = "0.1.0"
