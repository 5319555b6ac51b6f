"""A deterministic generator of realistic data, loaded in bulk through the project's own
schema (not the API), for benchmarks.

    ENTENTE_DATABASE_URL=... python -m bench.seed --councils 1000 --sessions 100000 --persons 10000

The database must be migrated and is expected to be empty. Every run with the same
arguments writes the same records (ids included). PostgreSQL is loaded with COPY.
"""

import argparse
import asyncio
import json
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from anyascii import anyascii
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.config import get_settings
from app.db import create_engine
from app.terms.normalize import search_words

GIVEN = [
    "Anna",
    "Pierre",
    "Marie",
    "Jean",
    "Elena",
    "Hans",
    "Sofia",
    "Luis",
    "Amina",
    "Kenji",
    "Olga",
    "Marco",
    "Chloé",
    "Ingrid",
    "Tomás",
    "Zeynep",
    "Ahmed",
    "Li",
    "Priya",
    "Jonas",
]
FAMILY = [
    "Martin",
    "Bernard",
    "Dubois",
    "Schmidt",
    "Rossi",
    "García",
    "Novak",
    "Kowalski",
    "Johansson",
    "Silva",
    "Yilmaz",
    "Nakamura",
    "Haddad",
    "Okafor",
    "Andersen",
    "Moreau",
]
RUSSIAN = [
    "Сергей Иванов",
    "Анна Смирнова",
    "Дмитрий Кузнецов",
    "Ольга Попова",
    "Михаил Соколов",
    "Елена Лебедева",
    "Алексей Козлов",
    "Наталья Новикова",
    "Игорь Морозов",
    "Татьяна Петрова",
    "Владимир Волков",
    "Мария Соловьёва",
]
SUBJECTS = [
    "security",
    "energy",
    "trade",
    "climate",
    "migration",
    "health",
    "cyber",
    "arms",
    "water",
    "space",
    "maritime",
    "finance",
    "culture",
    "education",
    "transport",
]
SUBJECTS_FR = {
    "security": "sécurité",
    "energy": "énergie",
    "trade": "commerce",
    "climate": "climat",
    "migration": "migrations",
    "health": "santé",
    "cyber": "cyber",
    "arms": "armements",
    "water": "eau",
    "space": "espace",
    "maritime": "maritime",
    "finance": "finances",
    "culture": "culture",
    "education": "éducation",
    "transport": "transports",
}
COUNTRIES = [
    "FR",
    "RU",
    "DE",
    "GB",
    "US",
    "IT",
    "ES",
    "PL",
    "NL",
    "BE",
    "SE",
    "NO",
    "FI",
    "DK",
    "JP",
    "CN",
    "IN",
    "BR",
    "CA",
    "TR",
    "UA",
    "KZ",
    "EG",
    "ZA",
    "MX",
    "AU",
]
SEGMENT_KINDS = ["restricted", "plenary", "audience"]
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


# The tables in the order they are loaded (parents first).

ORDER = [
    "topic",
    "council",
    "council_member",
    "person",
    "person_other_name",
    "office",
    "council_session",
    "session_country",
    "segment",
    "participation",
    "segment_participant",
    "agenda_item",
    "search_term",
    "change",
]

# The big tables, the sessions and all after them, loaded before their keys, indexes and
# foreign keys exist (see `_without_indexes`).
INDEXED_AFTER_LOAD = ORDER[ORDER.index("council_session") :]


