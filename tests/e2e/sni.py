"""A StatusNotifierWatcher of our own on the session bus, so the tray registers (there is no
panel here), plus helpers to read the item's properties and its dbusmenu and to click items.

Runs its asyncio loop on a background thread; the test calls the blocking helpers."""

import asyncio
import threading

from dbus_next import BusType, Message, MessageType, Variant
from dbus_next.aio import MessageBus

WATCHER = "org.kde.StatusNotifierWatcher"
ITEM_IFACE = "org.kde.StatusNotifierItem"
MENU_IFACE = "com.canonical.dbusmenu"


class TrayWatcher:
    """Owns org.kde.StatusNotifierWatcher and records registered items."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.items = []  # (bus name, object path)
        self.registered = threading.Event()
        self.bus = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self._start())

    def call(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self):
        self.bus = await MessageBus(bus_type=BusType.SESSION).connect()
        self.bus.add_message_handler(self._handle)
        await self.bus.request_name(WATCHER)

    def _handle(self, msg):
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        if msg.interface == WATCHER and msg.member == "RegisterStatusNotifierItem":
            arg = msg.body[0]
            if arg.startswith("/"):
                self.items.append((msg.sender, arg))
            else:
                self.items.append((arg, "/StatusNotifierItem"))
            self.registered.set()
            return Message.new_method_return(msg)
        if msg.interface == WATCHER and msg.member == "RegisterStatusNotifierHost":
            return Message.new_method_return(msg)
        if msg.interface == "org.freedesktop.DBus.Properties" and msg.body and msg.body[0] == WATCHER:
            props = {
                "RegisteredStatusNotifierItems": Variant("as", [f"{s}{p}" for s, p in self.items]),
                "IsStatusNotifierHostRegistered": Variant("b", True),
                "ProtocolVersion": Variant("i", 0),
            }
            if msg.member == "Get":
                return Message.new_method_return(msg, "v", [props[msg.body[1]]])
            if msg.member == "GetAll":
                return Message.new_method_return(msg, "a{sv}", [props])
        return None

    async def _call(self, dest, path, iface, member, signature="", body=None):
        reply = await self.bus.call(
            Message(
                destination=dest,
                path=path,
                interface=iface,
                member=member,
                signature=signature,
                body=body or [],
            )
        )
        if reply.message_type == MessageType.ERROR:
            raise RuntimeError(f"{member}: {reply.error_name} {reply.body}")
        return reply.body

    def item(self):
        return self.items[-1]

    def prop(self, name):
        dest, path = self.item()
        body = self.call(
            self._call(dest, path, "org.freedesktop.DBus.Properties", "Get", "ss", [ITEM_IFACE, name])
        )
        return body[0].value

    def menu(self):
        """The menu's items as a list of (id, label, enabled)."""
        dest, _ = self.item()
        menu_path = self.prop("Menu")
        body = self.call(self._call(dest, menu_path, MENU_IFACE, "GetLayout", "iias", [0, -1, []]))
        _, layout = body
        out = []

        def walk(node):
            ident, props, children = node
            label = props.get("label")
            if label is not None:
                enabled = props.get("enabled", Variant("b", True)).value
                out.append((ident, label.value.replace("_", ""), enabled))
            for c in children:
                walk(c.value)

        walk(layout)
        return out

    def toggle_state(self, label_prefix):
        """The check state of a check item (1 checked, 0 not), read from the menu's layout."""
        dest, _ = self.item()
        menu_path = self.prop("Menu")
        body = self.call(self._call(dest, menu_path, MENU_IFACE, "GetLayout", "iias", [0, -1, []]))
        found = []

        def walk(node):
            _ident, props, children = node
            label = props.get("label")
            if label is not None and label.value.replace("_", "").startswith(label_prefix):
                found.append(props.get("toggle-state", Variant("i", -1)).value)
            for c in children:
                walk(c.value)

        walk(body[1])
        if not found:
            raise AssertionError(f"no menu item {label_prefix!r} in {self.menu()}")
        return found[0]

    def click(self, label_prefix):
        dest, _ = self.item()
        menu_path = self.prop("Menu")
        for ident, label, _ in self.menu():
            if label.startswith(label_prefix):
                self.call(
                    self._call(dest, menu_path, MENU_IFACE, "Event", "isvu", [ident, "clicked", Variant("i", 0), 0])
                )
                return
        raise AssertionError(f"no menu item {label_prefix!r} in {self.menu()}")

    def tooltip(self):
        _icon, _pixmaps, title, description = self.prop("ToolTip")
        return f"{title}\n{description}"

    def close(self):
        if self.bus is None:
            return
        try:
            self.call(self.bus.release_name(WATCHER))
            self.bus.disconnect()
            self.bus = None
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
