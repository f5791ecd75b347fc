"""Points for InfluxDB: what is measured (points), where it waits (buffer), who sends it (sender).

The measurement schema is documented in docs/influxdb-schema.md.
"""
