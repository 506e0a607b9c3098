"""A small Chrome DevTools Protocol client for the tests: a real headless Chromium, driven over its DevTools
websocket with aiohttp (already a dependency).

``Browser.launch`` starts ``chromium --headless=new --remote-debugging-port=0`` and reads the websocket URL from
its stderr line ``DevTools listening on ws://...``; ``send`` is one command (``session`` for a page attached with
``flatten``), ``expect`` an event to wait for (register it before the command that causes it). Every wait has a
deadline; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
from collections import deque
from pathlib import Path
from typing import Any

import aiohttp

LISTENING = "DevTools listening on "


class CDPError(RuntimeError):
    pass


class Browser:
    def __init__(self, process: asyncio.subprocess.Process, http: aiohttp.ClientSession,
                 ws: aiohttp.ClientWebSocketResponse, stderr: deque[str]) -> None:
        self.process, self.http, self.ws, self.stderr = process, http, ws, stderr
        self._next = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, str | None, asyncio.Future[dict[str, Any]]]] = []
        self._tasks: list[asyncio.Task[None]] = []

    # starting and stopping
    @classmethod
    async def launch(cls, binary: str | Path, profile: Path, timeout: float = 30) -> Browser:
        process = await asyncio.create_subprocess_exec(
            str(binary), "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            start_new_session=True)  # its own process group: its helpers are stopped with it
        stderr: deque[str] = deque(maxlen=50)
        try:
            url = await asyncio.wait_for(_devtools_url(process, stderr), timeout)
            http = aiohttp.ClientSession()
            ws = await http.ws_connect(url, max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=5))
        except BaseException:
            await _stop(process)
            raise
        browser = cls(process, http, ws, stderr)
        browser._tasks = [asyncio.create_task(browser._read()), asyncio.create_task(browser._drain())]
        return browser

    async def close(self, timeout: float = 10) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.send("Browser.close"), timeout)
        await self.ws.close()
        await self.http.close()
        await _stop(self.process, timeout)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # the protocol
    async def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
                   timeout: float = 30) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next] = future
        await self.ws.send_str(json.dumps(message))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise CDPError(f"{method}: no answer within {timeout:.0f} s") from None

    def expect(self, method: str, session: str | None = None) -> asyncio.Future[dict[str, Any]]:
        """A future for the next event ``method`` (of ``session``); call before what triggers it."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((method, session, future))
        return future

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future is None or future.done():
                    continue
                if "error" in data:
                    future.set_exception(CDPError(f"{data['error'].get('message')} ({data['error']})"))
                else:
                    future.set_result(data.get("result") or {})
                continue
            for waiter in list(self._waiters):
                method, session, future = waiter
                if method == data.get("method") and session in (None, data.get("sessionId")):
                    self._waiters.remove(waiter)
                    if not future.done():
                        future.set_result(data.get("params") or {})
        for future in self._pending.values():  # the browser went away
            if not future.done():
                future.set_exception(CDPError(f"the DevTools connection closed; stderr: {list(self.stderr)}"))

    async def _drain(self) -> None:
        """Keep reading stderr (a full pipe would stall the browser); the last lines explain a failure."""
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.stderr.append(line.decode(errors="replace").rstrip())

    # pages
    async def open(self, url: str, width: int, height: int, timeout: float = 30) -> str:
        """A new page of ``width`` x ``height`` CSS pixels, navigated to ``url`` and loaded; its session id."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        session = str(attached["sessionId"])
        await self.send("Page.enable", session=session)
        await self.send("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
        loaded = self.expect("Page.loadEventFired", session)
        navigated = await self.send("Page.navigate", {"url": url}, session)
        if navigated.get("errorText"):
            raise CDPError(f"cannot open {url}: {navigated['errorText']}")
        try:
            await asyncio.wait_for(loaded, timeout)
        except TimeoutError:
            raise CDPError(f"{url}: not loaded within {timeout:.0f} s") from None
        return session

    async def evaluate(self, session: str, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                      "awaitPromise": True}, session)
        if "exceptionDetails" in result:
            raise CDPError(f"the page's script failed: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    async def screenshot(self, session: str) -> bytes:
        """A PNG of the whole page (beyond the viewport)."""
        metrics = await self.send("Page.getLayoutMetrics", session=session)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = await self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                          "clip": clip}, session, timeout=60)
        return base64.b64decode(shot["data"])


async def _devtools_url(process: asyncio.subprocess.Process, stderr: deque[str]) -> str:
    assert process.stderr is not None
    while line := await process.stderr.readline():
        text = line.decode(errors="replace").strip()
        stderr.append(text)
        if text.startswith(LISTENING):
            return text[len(LISTENING):].strip()
    await process.wait()
    raise CDPError(f"chromium exited ({process.returncode}) before DevTools listened: {list(stderr)}")


async def _stop(process: asyncio.subprocess.Process, timeout: float = 10) -> None:
    """Stop the browser we started, then whatever of its process group is left (renderer, zygote)."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
