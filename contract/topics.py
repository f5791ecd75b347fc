"""Topic grammar: store/{store}/{type}/{device}/{channel} and store/{store}/hub/state."""

import re
from dataclasses import dataclass

from contract.const import (
    HUB_SEGMENT,
    ID_PATTERN,
    MENU_SEGMENT,
    READY_SEGMENT,
    TOPIC_ROOT,
    WAITLIST_SEGMENT,
    Channel,
    DeviceType,
)

_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True, slots=True)
class Topic:
    store: str
    device_type: DeviceType
    device: str
    channel: Channel


def device_topic(store: str, device_type: DeviceType, device: str, channel: Channel) -> str:
    return f"{TOPIC_ROOT}/{store}/{device_type.value}/{device}/{channel.value}"


def hub_state_topic(store: str) -> str:
    return f"{TOPIC_ROOT}/{store}/{HUB_SEGMENT}/state"


def ready_topic(store: str) -> str:
    return f"{TOPIC_ROOT}/{store}/{HUB_SEGMENT}/{READY_SEGMENT}"


def waitlist_topic(store: str) -> str:
    """Retained by the hub: the line the queue screens show (contract.waitlist.WaitlistBoard)."""
    return f"{TOPIC_ROOT}/{store}/{HUB_SEGMENT}/{WAITLIST_SEGMENT}"


def menu_topic(store: str) -> str:
    """Retained by the hub: the menu and sold-out marks kiosks show (KioskMenu)."""
    return f"{TOPIC_ROOT}/{store}/{HUB_SEGMENT}/{MENU_SEGMENT}"


def subscriptions(store: str) -> list[str]:
    """What the hub subscribes to: everything devices send, nothing the hub sends itself."""
    return [
        f"{TOPIC_ROOT}/{store}/+/+/{channel.value}"
        for channel in (Channel.STATE, Channel.TELEMETRY, Channel.EVENT, Channel.REPLY)
    ]


def parse_topic(topic: str) -> Topic | None:
    """The topic's parts, or None when it does not follow the grammar."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != TOPIC_ROOT:
        return None
    _, store, type_word, device, channel_word = parts
    if not (_ID.fullmatch(store) and _ID.fullmatch(device)):
        return None
    try:
        return Topic(store, DeviceType(type_word), device, Channel(channel_word))
    except ValueError:
        return None
