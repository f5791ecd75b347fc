"""A store's worth of simulated devices on one DeviceLoop, for the demo, tests and benchmarks."""

import random
import threading
import time
from collections.abc import Callable

from contract import DeviceType
from contract.const import CallReason
from contract.inventory import Inventory
from contract.menu import MenuFile
from devices.base import AckHandler, SimDevice
from devices.call_button import CallButton
from devices.kiosk import Kiosk, random_lines
from devices.loop import DeviceLoop
from devices.printer import PrinterBridge
from devices.queue_screen import QueueScreen
from devices.smart_table import SmartTable

SIMULATORS: dict[DeviceType, type[SimDevice]] = {
    DeviceType.CALL_BUTTON: CallButton,
    DeviceType.SMART_TABLE: SmartTable,
    DeviceType.KIOSK: Kiosk,
    DeviceType.QUEUE_SCREEN: QueueScreen,
    DeviceType.PRINTER: PrinterBridge,
}
PRESS_TICK_S = 0.005


class Fleet:
    def __init__(
        self,
        inventory: Inventory,
        accounts: dict[str, str],
        host: str,
        port: int,
        *,
        telemetry_every_s: float = 30.0,
        on_ack: AckHandler | None = None,
        ca_pem: str | None = None,
    ) -> None:
        """`ca_pem`: the store CA; given, every device connects over TLS to `port`."""
        self.loop = DeviceLoop()
        self.devices: dict[str, SimDevice] = {}
        for spec in inventory.devices:
            cls = SIMULATORS.get(spec.type)
            if cls is None:
                continue
            self.devices[spec.id] = cls(
                self.loop,
                inventory.store,
                spec.id,
                accounts[spec.id],
                host,
                port,
                telemetry_every_s=telemetry_every_s,
                on_ack=on_ack,
                ca_pem=ca_pem,
            )
        # Everything a diner can press: call buttons and smart tables.
        self.buttons = [d for d in self.devices.values() if isinstance(d, CallButton)]
        self.printers = [d for d in self.devices.values() if isinstance(d, PrinterBridge)]
        self.kiosks = [d for d in self.devices.values() if isinstance(d, Kiosk)]
        self.screens = [d for d in self.devices.values() if isinstance(d, QueueScreen)]

    def start(self) -> None:
        for device in self.devices.values():
            self.loop.call_soon_threadsafe(device.start)
        self.loop.start()

    def wait_connected(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(d.connected for d in self.devices.values()):
            if time.monotonic() > deadline:
                down = [d.id for d in self.devices.values() if not d.connected]
                raise TimeoutError(f"{len(down)} devices did not connect: {down[:5]}")
            time.sleep(0.05)

    def stop(self) -> None:
        done = threading.Event()

        def _stop_all() -> None:
            for device in self.devices.values():
                device.stop()
            done.set()

        self.loop.call_soon_threadsafe(_stop_all)
        done.wait(10)
        self.loop.stop()

    def unacknowledged(self) -> int:
        return sum(len(d.pending) for d in self.devices.values())

    def press_randomly(self, presses_per_s: float) -> None:
        """Diners pressing now and then: a Poisson process across all buttons."""
        if not self.buttons or presses_per_s <= 0:
            return

        def _press() -> None:
            button = random.choice(self.buttons)
            if button.connected and not button.frozen:
                # Mostly "call staff"; a smart table's bill button now and then.
                reason = random.choice([CallReason.SERVICE] * 3 + list(button.reasons))
                button.press(reason)
            self.loop.call_later(random.expovariate(presses_per_s), _press)

        self.loop.call_soon_threadsafe(
            lambda: self.loop.call_later(random.expovariate(presses_per_s), _press)
        )

    def order_randomly(self, orders_per_s: float, menu: MenuFile) -> None:
        """For the demo: diners ordering at the kiosks now and then."""
        if not self.kiosks or orders_per_s <= 0:
            return

        def _order() -> None:
            kiosk = random.choice(self.kiosks)
            if kiosk.connected:
                kiosk.order(random_lines(menu))
            self.loop.call_later(random.expovariate(orders_per_s), _order)

        self.loop.call_soon_threadsafe(
            lambda: self.loop.call_later(random.expovariate(orders_per_s), _order)
        )

    def wander_printers(self, every_s: float) -> None:
        """For the demo: printers run low on paper and get refilled now and then."""

        def _wander() -> None:
            for printer in self.printers:
                printer.wander()
            self.loop.call_later(every_s, _wander)

        self.loop.call_soon_threadsafe(lambda: self.loop.call_later(every_s, _wander))

    def press_steady(
        self,
        presses_per_s: float,
        duration_s: float,
        on_press: Callable[[str, float], None] | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        """Presses at a fixed combined rate, round-robin over the buttons, for benchmarks."""
        start = time.monotonic()
        state = {"sent": 0, "next": 0}

        def _tick() -> None:
            elapsed = time.monotonic() - start
            due = int(min(elapsed, duration_s) * presses_per_s) - state["sent"]
            for _ in range(due):
                button = self.buttons[state["next"] % len(self.buttons)]
                state["next"] += 1
                event_id = button.press()
                state["sent"] += 1
                if on_press is not None:
                    on_press(event_id, time.time())
            if elapsed < duration_s:
                self.loop.call_later(PRESS_TICK_S, _tick)
            elif on_done is not None:
                on_done()

        self.loop.call_soon_threadsafe(_tick)
