"""Open the report page in headless Chromium (Debian's ``chromium``) and check what a reader sees.

`python -m reports check [--out reports]` loads ``<out>/index.html`` at a 1280 px wide window, checks that
every image loaded, that every table row is displayed and that the page is no wider than the window (no
sideways scrolling), and saves a full-page screenshot beside the report (``<out>/index.png``).

Chromium is driven over its DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages ending in
a NUL byte on file descriptors 3 and 4), so nothing beyond the ``chromium`` package and the standard library
is needed and no port is opened.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.errors import BitbranchError

WIDTH_PX = 1280
HEIGHT_PX = 900
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise BitbranchError("no headless browser found: install Debian's chromium (`apt-get install chromium`, make deps)")


class Chromium:
    """A headless Chromium driven over the DevTools pipe; use as a context manager."""

    def __init__(self, width: int = WIDTH_PX, height: int = HEIGHT_PX, timeout_s: float = 60.0):
        self.width, self.height, self.timeout_s = width, height, timeout_s
        self._id = 0
        self._buf = b""
        self._events: list[dict[str, Any]] = []
        self.session: str | None = None

    def __enter__(self) -> "Chromium":
        exe = find_browser()
        self._profile = tempfile.TemporaryDirectory(prefix="bitbranch-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def plumb() -> None:  # in the child: the pipe ends on fds 3 (commands in) and 4 (replies out)
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        argv = [exe, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--hide-scrollbars", "--mute-audio", "--disable-extensions",
                f"--user-data-dir={self._profile.name}", f"--window-size={self.width},{self.height}", "about:blank"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=plumb, close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.session = None
            self.call("Browser.close", timeout_s=10)
        except (BitbranchError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_child], [], [], left)[0]:
                raise BitbranchError("chromium did not answer in time (headless browser hung)")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise BitbranchError(f"chromium exited (status {self.proc.poll()}) while the page was checked")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, params: dict[str, Any] | None = None, timeout_s: float | None = None) -> dict[str, Any]:
        """Send one DevTools command (to the page's session once attached) and return its result."""
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise BitbranchError(f"chromium {method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def wait_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while True:
            for i, ev in enumerate(self._events):
                if ev["method"] == method:
                    return self._events.pop(i)
            reply = self._read_message(deadline)
            if "method" in reply:
                self._events.append(reply)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event (every image loaded or failed)."""
        self._events.clear()
        res = self.call("Page.navigate", {"url": url})
        if res.get("errorText"):
            raise BitbranchError(f"chromium could not open {url}: {res['errorText']}")
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        res = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise BitbranchError(f"page script failed: {res['exceptionDetails'].get('text')}")
        return res["result"].get("value")

    def screenshot(self, path: Path, colors: int = 64) -> Path:
        """A PNG of the whole page (not just the window), reduced to ``colors`` colours (a page of text, plots
        and layout renders stays legible and about a quarter of the size)."""
        import io

        from PIL import Image

        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": self.width, "height": max(1, int(size["height"])), "scale": 1}
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})["data"]
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            im.convert("RGB").quantize(colors=colors).save(path, optimize=True)
        return Path(path)


PAGE_FACTS = """(() => {
  const imgs = [...document.images].map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0,
                                                width: i.getBoundingClientRect().width}));
  const shown = e => { const s = getComputedStyle(e); return s.display !== 'none' && s.visibility !== 'hidden'
                                                           && e.getClientRects().length > 0; };
  const rows = [...document.querySelectorAll('tr')];
  const tables = [...document.querySelectorAll('table')].map(t => ({id: t.id, right: t.getBoundingClientRect().right}));
  return {images: imgs, rows: rows.length, hidden_rows: rows.filter(r => !shown(r)).map(r => r.innerText.slice(0, 60)),
          designs: [...document.querySelectorAll('tr[data-design]')].filter(shown).map(r => r.dataset.design),
          scroll_width: document.documentElement.scrollWidth, window_width: window.innerWidth, tables: tables,
          first_h2: (document.querySelector('h2') || {}).innerText || ''};
})()"""


@dataclass
class PageCheck:
    """What the browser saw; ``problems`` is empty for a page that reads as it should."""

    facts: dict[str, Any]
    screenshot: Path | None
    problems: list[str] = field(default_factory=list)


def check_page(index: Path, screenshot: Path | None = None, expected_designs: list[str] | None = None) -> PageCheck:
    """Open ``index`` in headless Chromium and check images, rows and width; save a full-page screenshot."""
    index = Path(index).resolve()
    if not index.is_file():
        raise BitbranchError(f"no report page at {index}: run `python -m reports page` (or make ppa) first")
    with Chromium() as browser:
        browser.open(index.as_uri())
        facts = browser.evaluate(PAGE_FACTS)
        shot = browser.screenshot(screenshot) if screenshot is not None else None
    problems = [f"image {i['src']} did not load" for i in facts["images"] if not i["ok"]]
    problems += [f"table row not shown: {t!r}" for t in facts["hidden_rows"]]
    if facts["scroll_width"] > facts["window_width"]:
        wide = [t["id"] or "?" for t in facts["tables"] if t["right"] > facts["window_width"]]
        problems.append(f"page is {facts['scroll_width']} px wide in a {facts['window_width']} px window "
                        f"(tables past the edge: {', '.join(wide) or 'none'})")
    if expected_designs is not None:
        missing = sorted(set(expected_designs) - set(facts["designs"]))
        if missing:
            problems.append(f"designs without a displayed row: {', '.join(missing)}")
    return PageCheck(facts, shot, problems)
