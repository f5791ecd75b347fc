"""The HQ service: store registration, per-store tokens and idempotent ingest of what hubs send."""
