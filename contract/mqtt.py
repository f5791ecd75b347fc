"""How any client (hub, device, tool) talks to the store broker with paho-mqtt."""

import socket

import paho.mqtt.client as mqtt


def set_nodelay(client: mqtt.Client) -> None:
    """Without TCP_NODELAY, QoS 1 stalls on Nagle against delayed ACKs (18-30 msg/s here)."""
    sock = client.socket()
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