class Ids:
    """UUIDv7-shaped ids from a seeded generator: the same on every run, time-ordered."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.ms = rng, int(EPOCH.timestamp() * 1000)

    def __call__(self) -> str:
        self.ms += 1
        value = (self.ms << 80) | (0x7 << 76) | (self.rng.getrandbits(12) << 64)
        value |= (0b10 << 62) | self.rng.getrandbits(62)
        return str(uuid.UUID(int=value))


# Titles and topic names recur thousands of times: reduce each text once.
cached_words = lru_cache(maxsize=None)(search_words)


def terms(
    entity: str,
    record_id: str,
    texts: Iterable[tuple[str | None, int]],
    label: str | None = None,
) -> list[dict[str, Any]]:
    weights: dict[str, int] = {}
    for phrase, weight in texts:
        for word in cached_words(phrase or ""):
            weights[word[:100]] = max(weight, weights.get(word[:100], 0))
    return [
        {"entity": entity, "record_id": record_id, "term": t, "weight": w, "label": label}
        for t, w in weights.items()
    ]


def generate(
    councils: int, sessions: int, persons: int, seed: int
) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    new_id = Ids(rng)
    now = EPOCH
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ORDER}
    stamp = {"created_at": now, "updated_at": now}

    topics = []
    for r in range(25):
        subject = SUBJECTS[r % len(SUBJECTS)]
        root = {
            "id": new_id(),
            "slug": f"{subject}-{r}",
            "name": f"{subject.title()} {r}",
            "names": {"en": f"{subject.title()} {r}", "fr": f"{SUBJECTS_FR[subject].title()} {r}"},
            "parent_id": None,
            "description": None,
            "countries": [],
            **stamp,
        }
        topics.append(root)
        for c in range(19):
            topics.append(
                {
                    "id": new_id(),
                    "slug": f"{subject}-{r}-{c}",
                    "name": f"{subject.title()} {r}.{c}",
                    "names": {
                        "en": f"{subject.title()} {r}.{c}",
                        "fr": f"{SUBJECTS_FR[subject].title()} {r}.{c}",
                    },
                    "parent_id": root["id"],
                    "description": None,
                    "countries": [],
                    **stamp,
                }
            )
    rows["topic"] = topics
    for t in topics:
        rows["search_term"] += terms(
            "topic", t["id"], [(t["name"], 1), *((n, 1) for n in t["names"].values())]
        )

    people = []
    for p in range(persons):
        person_id = new_id()
        if p % 3 == 0:
            native = RUSSIAN[p % len(RUSSIAN)]
            latin = anyascii(native)
            name, others = f"{latin} {p}", [(f"{native} {p}", "ru"), (f"{latin} {p}", "en")]
        else:
            name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)} {p}"
            others = [(anyascii(name), "en")]
        nationality = rng.choice(COUNTRIES)
        people.append(
            {
                "id": person_id,
                "key": None,
                "name": name,
                "honorific_prefix": None,
                "given_name": None,
                "family_name": None,
                "nationality": nationality,
                **stamp,
            }
        )
        for position, (other, lang) in enumerate(others):
            rows["person_other_name"].append(
                {
                    "person_id": person_id,
                    "position": position,
                    "name": other,
                    "lang": lang,
                    "note": None,
                }
            )
        office_id = new_id()
        rows["office"].append(
            {
                "id": office_id,
                "person_id": person_id,
                "title": "Minister",
                "names": {},
                "role": "minister",
                "country": nationality,
                "organization": None,
                "start_date": None,
                "end_date": None,
                **stamp,
            }
        )
        people[-1]["office_id"] = office_id
        names = [(name, 1), *((o, 1) for o, _ in others)]
        rows["search_term"] += terms("person", person_id, names, label=name)
    rows["person"] = [{k: v for k, v in p.items() if k != "office_id"} for p in people]

    council_list = []
    for c in range(councils):
        bilateral = c % 3 != 0
        members = rng.sample(COUNTRIES, 2 if bilateral else rng.randint(3, 6))
        council = {
            "id": new_id(),
            "slug": f"council-{c:04d}",
            "acronym": f"C{c:04d}",
            "name": f"Council {c} on {rng.choice(SUBJECTS)}",
            "names": {},
            "kind": "bilateral" if bilateral else "multilateral",
            "established_on": str(rng.randint(1950, 2020)),
            "founding_context": None,
            "description": None,
            "status": "active",
            **stamp,
        }
        council_list.append((council, members))
        rows["council"].append(council)
        rows["council_member"] += [
            {"council_id": council["id"], "country": m, "position": i}
            for i, m in enumerate(members)
        ]
        rows["search_term"] += terms(
            "council", council["id"], [(council["acronym"], 1), (council["name"], 1)]
        )

    per_council = max(1, sessions // max(1, councils))
    made = 0
    seq = 0
    for council, members in council_list:
        day = date(1950, 1, 1) + timedelta(days=rng.randint(0, 3650))
        for ordinal in range(1, per_council + 1):
            if made >= sessions:
                break
            made += 1
            day += timedelta(days=rng.randint(30, 400))
            session_id = new_id()
            host = rng.choice(members)
            rows["council_session"].append(
                {
                    "id": session_id,
                    "council_id": council["id"],
                    "kind": "council_session",
                    "slug": None,
                    "ordinal": ordinal,
                    # Written out, as registers give them: the terms below are made from it.
                    "title": f"Meeting {ordinal} of the {council['acronym']}",
                    "start_date": day,
                    "end_date": day,
                    "timezone": None,
                    "location_city": f"City {host}",
                    "location_country": host,
                    "location_venue": None,
                    "host_country": host,
                    "guest_countries": [],
                    "status": "held",
                    "summary": f"Meeting on {rng.choice(SUBJECTS)} and {rng.choice(SUBJECTS)}.",
                    **stamp,
                }
            )
            rows["session_country"] += [
                {"session_id": session_id, "country": m, "position": i}
                for i, m in enumerate(members)
            ]
            segment_ids = []
            for position, kind in enumerate(SEGMENT_KINDS):
                segment_id = new_id()
                segment_ids.append(segment_id)
                rows["segment"].append(
                    {
                        "id": segment_id,
                        "session_id": session_id,
                        "key": kind,
                        "position": position,
                        "kind": kind,
                        "format": "2+2" if kind == "plenary" else None,
                        "title": f"{kind.title()} talks",
                        "date": day,
                        "part_of_day": None,
                        "description": None,
                    }
                )
            for person in rng.sample(people, 4):
                participation_id = new_id()
                rows["participation"].append(
                    {
                        "id": participation_id,
                        "session_id": session_id,
                        "person_id": person["id"],
                        "delegation": rng.choice(members),
                        "role": "principal",
                        "office_id": person["office_id"],
                        "office_given": False,
                        "note": None,
                        **stamp,
                    }
                )
                rows["segment_participant"] += [
                    {"segment_id": s, "participation_id": participation_id} for s in segment_ids[:2]
                ]
            chosen = rng.sample(topics, 6)
            for position, topic in enumerate(chosen, start=1):
                rows["agenda_item"].append(
                    {
                        "id": new_id(),
                        "session_id": session_id,
                        "topic_id": topic["id"],
                        "position": position,
                        "title": None,
                        "note": None,
                        **stamp,
                    }
                )
            session = rows["council_session"][-1]
            texts = [(session["title"], 1), (session["summary"], 0)]
            texts += [(t["name"], 0) for t in chosen] + [
                (n, 0) for t in chosen for n in t["names"].values()
            ]
            texts += [
                ("Restricted talks", 0),
                ("Plenary talks", 0),
                ("2+2", 0),
                ("Audience talks", 0),
            ]
            rows["search_term"] += terms("session", session_id, texts)
            seq += 1
            rows["change"].append(
                {
                    "seq": seq,
                    "entity": "session",
                    "record_id": session_id,
                    "action": "created",
                    "at": now,
                }
            )
    return rows


async def load(url: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Load the rows in one transaction, then refresh the planner's statistics."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await _copy(connection, rows)
            else:
                for name in ORDER:
                    started = time.perf_counter()
                    table = models.Base.metadata.tables[name]
                    for chunk in _chunks(rows[name], 5000):
                        await connection.execute(insert(table), list(chunk))
                    print(
                        f"{name}: {len(rows[name])} rows in {time.perf_counter() - started:.1f} s"
                    )
        # On PostgreSQL, what autovacuum keeps for a live database and a bulk load lacks:
        # planner statistics, and the visibility map without which no scan can answer from
        # an index alone, so that plans are those a database in use gets (bench/NOTES.md,
        # finding 15). SQLite gathers statistics only when told (ANALYZE), which Entente
        # never does: a live SQLite database has none, and neither has the seeded one.
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                started = time.perf_counter()
                await connection.execute(text("VACUUM ANALYZE"))
                print(f"VACUUM ANALYZE: {time.perf_counter() - started:.1f} s")
    finally:
        await engine.dispose()


async def _copy(connection: AsyncConnection, rows: dict[str, list[dict[str, Any]]]) -> None:
    """COPY each table's rows, the big tables' before their keys and indexes exist."""
    rebuild = await _without_indexes(connection, INDEXED_AFTER_LOAD)
    raw = (await connection.get_raw_connection()).driver_connection
    for name in ORDER:
        if not rows[name]:
            continue
        started = time.perf_counter()
        columns = list(rows[name][0])
        records = [tuple(_pg(row[c]) for c in columns) for row in rows[name]]
        await raw.copy_records_to_table(name, records=records, columns=columns, timeout=3600)
        print(f"{name}: {len(records)} rows in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for statement in rebuild:
        await connection.execute(text(statement))
    print(f"keys, indexes and foreign keys made in {time.perf_counter() - started:.1f} s")
    await connection.execute(text("SELECT setval('change_seq_seq', (SELECT max(seq) FROM change))"))


# What `_without_indexes` drops and makes again, as PostgreSQL defines it: the foreign keys
# of the tables or pointing at them, the tables' primary and unique keys, their other indexes.
FOREIGN_KEYS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contype = 'f'
  AND (conrelid::regclass::text = ANY(:tables) OR confrelid::regclass::text = ANY(:tables))
ORDER BY conname"""
KEYS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(:tables)
ORDER BY conname"""
INDEXES = """
SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
WHERE indrelid::regclass::text = ANY(:tables)
  AND NOT EXISTS (SELECT FROM pg_constraint WHERE conindid = indexrelid)
