"""A minimal W3C WebDriver client for WebKitWebDriver (plain HTTP on loopback)."""

import base64
import json
import urllib.error
import urllib.request

from desktop import wait_for


def unless_404(f):
    """`f()`, or None when WebKitWebDriver answers 404: no document to run a script in while the
    page reloads, or an element re-rendered since it was found. Both count as "not yet"."""
    try:
        return f()
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
        return None


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
        wait_for(
            lambda: self.js("return document.querySelector(arguments[0]) !== null", css),
            timeout,
            f"element {css}",
        )
        el = self.s("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(el.values()))

    def click(self, css, timeout=10.0):
        """Clicks what matches `css` now: an element re-rendered between finding and clicking
        (the page updates live) is found again, as a user's click would hit the new one."""

        def attempt():
            self.s("POST", f"/element/{self.find(css)}/click", {})
            return True

        wait_for(lambda: unless_404(attempt), timeout, f"a click on {css}")

    def type(self, css, text):
        self.s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", css)

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))

    def wait(self, script, timeout=10.0, *args):
        """Waits for `script` to return something true (a reloading page counts as "not yet")."""
        return wait_for(lambda: unless_404(lambda: self.js(script, *args)), timeout, script)

    def quit(self):
        try:
            self._req("DELETE", f"/session/{self.sid}", timeout=20)
        except Exception:
            pass
