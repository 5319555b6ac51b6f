"""A deterministic generator of realistic data, loaded in bulk through the project's own
schema (not the API), for benchmarks.

    ENTENTE_DATABASE_URL=... python -m bench.seed --councils 1000 --sessions 100000 --persons 10000

Half the sessions are those of the councils, the other half meetings outside councils
(visits, summits, ministerial meetings) among about 200 countries, former ones included,
from 1860 to today (bench/NOTES.md, "The mix"). The database must be migrated and is
expected to be empty. Every run with the same arguments writes the same records (ids
included). PostgreSQL is loaded with COPY.
"""

import argparse
import asyncio
import json
import random
import time
import uuid
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Any

from anyascii import anyascii
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.config import get_settings
from app.db import create_engine
from app.terms.normalize import search_words
from app.types import COUNTRY_CODES, FORMER_COUNTRIES, country_name

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

SEGMENT_KINDS = ["restricted", "plenary", "audience"]
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
STAMP = {"created_at": EPOCH, "updated_at": EPOCH}
# From the first registers of visits to a fixed "today": every run writes the same rows.
FIRST_DAY, LAST_DAY = date(1860, 1, 1), date(2026, 11, 30)

# The ISO 3166-1 codes of dependent territories: they pay no state visits.
TERRITORIES = frozenset({
    "AI", "AQ", "AS", "AW", "AX", "BL", "BM", "BQ", "BV", "CC", "CK", "CW", "CX", "EH",
    "FK", "FO", "GF", "GG", "GI", "GL", "GP", "GS", "GU", "HK", "HM", "IM", "IO", "JE",
    "KY", "MF", "MO", "MP", "MQ", "MS", "NC", "NF", "NU", "PF", "PM", "PN", "PR", "RE",
    "SH", "SJ", "SX", "TC", "TF", "TK", "UM", "VG", "VI", "WF", "YT",
})  # fmt: skip
# The former countries that met others (ISO 3166-3 also lists territories: the Panama
# Canal Zone, Johnston Island), each with the countries that took its place. A former
# country meets until its withdrawal date, its successors from then on, but for those
# that had lived beside it (DE beside the GDR); Serbia and Montenegro is both. A former
# country meets as often as its first successor. Each is listed before a former country
# that names it as a successor.
SUCCESSORS = {
    "SUHH": ("RU", "UA", "KZ", "UZ", "TM", "KG", "TJ", "AM", "AZ", "GE", "MD", "LT", "LV", "EE"),
    "BYAA": ("BY",),
    "CSHH": ("CZ", "SK"),
    "CSXX": ("RS", "ME"),
    "YUCS": ("CSXX", "SI", "HR", "BA", "MK"),
    "DDDE": ("DE",),
    "YDYE": ("YE",),
    "VDVN": ("VN",),
    "SKIN": ("IN",),
    "BUMM": ("MM",),
    "DYBJ": ("BJ",),
    "HVBF": ("BF",),
    "ZRCD": ("CD",),
    "RHZW": ("ZW",),
    "TPTL": ("TL",),
    "NHVU": ("VU",),
    "AIDJ": ("DJ",),
}
LIVED_BESIDE = frozenset({"DE", "YE", "VN", "IN"})
# The countries that meet most, most first; the others follow in an order drawn from the
# seed. A country's weight falls with its rank (Zipf's law): a few pairs meet thousands
# of times, most pairs a few times or never.
LEADING = [
    "US", "FR", "DE", "GB", "RU", "CN", "JP", "IT", "IN", "BR", "CA", "ES", "TR",
    "PL", "UA", "NL", "BE", "SE", "NO", "FI", "DK", "KZ", "EG", "ZA", "MX", "AU",
]  # fmt: skip
ZIPF_EXPONENT = 0.75
# Meetings outside councils by kind: (share in percent, fewest countries, most countries).
MEETINGS = {
    "working_visit": (25, 2, 2),
    "official_visit": (20, 2, 2),
    "state_visit": (12, 2, 2),
    "visit": (5, 2, 2),
    "private_visit": (3, 2, 2),
    "ministerial_meeting": (18, 2, 6),
    "summit": (14, 3, 8),
    "other": (3, 2, 4),
}


def withdrawn_on(code: str) -> date:
    """A former country's withdrawal date; ISO gives only the year of some (from its
    first day, then)."""
    when = FORMER_COUNTRIES[code].withdrawal_date
    return date.fromisoformat(when) if len(when) == 10 else date(int(when[:4]), 1, 1)


