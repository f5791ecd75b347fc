"""Nightly online backups of the hub's database, and putting one back."""
