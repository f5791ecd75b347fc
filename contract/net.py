"""Local TCP ports, alike for every part that opens one: the device apps (a page on port 0
means any free port), the demo, the test harnesses and the benchmarks."""

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on at `host` right now (the kernel's pick for port 0)."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port
