"""A deterministic generator of entente-dataset documents, for timing `POST /import` and
`entente import` (bench/NOTES.md, "Bulk import").

    python -m bench.dataset --sessions 10000 --persons 4000 > /tmp/dataset.json
    python -m bench.dataset --sessions 10000 --persons 4000 --errors 40 > /tmp/faulty.json

The sessions are mixed: sessions of bilateral and multilateral councils, and meetings
outside councils (state visits, summits, ...) keyed by slug, with identifiers in a
ministry's register. Each has 2 to 6 participants, each sitting for one of its parties;
some have segments and an agenda. The same arguments always give the same bytes. With
`--errors N`, N records break one rule each (spread over the document), each error at a
pointer the importer must report.
"""

import argparse
import random
import sys
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import orjson

COUNTRIES = [
    "FR", "RU", "DE", "GB", "US", "IT", "ES", "PL", "CN", "JP", "IN", "BR", "TR", "EG",
    "NG", "ZA", "CA", "MX", "AR", "SE", "NO", "FI", "UA", "KZ", "IR", "SA", "KR", "AU",
]  # fmt: skip
FORMER = ["SUHH", "DDDE", "YUCS", "CSHH"]
GIVEN = ["Anna", "Pierre", "Marie", "Jean", "Elena", "Hans", "Sofia", "Luis", "Amina",
         "Kenji", "Olga", "Marco", "Chloé", "Ingrid", "Tomás", "Zeynep", "Ahmed", "Li"]  # fmt: skip
FAMILY = ["Martin", "Bernard", "Dubois", "Schmidt", "Rossi", "García", "Novak", "Kowalski",
          "Johansson", "Silva", "Yilmaz", "Nakamura", "Haddad", "Okafor", "Andersen"]  # fmt: skip
RUSSIAN = ["Сергей Иванов", "Анна Смирнова", "Дмитрий Кузнецов", "Ольга Попова"]
OFFICES = [
    ("head_of_state", "President"),
    ("head_of_government", "Prime Minister"),
    ("foreign_minister", "Minister of Foreign Affairs"),
    ("defence_minister", "Minister of Defence"),
    ("minister", "Minister of Trade"),
    ("ambassador", "Ambassador"),
    ("official", "Director of Political Affairs"),
]
KINDS = ["state_visit", "official_visit", "working_visit", "private_visit", "visit",
         "summit", "ministerial_meeting", "other"]  # fmt: skip
SEGMENT_KINDS = ["restricted", "plenary", "audience", "press_conference", "working_meal"]
WORDS = ["security", "energy", "trade", "culture", "climate", "migration", "arms control",
         "space", "health", "education", "fisheries", "the Arctic", "cyber", "finance"]  # fmt: skip
CITIES = {"FR": "Paris", "RU": "Moscow", "DE": "Berlin", "GB": "London", "US": "Washington"}


