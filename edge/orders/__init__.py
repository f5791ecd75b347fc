"""Orders from tables (QR) and kiosks (MQTT), priced by the hub."""
