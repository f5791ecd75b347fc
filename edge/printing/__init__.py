"""Kitchen, void and receipt tickets for ESC/POS network printers."""
