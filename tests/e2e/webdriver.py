"""A minimal W3C WebDriver client for WebKitWebDriver (plain HTTP on loopback)."""

import base64
import json
import time
import urllib.error
import urllib.request


class WebDriver:
    def __init__(self, port, binary, args=()):
        self.base = f"http://127.0.0.1:{port}"
        caps = {"capabilities": {"alwaysMatch": {"webkitgtk:browserOptions": {"binary": binary, "args": list(args)}}}}
        self.sid = self._req("POST", "/session", caps)["sessionId"]

    def _req(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"{}").get("value")

    def s(self, method, path, body=None):
        return self._req(method, f"/session/{self.sid}{path}", body)

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script, *args):
        return self.s("POST", "/execute/async", {"script": script, "args": list(args)})

    def invoke(self, cmd, args=None):
        """Calls a Tauri command from the page (through the real IPC and capability)."""
        return self.js_async(
            "const done = arguments[arguments.length - 1];"
            "window.__TAURI__.core.invoke(arguments[0], arguments[1])"
            ".then(v => done({ok: v}), e => done({err: e}));",
            cmd,
            args or {},
        )

    def find(self, css, timeout=10.0):
        """The element matching `css`, waiting for it to appear."""
        deadline = time.monotonic() + timeout
        while not self.js("return document.querySelector(arguments[0]) !== null", css):
            if time.monotonic() > deadline:
                raise AssertionError(f"no element {css}")
            time.sleep(0.02)
        el = self.s("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(el.values()))

    def click(self, css, timeout=10.0):
        """Clicks what matches `css` now: an element re-rendered between finding and clicking
        (the page updates live) is found again, as a user's click would hit the new one."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.s("POST", f"/element/{self.find(css)}/click", {})
                return
            except urllib.error.HTTPError as e:
                if e.code != 404 or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def type(self, css, text):
        self.s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", css)

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))

    def wait(self, script, timeout=10.0, *args):
        """Waits for `script` to return something true. While the page reloads, WebKitWebDriver
        answers a script with 404 (no document to run it in): that counts as "not yet"."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                v = self.js(script, *args)
            except urllib.error.HTTPError as e:
                if e.code != 404 or time.monotonic() > deadline:
                    raise
                v = None
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for: {script}")
            time.sleep(0.02)

    def quit(self):
        try:
            self._req("DELETE", f"/session/{self.sid}", timeout=20)
        except Exception:
            pass
