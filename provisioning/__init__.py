"""Setting a store up: its broker (mosquitto config, per-device credentials and ACL) and the
configs each device is flashed or configured with, from the store inventory. Run by an
installer or the demo, never by the running hub."""
