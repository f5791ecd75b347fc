"""Tables and their QR codes."""
