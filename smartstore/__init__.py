"""smartstore: edge IoT for restaurant chains."""

__version__ = "0.1.0"