def generate(*, sessions: int, persons: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    sources = [
        {
            "url": f"https://archives.example.org/register/{i:04d}",
            "title": f"Register of visits, volume {i + 1}",
            "publisher": "Ministry of Foreign Affairs",
            "language": rng.choice(["fr", "en", "de", "ru"]),
            "published_on": str(1950 + i),
        }
        for i in range(40)
    ]
    urls = [s["url"] for s in sources]

    topics: list[dict[str, Any]] = []
    for i, word in enumerate(WORDS):
        topics.append({"slug": f"topic-{i:02d}", "name": word.capitalize()})
        for j in range(2):
            topics.append(
                {
                    "slug": f"topic-{i:02d}-{j}",
                    "name": f"{word.capitalize()}: aspect {j + 1}",
                    "names": {"fr": f"{word} ({j + 1})"},
                    "parent": f"topic-{i:02d}",
                }
            )

    people: list[dict[str, Any]] = []
    by_country: dict[str, list[dict[str, Any]]] = {}
    for i in range(persons):
        country = COUNTRIES[i % len(COUNTRIES)] if i % 50 else rng.choice(FORMER)
        name = (
            rng.choice(RUSSIAN) if country == "RU" and i % 3 == 0 else
            f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        )  # fmt: skip
        offices = []
        start = 1950 + rng.randrange(70)
        for k in range(rng.randrange(3)):
            role, title = OFFICES[(i + k) % len(OFFICES)]
            offices.append(
                {
                    "title": title if k == 0 else f"{title} ({k + 1})",
                    "role": role,
                    "country": country,
                    "start_date": f"{start + 4 * k}-{rng.randrange(1, 13):02d}",
                    "end_date": str(start + 4 * k + 3),
                    "sources": [rng.choice(urls)] if i % 4 == 0 else [],
                }
            )
        person = {
            "key": f"person-{i:05d}",
            "name": f"{name} {i}",
            "nationality": country,
            "other_names": [{"name": f"{name.upper()} {i}", "lang": "en"}] if i % 5 == 0 else [],
            "identifiers": [{"scheme": "wikidata", "identifier": f"Q{100000 + i}"}]
            if i % 2 == 0
            else [],
            "offices": offices,
            "sources": [rng.choice(urls)] if i % 3 == 0 else [],
        }
        people.append(person)
        by_country.setdefault(country, []).append(person)

    councils = []
    for i in range(20):
        members = rng.sample(COUNTRIES, 2 if i < 15 else 3 + i % 3)
        councils.append(
            {
                "slug": f"council-{i:02d}",
                "acronym": f"C{i:02d}",
                "name": f"Cooperation council {i} of {' and '.join(members)}",
                "kind": "bilateral" if len(members) == 2 else "multilateral",
                "member_countries": members,
                "established_on": str(1950 + i),
                "sources": [urls[i]],
            }
        )

    meetings = []
    ordinals = [0] * len(councils)
    for n in range(sessions):
        day = date(1860, 1, 1) + timedelta(days=rng.randrange(60000))
        end = day + timedelta(days=rng.choice([0, 0, 0, 1, 2]))
        session: dict[str, Any]
        if n % 5 < 2:  # two in five meet in a council
            c = rng.randrange(len(councils))
            council = councils[c]
            ordinals[c] += 1
            parties = list(council["member_countries"])
            guests = [g for g in rng.sample(COUNTRIES, 1) if g not in parties] if n % 7 == 0 else []
            parties += guests
            session = {
                "council": council["slug"],
                "ordinal": ordinals[c] if n % 11 else None,
                "guest_countries": guests,
            }
        else:
            parties = rng.sample(COUNTRIES + FORMER[:1], rng.choice([2, 2, 2, 3, 4]))
            session = {
                "slug": f"meeting-{n:05d}",
                "kind": rng.choice(KINDS),
                "countries": parties,
                "identifiers": [{"scheme": "mfa-register", "identifier": f"V-{n:05d}"}],
                "title": f"Meeting of {' and '.join(parties)} on {rng.choice(WORDS)}",
            }
        host = rng.choice(parties)
        segments = []
        if n % 4 == 0:
            segments = [
                {"key": f"part-{k}", "kind": rng.choice(SEGMENT_KINDS), "date": day.isoformat()}
                for k in range(rng.randrange(1, 4))
            ]
        chosen: dict[str, dict[str, Any]] = {}
        for _ in range(rng.randrange(2, 7)):
            country = rng.choice(parties)
            pool = by_country.get(country) or people
            person = rng.choice(pool)
            chosen.setdefault(
                person["key"],
                {
                    "person": person["key"],
                    "delegation": country,
                    "role": rng.choice(["principal", "delegate", "host", "guest"]),
                    "segments": [s["key"] for s in segments[: rng.randrange(len(segments) + 1)]],
                    "note": "Led the talks." if n % 9 == 0 else None,
                },
            )
        agenda = [
            {"topic": slug, "position": k + 1}
            for k, slug in enumerate(rng.sample([t["slug"] for t in topics], rng.randrange(4)))
        ]
        session |= {
            "start_date": day.isoformat(),
            "end_date": end.isoformat(),
            "location": {"city": CITIES.get(host, f"Capital of {host}"), "country": host},
            "host_country": host,
            "status": "held",
            "summary": f"Talks on {rng.choice(WORDS)} and {rng.choice(WORDS)}." if n % 2 else None,
            "segments": segments,
            "participants": list(chosen.values()),
            "agenda": agenda,
            "sources": [rng.choice(urls)] if n % 3 == 0 else [],
        }
        meetings.append(session)

    return {
        "format": "entente-dataset",
        "version": 1,
        "sources": sources,
        "topics": topics,
        "persons": people,
        "councils": councils,
        "sessions": meetings,
    }


# Records broken so far, so that each error is in a record of its own.
Broken = set[tuple[str, int]]


def _pick(document: dict[str, Any], rng: random.Random, broken: Broken, field: str) -> int:
    """A session not broken yet that has `field` (`slug`: a meeting outside councils)."""
    while True:
        i = rng.randrange(len(document["sessions"]))
        if field in document["sessions"][i] and ("sessions", i) not in broken:
            broken.add(("sessions", i))
            return i


def _meeting(document: dict[str, Any], rng: random.Random, broken: Broken) -> int:
    return _pick(document, rng, broken, "slug")


def _council_session(document: dict[str, Any], rng: random.Random, broken: Broken) -> int:
    return _pick(document, rng, broken, "council")


def _wrong_delegation(document: dict[str, Any], rng: random.Random, broken: Broken) -> str:
    i = _meeting(document, rng, broken)
    document["sessions"][i]["participants"][0]["delegation"] = "VA"
    return f"/sessions/{i}/participants/0/delegation"


def _one_country(document: dict[str, Any], rng: random.Random, broken: Broken) -> str:
    i = _meeting(document, rng, broken)
    session = document["sessions"][i]
    session["countries"] = session["countries"][:1]
    session["participants"] = [
        p for p in session["participants"] if p["delegation"] == session["countries"][0]
    ]
    session["host_country"] = session["countries"][0]
    session["location"]["country"] = session["countries"][0]
    return f"/sessions/{i}/countries"


def _numbered_meeting(document: dict[str, Any], rng: random.Random, broken: Broken) -> str:
    i = _meeting(document, rng, broken)
    document["sessions"][i]["ordinal"] = 3
    return f"/sessions/{i}/ordinal"


def _unknown_person(document: dict[str, Any], rng: random.Random, broken: Broken) -> str:
    i = _pick(document, rng, broken, "start_date")
    document["sessions"][i]["participants"][-1]["person"] = "nobody-at-all"
    return f"/sessions/{i}/participants/{len(document['sessions'][i]['participants']) - 1}/person"


def _ends_before_start(document: dict[str, Any], rng: random.Random, broken: Broken) -> str:
    i = _council_session(document, rng, broken)
    document["sessions"][i]["end_date"] = "1800-01-01"
    return f"/sessions/{i}/end_date"


def _host_not_a_party(document: dict[str, Any], rng: random.Random, broken: Broken) -> str:
    i = _meeting(document, rng, broken)
    session = document["sessions"][i]
    session["host_country"] = next(c for c in COUNTRIES if c not in session["countries"])
    return f"/sessions/{i}/host_country"


def _person_without_name(document: dict[str, Any], rng: random.Random, broken: Broken) -> str:
    i = rng.randrange(len(document["persons"]))
    while ("persons", i) in broken:
        i = rng.randrange(len(document["persons"]))
    broken.add(("persons", i))
    document["persons"][i]["name"] = ""
    return f"/persons/{i}/name"


ERRORS: list[Callable[[dict[str, Any], random.Random, Broken], str]] = [
    _wrong_delegation,
    _one_country,
    _numbered_meeting,
    _unknown_person,
    _ends_before_start,
    _host_not_a_party,
    _person_without_name,
]


def break_rules(document: dict[str, Any], count: int, *, seed: int = 2) -> list[str]:
    """Break `count` rules in `document` (one a record); the pointers of the problems."""
    rng = random.Random(seed)
    broken: Broken = set()
    return [ERRORS[n % len(ERRORS)](document, rng, broken) for n in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--persons", type=int, default=4_000)
    parser.add_argument("--errors", type=int, default=0, help="rules to break")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    document = generate(sessions=args.sessions, persons=args.persons, seed=args.seed)
    if args.errors:
        for pointer in break_rules(document, args.errors):
            print(pointer, file=sys.stderr)
    sys.stdout.buffer.write(orjson.dumps(document))


if __name__ == "__main__":
    main()
