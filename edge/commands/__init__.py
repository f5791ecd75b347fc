"""Commands staff send to a device (locate, display text, reboot) and the device's replies."""
