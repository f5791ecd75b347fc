"""Device configuration templates and shared ESPHome packages: data, shipped in the wheel (a
regular package so that importlib.resources finds them the same way in a checkout, an editable
install and an installed wheel)."""
