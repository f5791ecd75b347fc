"""The HQ service's HTTP routes."""
