"""The numbers the queue screens call (edge/queue_screens/domain.py): a retained list on
store/{store}/hub/ready, the latest ten of today's done orders, published at start and on every
OrderReady."""

import time

from contract.menu import MenuFile
from edge.core.domain import HubContext
from edge.orders import service as orders
from edge.orders.events import OrderReady
from edge.printing.service import Routes
from edge.queue_screens.domain import READY_SHOWN, QueueScreensDomain
from tests.fast.edge.orders.placing import KIOSK, key, line, place
from tests.fast.fakes import RecordingMqtt
from tests.fast.helpers import StoreDb, build


def test_screens_get_the_latest_ten_numbers_retained(
    hub_ctx: HubContext, db: StoreDb, mqtt: RecordingMqtt, menu: MenuFile, routes: Routes
) -> None:
    build(hub_ctx, QueueScreensDomain)
    screens = hub_ctx.get(QueueScreensDomain)
    screens.start()  # a screen that connects now sees an empty list, not an old one
    now = time.time()  # the domain calls today's numbers: orders of today
    with db.sessions.begin() as s:
        uids = [
            place(s, menu, routes, [line("rice")], idem=key(n), origin=KIOSK, now=now).order.uid
            for n in range(1, 13)
        ]
    with db.sessions.begin() as s:
        for n, uid in enumerate(uids, start=1):
            orders.mark_done(s, uid, now + n)
    hub_ctx.bus.publish(OrderReady(0))
    assert READY_SHOWN == 10
    assert [(p.topic, p.json()["ready"], p.qos, p.retain) for p in mqtt.published] == [
        ("store/S001/hub/ready", [], 1, True),
        ("store/S001/hub/ready", [12, 11, 10, 9, 8, 7, 6, 5, 4, 3], 1, True),
    ]
    assert abs(mqtt.published[-1].json()["ts_ms"] / 1000 - time.time()) < 60
