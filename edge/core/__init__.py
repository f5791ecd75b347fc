"""The hub's core: what every domain plugs into (the domain protocol, the event bus, the
worker base, MQTT ingest, the batching writer). It knows no domain by name."""
