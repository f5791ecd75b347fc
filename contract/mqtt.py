"""How any client (hub, device, tool) talks to the store broker with paho-mqtt."""

import socket
import ssl

import paho.mqtt.client as mqtt


def set_nodelay(client: mqtt.Client) -> None:
    """Without TCP_NODELAY, QoS 1 stalls on Nagle against delayed ACKs (18-30 msg/s here)."""
    sock = client.socket()
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def tls_context(ca_pem: str) -> ssl.SSLContext:
    """TLS to the store broker: its certificate must be signed by the store CA (`ca_pem`,
    `smartstore provision --tls`) and name the host connected to. Only the store CA is
    trusted, not the system's: a certificate some public CA gave anyone is refused."""
    context = ssl.create_default_context(cadata=ca_pem)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def use_tls(client: mqtt.Client, ca_pem: str | None) -> None:
    """Connect over TLS when a store CA is given (before connect)."""
    if ca_pem is not None:
        client.tls_set_context(tls_context(ca_pem))
