"""The calls domain: a press (or a diner's tap) calls staff; the board shows it until someone
answers; unanswered calls turn urgent."""

import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from contract import CallButtonEvent, EventAck, encode, parse_payload
from contract.const import PRESS_SENDERS, AckStatus, Channel
from contract.inventory import DeviceSpec
from edge.calls import service
from edge.calls.models import Call
from edge.calls.schemas import CallPublic
from edge.calls.service import Press
from edge.core.domain import AfterCommit, Domain, MqttRoute
from edge.core.ingest import checked
from edge.uplink.events import FactsCommitted


def calls_message(calls: list[Call], event_ids: list[str] | None = None) -> dict[str, Any]:
    """The board's one update message: calls as they are now, and the presses behind them."""
    return {
        "type": "calls",
        "now": time.time(),
        "calls": [CallPublic.of(c).model_dump() for c in calls],
        "event_ids": event_ids or [],
    }


def parse_press(device: DeviceSpec, payload: bytes, now: float) -> Press:
    return Press(device, checked(device, parse_payload(payload, CallButtonEvent)), now)


class CallsDomain(Domain):
    name = "calls"
    writes = (Press,)

    @classmethod
    def router(cls) -> APIRouter:
        from edge.calls.routes import router

        return router

    def mqtt_routes(self) -> Sequence[MqttRoute]:
        return (MqttRoute(Channel.EVENT, PRESS_SENDERS, parse_press),)

    def write(self, session: Session, items: list[Any], now: float) -> AfterCommit | None:
        outcome = service.record_presses(session, self.hub.store, items)

        def committed() -> None:
            # Stored: the buttons may stop resending.
            for p in items:
                ack = EventAck(id=p.event.id, status=AckStatus.OK)
                self.hub.mqtt.publish_ack(p.device.type, p.device.id, encode(ack))
            if outcome.calls:
                self.changed(outcome.calls, [e for _, e in outcome.new_event_ids])

        return committed

    def tick(self, session: Session, now: float) -> AfterCommit | None:
        escalated = service.escalate(session, now, self.hub.settings.call_urgent_after_s)
        return (lambda: self.changed(escalated)) if escalated else None

    def changed(self, calls: list[Call], event_ids: list[str] | None = None) -> None:
        """Calls changed (committed): every board hears of it, HQ's outbox may go."""
        self.hub.board.publish(calls_message(calls, event_ids))
        self.hub.bus.publish(FactsCommitted())

    def snapshot(self, session: Session) -> dict[str, Any]:
        return {
            "calls": [CallPublic.of(c).model_dump() for c in service.open_calls(session)],
            "event_ids": [],
            "urgent_after_s": self.hub.settings.call_urgent_after_s,
        }
