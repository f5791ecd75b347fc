"""The store hub: MQTT ingest, the store's state in SQLite, the staff board, telemetry uplink."""
