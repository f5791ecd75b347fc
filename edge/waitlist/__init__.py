"""The line at the door and reservations (docs/waitlist.md)."""