ORDER BY 1"""


async def _without_indexes(connection: AsyncConnection, tables: list[str]) -> list[str]:
    """Drop the keys, indexes and foreign keys of these tables (and the foreign keys that
    point at them); return the statements that make them again, to run once the rows are in.

    PostgreSQL's advice for a bulk load: an index built once over all rows costs a fraction
    of one updated row by row, and a foreign key added afterwards checks every row in one
    join instead of a trigger call per row (here: 106 s of COPY become 45 s, index builds
    included). The drops are part of the load's transaction: a failed load leaves the
    schema as it was.
    """
    names = {"tables": tables}
    foreign_keys = (await connection.execute(text(FOREIGN_KEYS), names)).all()
    keys = (await connection.execute(text(KEYS), names)).all()
    indexes = (await connection.execute(text(INDEXES), names)).all()
    for table, constraint, _ in [*foreign_keys, *keys]:
        await connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"'))
    for index, _ in indexes:
        await connection.execute(text(f"DROP INDEX {index}"))
    # Keys first: a foreign key needs the key it points at.
    return [
        *(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {how}' for table, name, how in keys),
        *(definition for _, definition in indexes),
        *(
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {how}'
            for table, name, how in foreign_keys
        ),
    ]


def _pg(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--councils", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2007)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = generate(args.councils, args.sessions, args.persons, args.seed)
    print(f"generated in {time.perf_counter() - started:.1f} s")
    asyncio.run(load(get_settings().database_url, rows))
    print(f"done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