class World:
    """The countries that meet: when each existed and how often each meets."""

    def __init__(self, rng: random.Random) -> None:
        current = COUNTRY_CODES - FORMER_COUNTRIES.keys() - TERRITORIES
        others = sorted(current - set(LEADING))
        rng.shuffle(others)
        weight = {c: 1 / (rank + 1) ** ZIPF_EXPONENT for rank, c in enumerate(LEADING + others)}
        self.since: dict[str, date] = {}
        self.until: dict[str, date] = {}
        for former, successors in SUCCESSORS.items():
            weight[former] = weight[successors[0]]
            self.until[former] = withdrawn_on(former)
            for successor in successors:
                if successor not in LIVED_BESIDE:
                    self.since[successor] = self.until[former]
        self.codes = sorted(weight)
        self.weights = [weight[c] for c in self.codes]
        # Between two consecutive dates of `starts`, the same countries exist: each era's
        # countries and their cumulated weights, for `random.choices`.
        self.starts = sorted({date.min, *self.since.values(), *self.until.values()})
        self.eras = []
        for start in self.starts:
            alive = [c for c in self.codes if self.exists(c, start)]
            self.eras.append((alive, list(accumulate(weight[c] for c in alive))))

    def exists(self, code: str, day: date) -> bool:
        return self.since.get(code, date.min) <= day < self.until.get(code, date.max)

    def choose(
        self,
        rng: random.Random,
        count: int,
        day: date,
        *,
        through: date | None = None,
        besides: Sequence[str] = (),
    ) -> list[str]:
        """`count` distinct countries that exist on `day` (and until `through`), by their
        weights, none of `besides`."""
        alive, cumulated = self.eras[bisect_right(self.starts, day) - 1]
        chosen: list[str] = []
        while len(chosen) < count:
            code = rng.choices(alive, cum_weights=cumulated)[0]
            if code in chosen or code in besides:
                continue
            if through is None or self.exists(code, through):
                chosen.append(code)
        return chosen


def later_rather(rng: random.Random, first: date, last: date) -> date:
    """A day from `first` to `last`, the later the likelier: the density grows as the
    square of the time since `first`, as the number of meetings has."""
    return first + timedelta(days=int((last - first).days * rng.random() ** (1 / 3)))


def meeting_title(kind: str, countries: Sequence[str], host: str, subject: str) -> str:
    where = country_name(host)
    if kind.endswith("visit"):
        guest = next(c for c in countries if c != host)
        return f"{kind.replace('_', ' ').capitalize()} of {country_name(guest)} to {where}"
    what = {"summit": "Summit", "ministerial_meeting": "Ministerial meeting"}.get(kind, "Meeting")
    return f"{what} on {subject} in {where}"


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
    "session_identifier",
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


