"""A tiny W3C WebDriver client over urllib: enough to drive chromedriver from the tests without a new package.

WebDriver is JSON over HTTP (https://www.w3.org/TR/webdriver2/): every command is a request to
chromedriver, every answer is `{"value": ...}`, and an error is an HTTP error status whose value
holds `error` and `message`. Elements travel as `{ELEMENT_KEY: id}`.
"""
from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"
CSS, XPATH = "css selector", "xpath"
HEADLESS_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1600,1100", "--hide-scrollbars")
"""--no-sandbox because CI runs as root; --disable-dev-shm-usage because containers have a small /dev/shm;
a 1600 x 1100 window has a 1600 x 957 page, tall enough for Dagster to fit this project's whole asset graph."""
SETTLED_SCRIPT = ("return document.getAnimations().every(animation => animation.playState !== 'running'"
                  " || animation.effect.getComputedTiming().endTime === Infinity)")
"""True once every finite CSS animation or transition (a dialog fading in) has finished; spinners are endless."""


class WebDriverError(RuntimeError):
    """A command chromedriver answered with an error (no such element, stale element, timeout, ...)."""

    def __init__(self, method: str, url: str, error: str, message: str):
        reason = message.splitlines()[0] if message else ""
        super().__init__(f"{method} {url}: {reason if reason.startswith(error) else f'{error}: {reason}'}")
        self.error = error


def command(method: str, url: str, payload: dict | None = None, timeout: float = 60) -> Any:
    """Send one WebDriver command and return its `value`, or raise WebDriverError with chromedriver's reason."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())["value"]
    except urllib.error.HTTPError as failure:
        body = failure.read()
        try:
            value = json.loads(body)["value"]
        except (ValueError, KeyError, TypeError):
            raise WebDriverError(method, url, f"HTTP {failure.code}", body.decode(errors="replace")) from None
        error = value.get("error", f"HTTP {failure.code}")
        raise WebDriverError(method, url, error, value.get("message", "")) from None


def wait_until(probe: Callable[[], Any], what: str, done: Callable[[Any], bool] = bool, timeout: float = 30,
               interval: float = 0.25) -> Any:
    """Call `probe` until `done` accepts what it returns (by default: anything truthy) and return that.

    After `timeout` seconds fail with `what` and the last value (or WebDriverError) the probe gave, so a
    failure says what the page showed instead of only that it timed out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            last = probe()
        except WebDriverError as error:
            last = error
        else:
            if done(last):
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s; last seen: {str(last)[-1500:]!r}")
        time.sleep(interval)


def start_chromedriver(chromedriver: Path | str, port: int, log: Path) -> subprocess.Popen:
    """Start chromedriver on 127.0.0.1:`port` (it accepts local connections only) and wait until it is ready."""
    server = subprocess.Popen([str(chromedriver), f"--port={port}", f"--log-path={log}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status = f"http://127.0.0.1:{port}/status"

    def ready():
        if server.poll() is not None:
            raise AssertionError(f"chromedriver exited with {server.returncode}; see {log}")
        try:
            return command("GET", status, timeout=2).get("ready")
        except OSError:
            return False

    try:
        wait_until(ready, f"chromedriver on {status}", timeout=30)
    except BaseException:
        server.kill()
        server.wait(timeout=30)
        raise
    return server


@dataclass
class Session:
    """One browser session: `url` is chromedriver's /session/{id}."""

    url: str

    @classmethod
    def start(cls, driver: str, binary: Path | str, args: tuple[str, ...] = HEADLESS_ARGS) -> Session:
        """New session of the Chromium at `binary` through chromedriver at `driver` (http://127.0.0.1:PORT)."""
        capabilities = {"browserName": "chrome",
                        "goog:chromeOptions": {"binary": str(binary), "args": list(args)}}
        value = command("POST", f"{driver}/session", {"capabilities": {"alwaysMatch": capabilities}}, timeout=120)
        return cls(f"{driver}/session/{value['sessionId']}")

    def open(self, address: str) -> None:
        """Navigate to `address`; returns once the document has loaded (scripts may still be fetching data)."""
        command("POST", f"{self.url}/url", {"url": address}, timeout=120)

    def find(self, selector: str, using: str = CSS) -> dict:
        """The first element matching `selector` (css selector or xpath); WebDriverError if there is none."""
        return command("POST", f"{self.url}/element", {"using": using, "value": selector})

    def find_all(self, selector: str, using: str = CSS) -> list[dict]:
        """Every element matching `selector`, possibly none."""
        return command("POST", f"{self.url}/elements", {"using": using, "value": selector})

    def text(self, element: dict) -> str:
        """The rendered (visible) text of an element."""
        return command("GET", f"{self.url}/element/{element[ELEMENT_KEY]}/text")

    def click(self, element: dict) -> None:
        """Scroll the element into view and click its centre, as a user would."""
        command("POST", f"{self.url}/element/{element[ELEMENT_KEY]}/click", {})

    def click_found(self, selector: str, using: str = CSS, what: str = "the element to click", timeout: float = 30) -> None:
        """Find the element and click it, finding it again when the page re-rendered it in between (a
        stale element: React replaced the node after it was found, as the UI does while it loads)."""
        wait_until(lambda: self.click(self.find(selector, using)) or True, what, timeout=timeout)

    def attribute(self, element: dict, name: str) -> str | None:
        """An element's attribute, as written in the document."""
        return command("GET", f"{self.url}/element/{element[ELEMENT_KEY]}/attribute/{name}")

    def execute(self, script: str, *args: Any) -> Any:
        """Run `script` (a function body; `arguments[i]` are `args`, elements included) and return its result."""
        return command("POST", f"{self.url}/execute/sync", {"script": script, "args": list(args)})

    def source(self) -> str:
        """The current DOM serialized as HTML."""
        return command("GET", f"{self.url}/source")

    def settle(self, timeout: float = 10) -> None:
        """Wait until the page's finite animations have finished, so a screenshot is not caught mid-fade."""
        wait_until(lambda: self.execute(SETTLED_SCRIPT), "animations finished", timeout=timeout)

    def screenshot(self, path: Path) -> Path:
        """Save the viewport as a PNG at `path`."""
        path.write_bytes(base64.b64decode(command("GET", f"{self.url}/screenshot")))
        return path

    def close(self) -> None:
        """End the session and its browser."""
        command("DELETE", self.url)
