"""The write lane (app/sessions/writes.py) answers the plain writes of sessions,
participants and agenda items on PostgreSQL, in front of the application. Each must
write what the application writes and answer as it answers, and everything else must go
on to the application, nothing written or counted twice."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from orjson import loads
from sqlalchemy import text

from app.auth.models import Scope
from app.search.normalize import search_words
from app.sessions import writes
from app.sessions.service import INSERT_SESSION_SQL
from tests.conftest import http_client, make_key
from tests.factories import create_council, create_session, same_answer

# A repeated header sends a request past the lane: the application's own answer.
PAST_THE_LANE = [("X-Compare", "1"), ("X-Compare", "2")]
# What differs between two records written alike: their ids, times and neighbours.
VARYING = frozenset(
    {"id", "created_at", "updated_at", "previous_session_id", "next_session_id", "session_id"}
)
# What differs between sessions of two councils: the default title is the council's,
# and so are its search terms.
COUNCIL = frozenset({"council", "council_id", "title"})
ACRONYMS = frozenset(search_words("LANE MAIN"))
VARYING_HEADERS = frozenset({"x-request-id", "etag", "location", "date"}) | {
    f"ratelimit-{name}" for name in ("remaining", "reset")
}


@pytest.fixture
async def lane(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[str]]:
    """The records the lane wrote, by entity, in order."""
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("the write lane is PostgreSQL's")
    written: list[str] = []
    write = writes._written

    async def noted(engine: Any, lane_write: writes.LaneWrite, *args: Any) -> Any:
        document = await write(engine, lane_write, *args)
        if document is not None:
            written.append(lane_write.entity)
        return document

    monkeypatch.setattr(writes, "_written", noted)
    yield written


def alike(value: Any, *, without: frozenset[str] = frozenset()) -> Any:
    """`value` without what differs between two records written alike (and `without`)."""
    if isinstance(value, dict):
        return {k: alike(v) for k, v in value.items() if k not in VARYING | without}
    if isinstance(value, list):
        return [alike(v) for v in value]
    return value


def headers_alike(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k not in VARYING_HEADERS)


async def rows(app: FastAPI, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with app.state.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql), params)]


async def written_beside(app: FastAPI, answer: httpx.Response, session_id: str) -> dict[str, Any]:
    """What a write leaves beside its record: the session's search terms (but its
    council's acronym, which the default title has), and the journal, whose entry names
    the request."""
    record_id = answer.json()["id"]
    terms = await rows(
        app,
        "SELECT term, weight, label FROM search_term WHERE entity = 'session' AND record_id = :id",
        id=session_id,
    )
    audit = await rows(
        app,
        "SELECT action, entity, actor, request_id, changes::text FROM audit_entry "
        "WHERE entity_id = :id",
        id=record_id,
    )
    assert [entry[3] for entry in audit] == [answer.headers["x-request-id"]]
    return {
        "terms": sorted(term for term in terms if term[0] not in ACRONYMS),
        "audit": [
            (action, entity, actor, request_id is not None, alike(loads(changes), without=COUNCIL))
            for action, entity, actor, request_id, changes in audit
        ],
        "feed": await rows(
            app,
            "SELECT entity, action FROM change WHERE record_id = :id ORDER BY seq",
            id=session_id,
        ),
    }


async def test_the_lane_writes_and_answers_as_the_application(
    client: httpx.AsyncClient, app: FastAPI, lane: list[str]
) -> None:
    topic = (
        await client.post(
            "/topics",
            json={"slug": "energy", "name": "Energy security", "names": {"fr": "Énergie"}},
        )
    ).json()
    person = (await client.post("/persons", json={"name": "Ivan Petrov"})).json()
    offices = f"/persons/{person['id']}/offices"
    for start, end, title in (("2000", "2004-05", "Deputy"), ("2004-05", None, "Minister")):
        body = {"title": title, "country": "RU", "start_date": start, "end_date": end}
        assert (await client.post(offices, json=body)).status_code == 201
    sessions = []
    for slug in ("lane", "main"):  # alike in length, as the answers' are compared
        await create_council(client, slug, members=("FR", "RU"))
    bodies = [
        {"start_date": "2007-02-21"},
        {
            "ordinal": 6,
            "title": "Sixième session",
            "start_date": "2007-02-21",
            "end_date": "2007-02-22",
            "timezone": "Europe/Moscow",
            "location": {"city": "Moscou", "country": "RU", "venue": "Kremlin"},
            "host_country": "RU",
            "guest_countries": ["DE", "IT"],
            "status": "held",
            "summary": "Talks on missile defence",
            "segments": [
                {"key": "talks", "kind": "restricted", "format": "2+2", "date": "2007-02-22"},
                {"kind": "audience", "title": "With the President", "part_of_day": "evening"},
            ],
        },
    ]
    for body in bodies:
        request_id = f"lane-test-{len(sessions)}"
        answers = []
        for council, extra in (("lane", []), ("main", PAST_THE_LANE)):
            headers = [*extra, ("X-Request-ID", request_id)]
            answer = await client.post(
                "/sessions", json={"council_id": council} | body, headers=headers
            )
            assert answer.status_code == 201, answer.text
            answers.append(answer)
        sessions.append([a.json() for a in answers])
        check_same_write(*answers, without=COUNCIL)
        assert [a.headers["x-request-id"] for a in answers] == [request_id] * 2
        beside = [await written_beside(app, a, a.json()["id"]) for a in answers]
        assert beside[0] == beside[1]
        assert beside[0]["audit"][0][:3] == ("create", "session", "test-admin")
        assert beside[0]["feed"] == [("session", "created")]
    assert lane == ["session", "session"]

    # The default title is the council's: each from its own.
    assert [s["title"] for s in sessions[0]] == [
        "Session of the LANE on 2007-02-21",
        "Session of the MAIN on 2007-02-21",
    ]
    for (lane_session, stack_session), body, entity in (
        *(
            (pair, {"person_id": person["id"], "delegation": side, "role": "principal"}, "p")
            for pair, side in zip(sessions, ("RU", "DE"), strict=True)
        ),
        (sessions[0], {"topic_id": "energy", "title": "Gas", "note": "Transit"}, "a"),
        (sessions[0], {"topic_id": topic["id"]}, "a"),
        (sessions[1], {"topic_id": topic["id"]}, "a"),
    ):
        part = "participants" if entity == "p" else "agenda"
        answers = [
            await client.post(f"/sessions/{lane_session['id']}/{part}", json=body),
            await client.post(
                f"/sessions/{stack_session['id']}/{part}", json=body, headers=PAST_THE_LANE
            ),
        ]
        check_same_write(*answers)
        beside = [
            await written_beside(app, a, s["id"])
            for a, s in zip(answers, (lane_session, stack_session), strict=True)
        ]
        assert beside[0] == beside[1]
        assert beside[0]["feed"][-1] == ("session", "updated")
        for answer, session in zip(answers, (lane_session, stack_session), strict=True):
            detail = (await client.get(f"/sessions/{session['id']}")).json()
            assert detail["updated_at"] > session["updated_at"]  # the session marked changed
            assert answer.json()["session_id"] == session["id"]
    assert lane == ["session", "session"] + ["participation"] * 2 + ["agenda_item"] * 3
    # The office the person held that day, derived by both.
    participant = (await client.get(f"/sessions/{sessions[0][0]['id']}/participants")).json()
    assert participant["items"][0]["title_at_time"] == "Minister"
    agenda = (await client.get(f"/sessions/{sessions[0][0]['id']}/agenda")).json()["items"]
    assert [item["position"] for item in agenda] == [1, 2]
    found = await client.get("/sessions", params={"q": "energie transit"})
    assert {s["id"] for s in found.json()["items"]} == {s["id"] for s in sessions[0]}


def check_same_write(
    lane: httpx.Response, stack: httpx.Response, *, without: frozenset[str] = frozenset()
) -> None:
    assert (lane.status_code, stack.status_code) == (201, 201), (lane.text, stack.text)
    made = [answer.json() for answer in (lane, stack)]
    assert alike(made[0], without=without) == alike(made[1], without=without)
    assert headers_alike(lane) == headers_alike(stack)
    for answer, record in zip((lane, stack), made, strict=True):
        assert answer.headers["location"] == f"{answer.request.url.path}/{record['id']}"
        assert answer.headers["x-request-id"]


async def test_the_lane_leaves_the_rest_to_the_application(
    client: httpx.AsyncClient, app: FastAPI, lane: list[str]
) -> None:
    await create_council(client, "ngc", members=("FR", "RU"))
    session = await create_session(client, "ngc", ordinal=1)
    await client.post("/topics", json={"slug": "energy", "name": "Energy"})
    person = (await client.post("/persons", json={"name": "Ivan Petrov"})).json()
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    reader = await make_key(app, "reader", Scope.read)
    participants = f"/sessions/{session['id']}/participants"
    agenda = f"/sessions/{session['id']}/agenda"
    seat = {"person_id": person["id"], "delegation": "FR"}
    assert (await client.post(participants, json=seat)).status_code == 201
    lane.clear()
    new = {"council_id": "ngc", "start_date": "2008-01-01"}
    cases: list[tuple[str, Any, dict[str, str]]] = [
        ("/sessions", new | {"council_id": "nowhere"}, {}),
        ("/sessions", new | {"ordinal": 1}, {}),
        ("/sessions", new | {"segments": [{"kind": "plenary", "date": "2009-01-01"}]}, {}),
        ("/sessions", new | {"segments": [{"kind": "plenary", "key": "a"}] * 2}, {}),
        ("/sessions", new | {"segments": [{"kind": "plenary", "id": session["id"]}]}, {}),
        ("/sessions", new | {"source_ids": [source["id"]]}, {}),
        ("/sessions", new | {"start_date": "2008-02-30"}, {}),
        ("/sessions", new | {"surprise": True}, {}),
        ("/sessions", '{"council_id": "ngc", "council_id": "ngc"}', {}),
        ("/sessions", "not json", {}),
        ("/sessions", new, {"Content-Type": "text/plain"}),
        ("/sessions", new, {"Idempotency-Key": "once"}),
        ("/sessions", new, {"Origin": "https://example.org"}),
        ("/sessions?api_key=x", new, {}),
        ("/sessions", new, {"Authorization": f"Bearer {reader}"}),
        ("/sessions", new, {"Authorization": "Bearer ent_unknown_key"}),
        ("/sessions", new, {"Authorization": "Basic abc"}),
        (participants, {"person_id": "nobody", "delegation": "FR"}, {}),
        (participants, seat, {}),
        (participants, seat | {"delegation": "JP"}, {}),
        (participants, seat | {"office_id": "none"}, {}),
        (participants, seat | {"segment_ids": ["none"]}, {}),
        ("/sessions/nowhere/participants", seat, {}),
        (agenda, {"topic_id": "nothing"}, {}),
        (agenda, {"topic_id": "energy", "position": 1}, {}),
        (agenda, {"topic_id": "energy", "source_ids": [source["id"]]}, {}),
        ("/sessions/nowhere/agenda", {"topic_id": "energy"}, {}),
    ]
    for path, body, headers in cases:
        what = f"{path} {body} {headers}"
        content = body if isinstance(body, str) else None
        sent: dict[str, Any] = {"json": body} if content is None else {"content": content}
        before = await counts(app)
        answers = []
        for extra in ([], PAST_THE_LANE):
            answers.append(await client.post(path, **sent, headers=[*headers.items(), *extra]))
        if answers[1].status_code == 201:  # a write the lane may not take, done twice
            assert answers[0].status_code == 201, what
            appended = frozenset({"position"})  # to one agenda, one after the other
            made = [alike(answer.json(), without=appended) for answer in answers]
            assert made[0] == made[1], what
        else:
            same_answer(*answers, what)
            assert await counts(app) == before, what
    assert lane == [], "the lane took a request it must leave"


async def test_an_agenda_numbered_otherwise_is_left_to_the_application(
    client: httpx.AsyncClient, app: FastAPI, lane: list[str]
) -> None:
    """The lane adds an item after positions 1 to n only; the application numbers any
    other agenda (one numbered by hand, say) 1 to n again before adding to it."""
    await create_council(client, "ngc")
    session = await create_session(client, "ngc")
    await client.post("/topics", json={"slug": "energy", "name": "Energy"})
    agenda = f"/sessions/{session['id']}/agenda"
    for _ in range(2):
        assert (await client.post(agenda, json={"topic_id": "energy"})).status_code == 201
    assert lane == ["session", "agenda_item", "agenda_item"]
    for numbered in ([2, 3], [1, 1], [0, 2]):
        items = (await client.get(agenda)).json()["items"]
        async with app.state.engine.begin() as connection:
            for item, position in zip(items, numbered, strict=False):
                await connection.execute(
                    text("UPDATE agenda_item SET position = :position WHERE id = :id"),
                    {"position": position, "id": item["id"]},
                )
        added = await client.post(agenda, json={"topic_id": "energy"})
        assert added.status_code == 201, added.text
        positions = [item["position"] for item in (await client.get(agenda)).json()["items"]]
        assert positions == list(range(1, len(items) + 2)), numbered
        assert added.json()["position"] == len(items) + 1
    assert len(lane) == 3


async def counts(app: FastAPI) -> list[tuple[Any, ...]]:
    tables = ("council_session", "segment", "participation", "agenda_item", "audit_entry")
    return await rows(app, " UNION ALL ".join(f"SELECT count(*) FROM {t}" for t in tables))


async def test_a_request_left_to_the_application_is_counted_once(
    client: httpx.AsyncClient, app: FastAPI, lane: list[str]
) -> None:
    """Against the key's rate limit, and in the metrics, under the route's template."""
    await create_council(client, "ngc")
    sent = {"council_id": "ngc", "start_date": "2008-01-01"}
    token = await make_key(app, "writer", Scope.write)
    answered_before = await answered(client)
    async with http_client(app, token) as writer:
        if int((await writer.get("/healthz")).headers.get("ratelimit-reset", 60)) < 5:
            await asyncio.sleep(5)  # the counts start again with each minute
        remaining = []
        for body in (sent, sent | {"council_id": "nowhere"}, sent | {"ordinal": 0}, sent):
            answer = await writer.post("/sessions", json=body)
            remaining.append(int(answer.headers["ratelimit-remaining"]))
    assert lane == ["session", "session"]
    first = remaining[0]
    assert remaining == [first, first - 1, first - 2, first - 3]
    answered_after = await answered(client)
    assert {status: answered_after[status] - answered_before[status] for status in (201, 422)} == {
        201: 2,
        422: 2,
    }


async def answered(client: httpx.AsyncClient) -> dict[int, float]:
    """How many POSTs of sessions /metrics counts, by status."""
    metrics = (await client.get("http://testserver/metrics")).text
    series = 'entente_requests_total{method="POST",route="/sessions",status="%d"} '
    counted = {}
    for status in (201, 422):
        lines = [line for line in metrics.splitlines() if line.startswith(series % status)]
        counted[status] = float(lines[0].split()[-1]) if lines else 0.0
    return counted


async def test_a_unique_key_taken_meanwhile_is_the_applications_409(
    client: httpx.AsyncClient, app: FastAPI, lane: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ordinal is free when the lane looks, taken when it writes: the unique index
    refuses it, and the application answers, nothing written twice."""
    await create_council(client, "ngc")
    council_id = (await client.get("/councils/ngc")).json()["id"]
    write = writes.WRITES[None].write

    class Overtaken:
        """The lane's connection, and a concurrent writer who commits a session with the
        same ordinal just before the lane inserts its own."""

        def __init__(self, connection: Any) -> None:
            self.connection = connection

        def __getattr__(self, name: str) -> Any:
            return getattr(self.connection, name)

        async def execute(self, sql: str, *args: Any) -> Any:
            if sql == INSERT_SESSION_SQL:
                async with app.state.engine.begin() as other:
                    await other.execute(RACER, {"council": council_id})
            return await self.connection.execute(sql, *args)

    async def overtaken(connection: Any, session_id: str, data: Any) -> Any:
        return await write(Overtaken(connection), session_id, data)

    monkeypatch.setitem(writes.WRITES, None, writes.WRITES[None]._replace(write=overtaken))
    answer = await client.post(
        "/sessions", json={"council_id": "ngc", "start_date": "2008-01-01", "ordinal": 3}
    )
    assert answer.status_code == 409, answer.text
    assert "numbered 3" in answer.json()["detail"]
    assert lane == []
    assert await rows(app, "SELECT id FROM council_session") == [("racer",)]
    assert await rows(app, "SELECT count(*) FROM audit_entry WHERE entity = 'session'") == [(0,)]


RACER = text(
    "INSERT INTO council_session (id, council_id, ordinal, start_date, end_date, "
    "guest_countries, status, created_at, updated_at) "
    "VALUES ('racer', :council, 3, '2008-01-01', '2008-01-01', '[]', 'held', now(), now())"
)
