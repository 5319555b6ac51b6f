"""Swagger UI, ReDoc and a frontend of another origin, in a real browser (headless
Chromium) against a real server on the seeded database, with no request leaving the
machine. Skipped, and said so in the summary, where chromium is not installed."""

import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.browser import BROWSER_SKIP_REASON, CHROMIUM, Watched, chromium, seeded_server
from tests.processes import Server, entente

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=BROWSER_SKIP_REASON)
TIMEOUT_MS = 30_000


class FrontendPage(BaseHTTPRequestHandler):
    """Another origin's page: the frontend whose script calls the API."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>A frontend</title><p>Calls Entente.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Site:
    server: Server
    write_key: str
    frontend: str  # the other origin, allowed by ENTENTE_CORS_ORIGINS


@pytest.fixture(scope="module")
def frontend() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FrontendPage)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, frontend: str) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser")
    with seeded_server(folder, cors_origins=frontend) as server:
        made = entente(server.env, "keys", "create", "--name", "analyst", "--scope", "write")
        yield Site(server, made.split()[0], frontend)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[BrowserContext]:
    async with chromium() as context:
        yield context


def operation_ids(site: Site) -> set[str]:
    document = httpx.get(f"{site.server.url}/openapi.json").json()
    return {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
    }


def assert_stayed_local(watched: Watched) -> None:
    assert watched.requests, "the page made no request"
    assert watched.outside() == [], "requests to other hosts"
    assert watched.errors == [], "errors in the console"


async def authorize(page: Page, key: str) -> None:
    """Give Swagger UI the key, unless it kept one from an earlier page (it persists)."""
    await page.locator(".auth-wrapper .authorize").click()
    dialog = page.locator(".modal-ux")
    await expect(dialog.locator("button.btn-done")).to_be_visible(timeout=TIMEOUT_MS)
    if await dialog.locator("button.authorize").count():
        await dialog.locator("input").first.fill(key)
        await dialog.locator("button.authorize").click()
    await dialog.locator("button.btn-done").click()


async def test_swagger_ui_renders_every_operation(site: Site, browser: BrowserContext) -> None:
    page = await browser.new_page()
    watched = Watched(page)
    await page.goto(f"{site.server.url}/docs")
    await page.wait_for_selector(".opblock", timeout=TIMEOUT_MS)
    await page.wait_for_load_state("networkidle")
    rendered = await page.eval_on_selector_all(
        ".opblock[id^='operations-']", "blocks => blocks.map(b => b.id)"
    )
    # Each block's id is operations-<tag>-<operationId>; tags have no hyphen.
    assert {block.split("-", 2)[2] for block in rendered} == operation_ids(site)
    assert_stayed_local(watched)
    await page.close()


async def test_authorize_then_try_it_out_creates_a_topic(
    site: Site, browser: BrowserContext
) -> None:
    page = await browser.new_page()
    watched = Watched(page)
    sent: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: sent.append(r.headers) if r.method == "POST" and "/topics" in r.url else None,
    )
    await page.goto(f"{site.server.url}/docs")
    await authorize(page, site.write_key)

    operation = page.locator("#operations-topics-topics_create")
    await operation.locator(".opblock-summary").click()
    await operation.locator(".try-out__btn").click()
    await operation.locator(".execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    await expect(status).to_have_text("201", timeout=TIMEOUT_MS)
    body = operation.locator(".live-responses-table tr.response .highlight-code").first
    await expect(body).to_contain_text('"slug": "arctic"')
    assert [headers.get("authorization") for headers in sent] == [f"Bearer {site.write_key}"]
    assert_stayed_local(watched)
    await page.close()


async def test_try_it_out_lists_the_ccqs_sessions(site: Site, browser: BrowserContext) -> None:
    page = await browser.new_page()
    watched = Watched(page)
    await page.goto(f"{site.server.url}/docs")
    operation = page.locator("#operations-sessions-councils_sessions_list")
    await operation.locator(".opblock-summary").click()
    await operation.locator(".try-out__btn").click()
    await expect(operation.locator("tr[data-param-name='council'] input")).to_have_value("ccqs")
    await operation.locator(".execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    await expect(status).to_have_text("200", timeout=TIMEOUT_MS)
    body = operation.locator(".live-responses-table tr.response .highlight-code").first
    await expect(body).to_contain_text("5th session of the CCQS")
    await expect(body).to_contain_text("6th session of the CCQS")
    assert_stayed_local(watched)
    await page.close()


async def test_try_it_out_records_and_reads_a_state_visit(
    site: Site, browser: BrowserContext
) -> None:
    """Swagger UI offers a state visit among the examples of recording a session, and the
    visit's slug among those of reading one: chosen, each request succeeds."""
    page = await browser.new_page()
    watched = Watched(page)
    await page.goto(f"{site.server.url}/docs")
    await authorize(page, site.write_key)

    create = page.locator("#operations-sessions-sessions_create")
    await create.locator(".opblock-summary").click()
    await create.locator(".try-out__btn").click()
    await create.locator(".opblock-section-request-body .examples-select select").select_option(
        "state-visit"
    )
    await expect(create.locator("textarea.body-param__text")).to_contain_text("state_visit")
    await create.locator(".execute").click()
    status = create.locator(".live-responses-table tr.response .response-col_status").first
    await expect(status).to_have_text("201", timeout=TIMEOUT_MS)
    body = create.locator(".live-responses-table tr.response .highlight-code").first
    await expect(body).to_contain_text('"kind": "state_visit"')

    read = page.locator("#operations-sessions-sessions_get")
    await read.locator(".opblock-summary").click()
    await read.locator(".try-out__btn").click()
    parameter = read.locator("tr[data-param-name='session_id']")
    await parameter.locator(".examples-select select").select_option("state-visit")
    await expect(parameter.locator("input")).to_have_value("1966-06-de-gaulle-ussr")
    await read.locator(".execute").click()
    status = read.locator(".live-responses-table tr.response .response-col_status").first
    await expect(status).to_have_text("200", timeout=TIMEOUT_MS)
    body = read.locator(".live-responses-table tr.response .highlight-code").first
    await expect(body).to_contain_text("State visit of General de Gaulle to the USSR")
    await expect(body).to_contain_text('"council": null')
    assert_stayed_local(watched)
    await page.close()


