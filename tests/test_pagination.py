"""Pagination that holds under writes (API.md, "Lists"): walking GET /sessions page by page
while others insert and delete sessions serves no session twice, and every session that
existed before the walk and was not deleted during it exactly once. A cursor is bound to
its list, filter and sort; an altered or truncated one is refused with 400."""

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from app.config import Settings
from app.http import next_page_url
from app.pagination import Page
from app.sessions.schemas import SessionSummary
from tests.factories import create_council

BASE = date(2000, 1, 1)
COUNCILS = {"aa": ("FR", "RU"), "bb": ("DE", "PL"), "cc": ("NO", "SE", "FI")}
UNNUMBERED = 2**31 - 1  # unnumbered sessions sort after numbered ones
MAX_ORDINAL = 100_000
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
LINK = re.compile(r'^<([^>]+)>; rel="next"$')

Session = dict[str, Any]


async def create_session(
    client: httpx.AsyncClient, council: str, start: date, **fields: Any
) -> Session:
    body = {"council_id": council, "start_date": start.isoformat()} | fields
    response = await client.post("/sessions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def delete_session(client: httpx.AsyncClient, session_id: str) -> None:
    assert (await client.delete(f"/sessions/{session_id}")).status_code == 204


async def seed(client: httpx.AsyncClient, count: int = 60) -> dict[str, Session]:
    """`count` sessions over three councils: two on each date (so that ties are broken by id),
    some lasting several days, every fifth unnumbered, every other about the Arctic."""
    for slug in COUNCILS:
        await create_council(client, slug, COUNCILS[slug])
    sessions = {}
    for i in range(count):
        start = BASE + timedelta(days=61 * (i // 2))
        session = await create_session(
            client,
            list(COUNCILS)[i % 3],
            start,
            end_date=(start + timedelta(days=i % 4)).isoformat(),
            ordinal=None if i % 5 == 0 else 10 * (i // 3 + 1),
            title=f"Meeting {i} on {'Arctic' if i % 2 else 'trade'}",
        )
        sessions[session["id"]] = session
    return sessions


def sort_key(session: Session, sort: str) -> tuple[Any, ...]:
    """The order of GET /sessions, as the contract states it."""
    if sort.lstrip("-") == "start_date":
        return (session["start_date"], session["id"])
    ordinal = session["ordinal"] if session["ordinal"] is not None else UNNUMBERED
    return (ordinal, session["start_date"], session["id"])


RANGE_FROM = (BASE + timedelta(days=61 * 5 + 1)).isoformat()  # within multi-day sessions
RANGE_TO = (BASE + timedelta(days=61 * 25)).isoformat()  # the very start of two sessions


@dataclass(frozen=True)
class Walk:
    params: dict[str, Any]
    matches: Callable[[Session], bool]
    council: str = "aa"  # where the sessions written during the walk go

    @property
    def sort(self) -> str:
        return str(self.params.get("sort", "start_date"))


WALKS = {
    "default": Walk({}, lambda s: True),
    "-start_date": Walk({"sort": "-start_date"}, lambda s: True),
    "ordinal": Walk({"sort": "ordinal"}, lambda s: True),
    "-ordinal-in-councils": Walk(
        {"sort": "-ordinal", "council": ["bb", "cc"]},
        lambda s: s["council"]["slug"] in ("bb", "cc"),
        council="cc",
    ),
    "date-range": Walk(
        {"from": RANGE_FROM, "to": RANGE_TO},
        lambda s: s["end_date"] >= RANGE_FROM and s["start_date"] <= RANGE_TO,
    ),
    "q": Walk({"q": "arctic"}, lambda s: "Arctic" in s["title"]),
}


def next_link(response: httpx.Response) -> str | None:
    if "link" not in response.headers:
        return None
    match = LINK.match(response.headers["link"])
    assert match, response.headers["link"]
    return match.group(1)


def param_items(params: httpx.QueryParams) -> list[tuple[str, str]]:
    return sorted(params.multi_items())


async def get_page(
    client: httpx.AsyncClient, url: str, params: dict[str, Any] | None = None
) -> tuple[list[Session], str | None, str | None]:
    """The items of a page, its next_cursor and the URL of its Link header."""
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text
    page = Page[SessionSummary].model_validate(response.json())
    link = next_link(response)
    assert (link is None) == (page.next_cursor is None), response.headers
    return response.json()["items"], page.next_cursor, link


@dataclass
class Writer:
    """The other clients: between two pages they add sessions just before and just after
    the position of the cursor, and delete one session not yet served and one served."""

    client: httpx.AsyncClient
    walk: Walk
    known: dict[str, Session]
    rng: random.Random
    inserted_after: set[str] = field(default_factory=set)
    inserted_before: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    ordinals: set[int] = field(default_factory=set)
    count: int = 0
    pages: int = 0

    def _free_ordinal(self, near: int, step: int) -> int | None:
        ordinal = near + step
        while 1 <= ordinal <= MAX_ORDINAL and ordinal in self.ordinals:
            ordinal += step
        return ordinal if 1 <= ordinal <= MAX_ORDINAL else None

    def _fields(self, cursor: tuple[Any, ...], later: bool) -> dict[str, Any]:
        """Dates and ordinal of a session sorting later (or earlier) than the cursor."""
        sort = self.walk.sort.lstrip("-")
        if sort == "start_date":
            day = date.fromisoformat(cursor[0]) + timedelta(days=1 if later else -1)
            return {"start": day, "ordinal": None}
        ordinal, start = cursor[0], date.fromisoformat(cursor[1])
        if ordinal == UNNUMBERED:
            if later:
                return {"start": start + timedelta(days=1), "ordinal": None}
            return {"start": start, "ordinal": self._free_ordinal(MAX_ORDINAL, -1)}
        return {"start": start, "ordinal": self._free_ordinal(ordinal, 1 if later else -1)}

    async def insert(self, cursor: tuple[Any, ...]) -> None:
        descending = self.walk.sort.startswith("-")
        for after in (True, False):
            fields = self._fields(cursor, later=after != descending)
            if fields["ordinal"] is not None:
                self.ordinals.add(fields["ordinal"])
            self.count += 1
            session = await create_session(
                self.client,
                self.walk.council,
                fields["start"],
                ordinal=fields["ordinal"],
                title=f"Arctic meeting written during the walk ({self.count})",
            )
            self.known[session["id"]] = session
            key = sort_key(session, self.walk.sort)
            is_after = key < cursor if descending else key > cursor
            if self.walk.matches(session):
                (self.inserted_after if is_after else self.inserted_before).add(session["id"])

    async def delete(self, served: list[Session], unserved: list[str]) -> None:
        self.pages += 1
        if unserved:
            # The next row to serve, or one further on.
            victim = unserved[0] if self.pages % 2 else self.rng.choice(unserved)
            await delete_session(self.client, victim)
            self.deleted.add(victim)
        # On every other page the row the cursor points at, else one served before it.
        pick = served[-1] if self.pages % 2 else self.rng.choice(served[:-1])
        if pick["id"] not in self.deleted:
            await delete_session(self.client, pick["id"])
            self.deleted.add(pick["id"])


@pytest.mark.parametrize("name", list(WALKS))
async def test_walk_while_others_write(client: httpx.AsyncClient, name: str) -> None:
    walk = WALKS[name]
    known = await seed(client)
    before = {i for i, s in known.items() if walk.matches(s)}
    assert len(before) > 3 * 7  # enough for several pages
    writer = Writer(client, walk, known, random.Random(name))
    writer.ordinals = {s["ordinal"] for s in known.values() if s["ordinal"] is not None}
    descending = walk.sort.startswith("-")

    params = walk.params | {"limit": 7}
    served: list[Session] = []
    items, cursor, link = await get_page(client, "/sessions", params)
    served += items
    pages = 1
    while cursor is not None:
        assert link is not None
        # The Link header is this list's URL with the next cursor, and nothing else changed.
        expected = client.build_request("GET", "/sessions", params=params | {"cursor": cursor})
        assert httpx.URL(link).copy_with(query=None) == expected.url.copy_with(query=None)
        assert param_items(httpx.URL(link).params) == param_items(expected.url.params)
        position = sort_key(served[-1], walk.sort)
        await writer.insert(position)
        served_ids = {s["id"] for s in served}
        unserved = sorted(
            (i for i in before if i not in served_ids and i not in writer.deleted),
            key=lambda i: sort_key(known[i], walk.sort),
            reverse=descending,
        )
        await writer.delete(served, unserved)
        items, cursor, link = await get_page(client, link)
        served += items
        pages += 1
        assert pages <= 30, "the walk does not end"

    ids = [s["id"] for s in served]
    assert pages >= 4
    assert len(ids) == len(set(ids)), "a session was served twice"
    assert all(walk.matches(s) for s in served)
    keys = [sort_key(s, walk.sort) for s in served]
    assert keys == sorted(keys, reverse=descending), "pages out of order"
    deleted_unserved = {i for i in writer.deleted if i not in set(ids)}
    # No gap: every session of the list that existed before the walk and still exists.
    assert {i for i in ids if i in before} == before - deleted_unserved
    # Those added after the cursor's position are served too, those before it are not.
    assert writer.inserted_after and writer.inserted_before
    assert {i for i in ids if i not in before} == writer.inserted_after - deleted_unserved


async def test_last_page_has_no_link(client: httpx.AsyncClient) -> None:
    await create_council(client, "aa", COUNCILS["aa"])
    for day in range(3):
        await create_session(client, "aa", BASE + timedelta(days=day))
    response = await client.get("/sessions", params={"limit": 3})
    assert response.json()["next_cursor"] is None
    assert "link" not in response.headers
    response = await client.get("/sessions", params={"limit": 2})
    link = next_link(response)
    assert link is not None
    last = await client.get(link)
    assert [s["start_date"] for s in last.json()["items"]] == ["2000-01-03"]
    assert last.json()["next_cursor"] is None
    assert "link" not in last.headers


async def first_cursor(
    client: httpx.AsyncClient, params: dict[str, Any], path: str = "/sessions"
) -> str:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    cursor = response.json()["next_cursor"]
    assert cursor is not None
    return str(cursor)


def assert_refused(response: httpx.Response, cursor: str) -> None:
    assert response.status_code == 400, f"cursor {cursor!r} was accepted: {response.text[:200]}"
    assert "cursor" in response.json()["detail"]


async def test_cursor_of_another_filter_sort_or_list_is_400(client: httpx.AsyncClient) -> None:
    await seed(client, 21)
    made_for = {"council": "aa", "limit": 3}
    cursor = await first_cursor(client, made_for)
    # The cursor works for its own list...
    assert (await client.get("/sessions", params=made_for | {"cursor": cursor})).status_code == 200
    others: list[tuple[str, dict[str, Any]]] = [
        ("/sessions", {"council": "bb", "limit": 3}),
        ("/sessions", {"council": ["aa", "bb"], "limit": 3}),
        ("/sessions", {"limit": 3}),
        ("/sessions", made_for | {"sort": "-start_date"}),
        ("/sessions", made_for | {"from": "2001-01-01"}),
        ("/sessions", made_for | {"q": "arctic"}),
        ("/councils/aa/sessions", {"limit": 3}),
        ("/councils/aa/timeline", {"limit": 3}),
    ]
    # ...and for no other.
    for path, params in others:
        assert_refused(await client.get(path, params=params | {"cursor": cursor}), cursor)
    ordinal = await first_cursor(client, {"sort": "ordinal", "limit": 3})
    for sort in ("-ordinal", "start_date"):
        response = await client.get(
            "/sessions", params={"sort": sort, "limit": 3, "cursor": ordinal}
        )
        assert_refused(response, ordinal)


async def test_cursor_scope_cannot_be_spelled_another_way(client: httpx.AsyncClient) -> None:
    """A cursor made for `q="arctic&status=held"` (one parameter) is not one for
    `q=arctic` and `status=held` (two parameters): they are different lists."""
    await create_council(client, "aa", COUNCILS["aa"])
    for day in range(3):
        await create_session(
            client, "aa", BASE + timedelta(days=day), title="Arctic status held", status="held"
        )
    cursor = await first_cursor(client, {"q": "arctic&status=held", "limit": 1})
    response = await client.get(
        "/sessions", params={"q": "arctic", "status": "held", "limit": 1, "cursor": cursor}
    )
    assert_refused(response, cursor)


async def test_truncated_cursor_is_400(client: httpx.AsyncClient) -> None:
    await seed(client, 21)
    params = {"sort": "-ordinal", "limit": 7}
    cursor = await first_cursor(client, params)
    payload, _, signature = cursor.partition(".")
    truncated = {
        cursor[:-1],
        cursor[:-2],
        cursor[:-4],
        cursor[: len(cursor) // 2],
        cursor[1:],
        payload,
        payload + ".",
        "." + signature,
        payload[:-1] + "." + signature,
    }
    for bad in truncated:
        assert_refused(await client.get("/sessions", params=params | {"cursor": bad}), bad)


def one_char_changes(cursor: str) -> list[str]:
    """The cursor with one character changed, at every position: to its neighbour in the
    base64url alphabet (which at the end of a part may differ only in unused bits), and
    '-' and '_' to their standard-alphabet twins '+' and '/'."""
    changed = []
    for i, char in enumerate(cursor):
        replacements = {"-": "+", "_": "/"}.get(char, "")
        replacements += B64URL[B64URL.index(char) ^ 1] if char in B64URL else "A"
        changed += [cursor[:i] + new + cursor[i + 1 :] for new in replacements]
    return changed


async def test_cursor_with_one_character_changed_is_400(client: httpx.AsyncClient) -> None:
    await seed(client, 21)
    params = {"from": RANGE_FROM, "limit": 7}
    cursor = await first_cursor(client, params)
    accepted = []
    for bad in one_char_changes(cursor):
        response = await client.get("/sessions", params=params | {"cursor": bad})
        if response.status_code != 400:
            accepted.append((bad, response.status_code))
    assert accepted == [], f"altered cursors accepted (original {cursor!r}): {accepted}"


@pytest.mark.parametrize(
    "path, query, host",
    [
        ("/api/v1/sessions", b"limit=50", b"127.0.0.1:8000"),
        ("/api/v1/sessions", b"cursor=abc.def&limit=7&q=Serguei+Lavrov", b"entente.example"),
        ("/api/v1/persons", b"q=%D0%9B%D0%B0%D0%B2%D1%80%D0%BE%D0%B2&cursor=x.y", b"[::1]:8080"),
        ("/api/v1/sessions", b"status=held&status=planned&sort=-start_date&q=a%26b%3Dc", b""),
        ("/api/v1/councils/a?b#c/sessions", b"limit=2&cursor=old&from=2006-01-01", b"h"),
    ],
)
def test_next_page_url_is_the_one_starlette_would_write(
    path: str, query: bytes, host: bytes
) -> None:
    """The `Link` written by hand is Starlette's: with a `?` in the path, words in another
    script, repeated parameters, an old cursor, and a host taken from the server."""
    scope = {
        "type": "http",
        "scheme": "https",
        "path": path,
        "query_string": query,
        "headers": [(b"host", host)] if host else [],
        "server": ("10.0.0.1", 8443),
        # Without ENTENTE_PUBLIC_URL, links are made from the request's (allowed) host.
        "app": SimpleNamespace(state=SimpleNamespace(settings=Settings(public_url=None))),
    }
    request = Request(scope)
    expected = str(Request(scope).url.include_query_params(cursor="next.one"))
    assert next_page_url(request, "next.one") == expected
