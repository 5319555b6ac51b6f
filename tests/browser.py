"""Headless Chromium for the browser tests and the README's screenshot: Debian's
`chromium`, driven by Playwright, whose pip package ships the driver (no browser is ever
downloaded: `playwright install` is not needed).

    python -m tests.browser docs/swagger-ui.png    # what `make screenshot` runs
"""

import asyncio
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page, async_playwright, expect

from tests.processes import Server, entente, server_env

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_SKIP_REASON = (
    "Browser tests skipped: chromium is not installed (apt-get install chromium chromium-driver)"
)
# No sandbox (CI runs as root), no GPU, and none of the browser's own traffic: no QUIC,
# updates, sync or background requests, so that every request seen is the page's.
ARGUMENTS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


@asynccontextmanager
async def chromium() -> AsyncIterator[BrowserContext]:
    """A browser with a fresh profile of its own, closed and removed after."""
    assert CHROMIUM is not None, BROWSER_SKIP_REASON
    with tempfile.TemporaryDirectory(prefix="entente-chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=ARGUMENTS,
                viewport={"width": 1280, "height": 1000},
            )
            try:
                yield context
            finally:
                await context.close()


class Watched:
    """What a page asked for and what it reported: every request's URL, and the errors
    of its console (a refused Content-Security-Policy is one) and of its scripts."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def outside(self) -> list[str]:
        """The requests that went, or would have gone, to another host than this one."""
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("blob", "data")
            and urlsplit(url).hostname not in LOCAL_HOSTS
        ]


@contextmanager
def seeded_server(folder: Path, **settings: str) -> Iterator[Server]:
    """`entente serve` on a new SQLite database, migrated and seeded as `make run` does
    (so with the ids that the OpenAPI examples name)."""
    env = server_env(f"sqlite+aiosqlite:///{folder / 'entente.db'}")
    env |= {f"ENTENTE_{name.upper()}": value for name, value in settings.items()}
    entente(env, "migrate")
    entente(env, "seed", "--if-empty")
    server = Server(env, folder / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def screenshot(target: Path) -> None:
    """Swagger UI on the seeded database: the page's head, and *Try it out* on the CCQS."""
    defaults = {"rate_limit": "1200", "anonymous_rate_limit": "300"}  # as a user has them
    with tempfile.TemporaryDirectory() as folder, seeded_server(Path(folder), **defaults) as server:
        async with chromium() as context:
            page = await context.new_page()
            watched = Watched(page)
            await page.goto(f"{server.url}/docs")
            operation = page.locator("#operations-councils-councils_get")
            await operation.locator(".opblock-summary").click()
            await operation.locator(".try-out__btn").click()
            await operation.locator(".execute").click()
            answer = operation.locator(".live-responses-table tr.response")
            await expect(answer.locator(".highlight-code")).to_contain_text('"slug": "ccqs"')
            await page.wait_for_load_state("networkidle")
            assert watched.outside() == [] and watched.errors == [], watched.__dict__
            await page.evaluate("window.scrollTo(0, 0)")  # boxes are measured from the view
            box = await answer.bounding_box()
            assert box is not None
            target.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(
                path=str(target),
                full_page=True,
                clip={"x": 0, "y": 0, "width": 1280, "height": box["y"] + box["height"] + 16},
            )


if __name__ == "__main__":
    if CHROMIUM is None:
        sys.exit(BROWSER_SKIP_REASON)
    asyncio.run(screenshot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/swagger-ui.png")))
