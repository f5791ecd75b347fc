"""Devices as the hub sees them: presence and the last telemetry."""