class Mix:
    """The rows of a benchmark database, made in the order they are loaded."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.new_id = Ids(rng)
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ORDER}
        self.world = World(rng)
        self.topics: list[dict[str, Any]] = []
        self.people: list[dict[str, Any]] = []
        self.people_of: dict[str, list[dict[str, Any]]] = {}

    def add_topics(self) -> None:
        for r in range(25):
            subject = SUBJECTS[r % len(SUBJECTS)]
            root = self._topic(f"{subject}-{r}", subject, f"{r}", None)
            for c in range(19):
                self._topic(f"{subject}-{r}-{c}", subject, f"{r}.{c}", root["id"])
        self.rows["topic"] = self.topics
        for t in self.topics:
            self.rows["search_term"] += terms(
                "topic", t["id"], [(t["name"], 1), *((n, 1) for n in t["names"].values())]
            )

    def _topic(self, slug: str, subject: str, number: str, parent: str | None) -> dict[str, Any]:
        topic: dict[str, Any] = {
            "id": self.new_id(),
            "slug": slug,
            "name": f"{subject.title()} {number}",
            "names": {
                "en": f"{subject.title()} {number}",
                "fr": f"{SUBJECTS_FR[subject].title()} {number}",
            },
            "parent_id": parent,
            "description": None,
            "countries": [],
            **STAMP,
        }
        self.topics.append(topic)
        return topic

    def add_persons(self, count: int) -> None:
        """Persons of every country, as many as it has meetings, a third with Russian names."""
        rng = self.rng
        world = self.world
        for p, nationality in enumerate(rng.choices(world.codes, world.weights, k=count)):
            person_id = self.new_id()
            if p % 3 == 0:
                native = RUSSIAN[p % len(RUSSIAN)]
                latin = anyascii(native)
                name, others = f"{latin} {p}", [(f"{native} {p}", "ru"), (f"{latin} {p}", "en")]
            else:
                name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)} {p}"
                others = [(anyascii(name), "en")]
            office_id = self.new_id()
            person = {"id": person_id, "office_id": office_id}
            self.people.append(person)
            self.people_of.setdefault(nationality, []).append(person)
            self.rows["person"].append(
                {
                    "id": person_id,
                    "key": None,
                    "name": name,
                    "honorific_prefix": None,
                    "given_name": None,
                    "family_name": None,
                    "nationality": nationality,
                    **STAMP,
                }
            )
            for position, (other, lang) in enumerate(others):
                self.rows["person_other_name"].append(
                    {
                        "person_id": person_id,
                        "position": position,
                        "name": other,
                        "lang": lang,
                        "note": None,
                    }
                )
            self.rows["office"].append(
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
                    **STAMP,
                }
            )
            names = [(name, 1), *((o, 1) for o, _ in others)]
            self.rows["search_term"] += terms("person", person_id, names, label=name)

    def add_councils(self, count: int, sessions: int) -> None:
        """`count` councils sharing `sessions` sessions, each council's within its years;
        its members exist through them all."""
        rng = self.rng
        for c in range(count):
            held = sessions // count + (c < sessions % count)
            # Founded early enough for its sessions, at most a year apart, to fit by today.
            founded = later_rather(rng, FIRST_DAY, LAST_DAY - timedelta(days=60 * held + 1))
            apart = min(365, (LAST_DAY - founded).days // max(1, held))
            days = list(
                accumulate(
                    (rng.randint(apart // 2, apart) for _ in range(held)),
                    lambda day, gap: day + timedelta(days=gap),
                    initial=founded,
                )
            )[1:]
            bilateral = c % 3 != 0
            members = self.world.choose(
                rng,
                2 if bilateral else rng.randint(3, 8),
                days[0] if days else founded,
                through=days[-1] if days else None,
            )
            council: dict[str, Any] = {
                "id": self.new_id(),
                "slug": f"council-{c:04d}",
                "acronym": f"C{c:04d}",
                "name": f"Council {c} on {rng.choice(SUBJECTS)}",
                "names": {},
                "kind": "bilateral" if bilateral else "multilateral",
                "established_on": str(founded.year),
                "founding_context": None,
                "description": None,
                "status": "active" if days and days[-1].year >= 2020 else "dissolved",
                **STAMP,
            }
            self.rows["council"].append(council)
            self.rows["council_member"] += [
                {"council_id": council["id"], "country": m, "position": i}
                for i, m in enumerate(members)
            ]
            self.rows["search_term"] += terms(
                "council", council["id"], [(council["acronym"], 1), (council["name"], 1)]
            )
            for ordinal, day in enumerate(days, start=1):
                self._add_council_session(council, members, ordinal, day)

    def _add_council_session(
        self, council: dict[str, Any], members: list[str], ordinal: int, day: date
    ) -> None:
        rng = self.rng
        guests = []
        if rng.random() < 0.125:
            guests = self.world.choose(rng, rng.randint(1, 2), day, besides=members)
        acronym = council["acronym"]
        self._add_session(
            council_id=council["id"],
            kind="council_session",
            slug=f"{council['slug']}-{ordinal}" if ordinal % 5 == 0 else None,
            ordinal=ordinal,
            # Written out, as registers give them: the search terms are made from it.
            title=f"Meeting {ordinal} of the {acronym}",
            start_date=day,
            end_date=day,
            host=rng.choice(members),
            guests=guests,
            countries=members + guests,
            identifiers=[("register", f"{acronym}/{ordinal}")] if ordinal % 7 == 0 else [],
            participants=4,
            agenda=6,
        )

    def add_meetings(self, count: int) -> None:
        """Visits, summits and ministerial meetings among the countries of their day."""
        rng = self.rng
        kinds = list(MEETINGS)
        shares = [MEETINGS[k][0] for k in kinds]
        for n, kind in enumerate(rng.choices(kinds, shares, k=count)):
            _, fewest, most = MEETINGS[kind]
            day = later_rather(rng, FIRST_DAY, LAST_DAY - timedelta(days=2))
            countries = self.world.choose(rng, rng.randint(fewest, most), day)
            host = rng.choice(countries)
            identifiers = []
            if n % 3 == 0:
                identifiers.append(("wikidata", f"Q{20_000_000 + n}"))
            if n % 4 == 0:
                identifiers.append((f"mfa-{host.lower()}", f"{day.year}/{n}"))
            self._add_session(
                council_id=None,
                kind=kind,
                slug=f"{kind.replace('_', '-')}-{host.lower()}-{day.year}-{n}"
                if n % 5 == 0
                else None,
                ordinal=None,
                title=meeting_title(kind, countries, host, rng.choice(SUBJECTS)),
                start_date=day,
                end_date=day + timedelta(days=rng.randint(0, 2)),
                host=host,
                guests=[],
                countries=countries,
                identifiers=identifiers,
                participants=len(countries) + rng.randint(0, 2),
                agenda=rng.randint(2, 6),
            )

    def _add_session(
        self,
        *,
        council_id: str | None,
        kind: str,
        slug: str | None,
        ordinal: int | None,
        title: str,
        start_date: date,
        end_date: date,
        host: str,
        guests: list[str],
        countries: list[str],
        identifiers: list[tuple[str, str]],
        participants: int,
        agenda: int,
    ) -> None:
        """A session with its parties, identifiers, segments, participants (each for one of
        the parties), agenda, search terms and change-feed entry."""
        rng, rows = self.rng, self.rows
        session_id = self.new_id()
        summary = f"Meeting on {rng.choice(SUBJECTS)} and {rng.choice(SUBJECTS)}."
        rows["council_session"].append(
            {
                "id": session_id,
                "council_id": council_id,
                "kind": kind,
                "slug": slug,
                "ordinal": ordinal,
                "title": title,
                "start_date": start_date,
                "end_date": end_date,
                "timezone": None,
                "location_city": f"City {host}",
                "location_country": host,
                "location_venue": None,
                "host_country": host,
                "guest_countries": guests,
                "status": "held",
                "summary": summary,
                **STAMP,
            }
        )
        rows["session_country"] += [
            {"session_id": session_id, "country": c, "position": i} for i, c in enumerate(countries)
        ]
        rows["session_identifier"] += [
            {"session_id": session_id, "position": i, "scheme": scheme, "identifier": identifier}
            for i, (scheme, identifier) in enumerate(identifiers)
        ]
        segment_ids = []
        for position, segment_kind in enumerate(SEGMENT_KINDS):
            segment_id = self.new_id()
            segment_ids.append(segment_id)
            rows["segment"].append(
                {
                    "id": segment_id,
                    "session_id": session_id,
                    "key": segment_kind,
                    "position": position,
                    "kind": segment_kind,
                    "format": "2+2" if segment_kind == "plenary" else None,
                    "title": f"{segment_kind.title()} talks",
                    "date": start_date,
                    "part_of_day": None,
                    "description": None,
                }
            )
        for person, delegation in self._delegates(countries, participants):
            participation_id = self.new_id()
            rows["participation"].append(
                {
                    "id": participation_id,
                    "session_id": session_id,
                    "person_id": person["id"],
                    "delegation": delegation,
                    "role": "principal",
                    "office_id": person["office_id"],
                    "office_given": False,
                    "note": None,
                    **STAMP,
                }
            )
            rows["segment_participant"] += [
                {"segment_id": s, "participation_id": participation_id} for s in segment_ids[:2]
            ]
        chosen = rng.sample(self.topics, agenda)
        for position, topic in enumerate(chosen, start=1):
            rows["agenda_item"].append(
                {
                    "id": self.new_id(),
                    "session_id": session_id,
                    "topic_id": topic["id"],
                    "position": position,
                    "title": None,
                    "note": None,
                    **STAMP,
                }
            )
        texts = [(title, 1), (summary, 0)]
        texts += [(t["name"], 0) for t in chosen] + [
            (n, 0) for t in chosen for n in t["names"].values()
        ]
        texts += [("Restricted talks", 0), ("Plenary talks", 0), ("2+2", 0), ("Audience talks", 0)]
        rows["search_term"] += terms("session", session_id, texts)
        rows["change"].append(
            {
                "seq": len(rows["change"]) + 1,
                "entity": "session",
                "record_id": session_id,
                "action": "created",
                "at": EPOCH,
            }
        )

    def _delegates(self, countries: list[str], count: int) -> list[tuple[dict[str, Any], str]]:
        """`count` distinct persons, each with the party they sit for: most often one of its
        nationals, else anyone."""
        chosen: dict[str, tuple[dict[str, Any], str]] = {}
        while len(chosen) < min(count, len(self.people)):
            delegation = self.rng.choice(countries)
            nationals = self.people_of.get(delegation)
            if nationals and self.rng.random() < 0.8:
                person = self.rng.choice(nationals)
            else:
                person = self.rng.choice(self.people)
            chosen.setdefault(person["id"], (person, delegation))
        return list(chosen.values())


def generate(
    councils: int, sessions: int, persons: int, seed: int
) -> dict[str, list[dict[str, Any]]]:
    """The rows of `sessions` sessions, half of them of `councils` councils (none without
    councils), the others meetings outside councils."""
    mix = Mix(random.Random(seed))
    mix.add_topics()
    mix.add_persons(persons)
    in_councils = sessions // 2 if councils else 0
    mix.add_councils(councils, in_councils)
    mix.add_meetings(sessions - in_councils)
    return mix.rows


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
