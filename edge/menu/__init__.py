"""The menu: dishes, options, stations; sold-out marks staff set."""