async def test_redoc_renders_every_operation(site: Site, browser: BrowserContext) -> None:
    page = await browser.new_page()
    watched = Watched(page)
    await page.goto(f"{site.server.url}/redoc")
    await page.wait_for_selector("[data-section-id*='operation/']", timeout=TIMEOUT_MS)
    await page.wait_for_load_state("networkidle")
    sections = await page.eval_on_selector_all(
        "[data-section-id*='operation/']", "sections => sections.map(s => s.dataset.sectionId)"
    )
    assert {section.rsplit("operation/", 1)[1] for section in sections} == operation_ids(site)
    assert_stayed_local(watched)
    await page.close()


# Run in the frontend's page: a list, its next page by the Link header, then a write with
# a key (so a preflight), the record read at its Location and changed with its ETag.
FRONTEND_SCRIPT = """async ([api, key]) => {
  const first = await fetch(`${api}/api/v1/topics?limit=2`);
  const link = first.headers.get("Link");
  const next = await fetch(new URL(link.match(/<([^>]+)>;\\s*rel="next"/)[1], api));
  const write = {Authorization: `Bearer ${key}`, "Content-Type": "application/json"};
  const created = await fetch(`${api}/api/v1/topics`, {
    method: "POST", headers: write, body: JSON.stringify({slug: "baltic", name: "The Baltic"}),
  });
  const location = created.headers.get("Location");
  const read = await fetch(new URL(location, api));
  const etag = read.headers.get("ETag");
  const changed = await fetch(new URL(location, api), {
    method: "PATCH",
    headers: {...write, "If-Match": etag},
    body: JSON.stringify({description: "The sea and its shores."}),
  });
  return {
    first: [first.status, (await first.json()).items.map(t => t.slug)],
    link,
    next: [next.status, (await next.json()).items.map(t => t.slug)],
    created: [created.status, location],
    read: [read.status, etag, (await read.json()).slug],
    changed: [changed.status, (await changed.json()).description],
  };
}"""


async def test_a_page_of_another_origin_reads_and_writes(
    site: Site, browser: BrowserContext
) -> None:
    page = await browser.new_page()
    watched = Watched(page)
    await page.goto(site.frontend)
    answers = await page.evaluate(FRONTEND_SCRIPT, [site.server.url, site.write_key])
    first_status, first_slugs = answers["first"]
    next_status, next_slugs = answers["next"]
    assert (first_status, len(first_slugs)) == (200, 2)
    assert 'rel="next"' in answers["link"]
    assert next_status == 200 and next_slugs and not set(next_slugs) & set(first_slugs)
    created_status, location = answers["created"]
    assert created_status == 201 and "/api/v1/topics/" in location
    read_status, etag, slug = answers["read"]
    assert (read_status, slug) == (200, "baltic") and etag
    assert answers["changed"] == [200, "The sea and its shores."]
    assert watched.errors == []

    # The write went through a preflight, which the server answered.
    log = site.server.log.read_text().splitlines()
    lines = [json.loads(line) for line in log if line.startswith("{")]
    preflights = [
        line
        for line in lines
        if line.get("method") == "OPTIONS" and line.get("path") == "/api/v1/topics"
    ]
    assert [line["status"] for line in preflights] == [200]
    await page.close()
