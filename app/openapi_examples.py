"""The examples of the OpenAPI document, by operation id, that Swagger UI fills in for
*Try it out* and ReDoc shows: each works as it stands on a database that `entente seed`
loaded (the CCQS record), and each problem answer shows a problem. Where an answer is
shown (`ANSWERS`), it is the one the operation gives with its examples on that database.

The seed gives its records the same ids on every new database (app/ids.py), so the ids
below name real records: the 5th and 6th sessions of the CCQS, Sergueï Lavrov and
Vladimir Putin, their offices and places at the 6th session. Where a path takes a slug,
the examples use it. A DELETE example names a record that the POST example creates
(councils, topics, keys) or one whose removal leaves the other examples working; so may a
GET example (General de Gaulle's state visit, recorded by an example of POST /sessions).
"""

from typing import Any

FIFTH_SESSION = "00eb1f58-6000-7000-8000-000000000018"
SIXTH_SESSION = "00eb1f58-6000-7000-8000-000000000019"
LAVROV = "00eb1f58-6000-7000-8000-000000000013"
LAVROV_OFFICE = "00eb1f58-6000-7000-8000-000000000014"
LAVROV_AT_SIXTH = "00eb1f58-6000-7000-8000-000000000020"
PUTIN = "00eb1f58-6000-7000-8000-000000000015"
PUTIN_OFFICE = "00eb1f58-6000-7000-8000-000000000016"
PUTIN_AT_SIXTH = "00eb1f58-6000-7000-8000-000000000021"
ENERGY_SECURITY_AT_SIXTH = "00eb1f58-6000-7000-8000-000000000026"
G8_COOPERATION_AT_SIXTH = "00eb1f58-6000-7000-8000-000000000025"
SOURCE = "00eb1f58-6000-7000-8000-000000000001"

NEW_COUNCIL = "franco-german-council"
NEW_VISIT = "1966-06-de-gaulle-ussr"
NEW_TOPIC = "arctic"
NEW_KEY = "editor-anna"

# Parameter values by operation id, then parameter name.
PARAMETERS: dict[str, dict[str, Any]] = {
    "councils_list": {"country": ["FR"]},
    "councils_get": {"council": "ccqs"},
    "councils_update": {"council": "ccqs"},
    "councils_delete": {"council": NEW_COUNCIL},
    "councils_sessions_list": {"council": "ccqs"},
    "councils_timeline": {"council": "ccqs"},
    "sessions_list": {"topic": "energy-security"},
    "sessions_update": {"session_id": SIXTH_SESSION},
    "sessions_delete": {"session_id": FIFTH_SESSION},
    "participants_list": {"session_id": SIXTH_SESSION},
    "participants_create": {"session_id": FIFTH_SESSION},
    "participants_get": {"session_id": SIXTH_SESSION, "participation_id": LAVROV_AT_SIXTH},
    "participants_update": {"session_id": SIXTH_SESSION, "participation_id": LAVROV_AT_SIXTH},
    "participants_delete": {"session_id": SIXTH_SESSION, "participation_id": PUTIN_AT_SIXTH},
    "agenda_list": {"session_id": SIXTH_SESSION},
    "agenda_create": {"session_id": FIFTH_SESSION},
    "agenda_get": {"session_id": SIXTH_SESSION, "item_id": ENERGY_SECURITY_AT_SIXTH},
    "agenda_update": {"session_id": SIXTH_SESSION, "item_id": ENERGY_SECURITY_AT_SIXTH},
    "agenda_delete": {"session_id": SIXTH_SESSION, "item_id": G8_COOPERATION_AT_SIXTH},
    "persons_list": {"q": "sergey lavrov"},
    "persons_get": {"person_id": LAVROV},
    "persons_update": {"person_id": LAVROV},
    "persons_delete": {"person_id": PUTIN, "cascade": True},
    "persons_sessions_list": {"person_id": LAVROV},
    "persons_counterparts_list": {"person_id": LAVROV},
    "offices_list": {"person_id": LAVROV},
    "offices_create": {"person_id": LAVROV},
    "offices_get": {"person_id": LAVROV, "office_id": LAVROV_OFFICE},
    "offices_update": {"person_id": LAVROV, "office_id": LAVROV_OFFICE},
    "offices_delete": {"person_id": PUTIN, "office_id": PUTIN_OFFICE},
    "topics_list": {"parent": "regional-issues"},
    "topics_get": {"topic": "energy-security"},
    "topics_update": {"topic": "energy-security"},
    "topics_delete": {"topic": NEW_TOPIC},
    "topics_sessions_list": {"topic": "energy-security"},
    "sources_get": {"source_id": SOURCE},
    "sources_update": {"source_id": SOURCE},
    "sources_delete": {"source_id": SOURCE, "cascade": True},
    "countries_partners_list": {"code": "FR"},
    "relations_get": {"a": "FR", "b": "RU"},
    "relations_sessions_list": {"a": "FR", "b": "RU"},
    "search": {"q": "Lavrov"},
    "history_list": {"resource": "sessions", "record_id": SIXTH_SESSION},
    "audit_list": {"entity": "session"},
    "keys_get": {"name": NEW_KEY},
    "keys_revoke": {"name": NEW_KEY},
}

# Parameters with several named examples (Swagger UI offers them in a list), by operation
# id, then parameter name, then example name: (summary, value).
NAMED_PARAMETERS: dict[str, dict[str, dict[str, tuple[str, Any]]]] = {
    "sessions_get": {
        "session_id": {
            "council-session": ("The 6th session of the CCQS, by its id", SIXTH_SESSION),
            "state-visit": (
                "General de Gaulle's state visit to the USSR, by its slug (recorded by the "
                "example of POST /sessions)",
                NEW_VISIT,
            ),
        }
    },
    "countries_get": {
        "code": {
            "country": ("France", "FR"),
            "former-country": ("The USSR, a former country (ISO 3166-3)", "SUHH"),
        }
    },
}

# Request bodies by operation id: (summary, value).
BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "councils_create": (
        "A bilateral council of France and Germany",
        {
            "slug": NEW_COUNCIL,
            "acronym": "CFADS",
            "name": "Franco-German Defence and Security Council",
            "names": {
                "fr": "Conseil franco-allemand de défense et de sécurité",
                "de": "Deutsch-Französischer Verteidigungs- und Sicherheitsrat",
            },
            "kind": "bilateral",
            "member_countries": ["DE", "FR"],
            "established_on": "1988-01-22",
            "status": "active",
        },
    ),
    "councils_update": (
        "Give the CCQS its acronym (unchanged here)",
        {"acronym": "CCQS"},
    ),
    "sessions_create": (
        "A 7th session of the CCQS, in Paris",
        {
            "council_id": "ccqs",
            "ordinal": 7,
            "start_date": "2008-02-14",
            "location": {"city": "Paris", "country": "FR"},
            "host_country": "FR",
            "timezone": "Europe/Paris",
        },
    ),
    "sessions_update": (
        "Say that the 6th session lasted one day (unchanged here)",
        {"end_date": "2007-02-21"},
    ),
    "participants_create": (
        "Sergueï Lavrov at the 5th session, for Russia",
        {"person_id": LAVROV, "delegation": "RU", "role": "principal"},
    ),
    "participants_update": (
        "A note on Sergueï Lavrov's part in the 6th session",
        {"note": "Leads the talks for Russia with the Minister of Defence."},
    ),
    "agenda_create": (
        "Energy security on the agenda of the 5th session",
        {"topic_id": "energy-security", "note": "Gas supplies to Europe."},
    ),
    "agenda_update": (
        "The wording the 6th session used for the item",
        {"title": "Energy security"},
    ),
    "persons_create": (
        "A French minister of Foreign Affairs",
        {
            "name": "Hubert Védrine",
            "honorific_prefix": "Monsieur",
            "given_name": "Hubert",
            "family_name": "Védrine",
            "nationality": "FR",
        },
    ),
    "persons_update": (
        "Add the Russian spelling of Sergueï Lavrov's name",
        {
            "other_names": [
                {"name": "Сергей Викторович Лавров", "lang": "ru", "note": "Full name"},
            ]
        },
    ),
    "offices_create": (
        "Sergueï Lavrov's post at the United Nations",
        {
            "title": "Permanent Representative of Russia to the United Nations",
            "role": "ambassador",
            "country": "RU",
            "organization": "United Nations",
            "start_date": "1994",
            "end_date": "2004-03",
        },
    ),
    "offices_update": (
        "The day Sergueï Lavrov became minister of Foreign Affairs",
        {"start_date": "2004-03-09"},
    ),
    "topics_create": (
        "A narrower topic of the regional issues",
        {
            "slug": NEW_TOPIC,
            "name": "The Arctic",
            "names": {"fr": "L'Arctique", "en": "The Arctic"},
            "parent_id": "regional-issues",
        },
    ),
    "topics_update": (
        "Describe the topic",
        {"description": "Supplies of oil and gas, their transit, and energy infrastructure."},
    ),
    "sources_create": (
        "A press release on the 6th session",
        {
            "url": "https://example.org/ccqs/2007-02-21-press-release",
            "title": "6th session of the CCQS: press release",
            "language": "en",
            "published_on": "2007-02-21",
        },
    ),
    "sources_update": (
        "The language the source is written in",
        {"language": "fr"},
    ),
    "dataset_import": (
        "A topic, added by its slug (an upsert: a second import changes nothing)",
        {
            "format": "entente-dataset",
            "version": 1,
            "sources": [],
            "topics": [
                {
                    "slug": "space-cooperation",
                    "name": "Cooperation in space",
                    "names": {"fr": "Coopération spatiale"},
                }
            ],
            "persons": [],
            "councils": [],
            "sessions": [],
        },
    ),
    "keys_create": (
        "A key for an editor",
        {"name": NEW_KEY, "scope": "write"},
    ),
}


# More request bodies of an operation, after the one above, by name: (summary, value).
MORE_BODIES: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
    "sessions_create": {
        "state-visit": (
            "A meeting outside councils: General de Gaulle's state visit to the USSR",
            {
                "kind": "state_visit",
                "title": "State visit of General de Gaulle to the USSR",
                "countries": ["FR", "SUHH"],
                "host_country": "SUHH",
                "start_date": "1966-06-20",
                "end_date": "1966-07-01",
                "location": {"city": "Moscow", "country": "SUHH"},
                "timezone": "Europe/Moscow",
                "slug": NEW_VISIT,
                "identifiers": [{"scheme": "example-register", "identifier": "FR-SU-1966-06"}],
                "summary": "Talks in Moscow with Leonid Brezhnev and Alexei Kosygin; visits to "
                "Leningrad, Kyiv, Volgograd, Novosibirsk and the Baikonur cosmodrome.",
            },
        )
    },
}


def _sat(number: int, name: str, nationality: str) -> dict[str, Any]:
    """An entry of a relation's `people`: one of the seed's people, at one session."""
    person = {"id": f"00eb1f58-6000-7000-8000-{number:012x}", "name": name}
    return {
        "person": person | {"nationality": nationality},
        "delegation": nationality,
        "sessions": 1,
    }


def _discussed(number: int, slug: str, en: str, fr: str) -> dict[str, Any]:
    """An entry of a relation's `topics`: one of the seed's topics, at one session."""
    topic = {"id": f"00eb1f58-6000-7000-8000-{number:012x}", "slug": slug, "name": en}
    return {"topic": topic | {"names": {"fr": fr, "en": en}}, "sessions": 1}


# France and Russia in the seed: the 5th and 6th CCQS sessions (only the 6th has its
# participants and agenda recorded).
RELATION_FR_RU = {
    "countries": ["FR", "RU"],
    "sessions": 2,
    "first_date": "2005-10-11",
    "last_date": "2007-02-21",
    "by_year": [
        {"year": 2005, "sessions": 1},
        {"year": 2006, "sessions": 0},
        {"year": 2007, "sessions": 1},
    ],
    "by_kind": {"council_session": 2},
    "councils": [
        {
            "id": "00eb1f58-6000-7000-8000-000000000017",
            "slug": "ccqs",
            "acronym": "CCQS",
            "name": "Franco-Russian Cooperation Council on Security Issues",
        }
    ],
    "people": [
        _sat(13, "Michèle Alliot-Marie", "FR"),
        _sat(15, "Philippe Douste-Blazy", "FR"),
        _sat(17, "Anatoli Serdioukov", "RU"),
        _sat(19, "Sergueï Lavrov", "RU"),
        _sat(21, "Vladimir Poutine", "RU"),
    ],
    "topics": [
        _discussed(
            2,
            "european-security-architecture",
            "European security architecture",
            "Architecture de sécurité en Europe",
        ),
        _discussed(
            3, "g8-cooperation", "Cooperation within the G8", "Coopération dans le cadre du G8"
        ),
        _discussed(4, "energy-security", "Energy security", "Sécurité énergétique"),
        _discussed(
            5,
            "wmd-non-proliferation",
            "Fight against the proliferation of weapons of mass destruction",
            "Lutte contre la prolifération des armes de destruction massive",
        ),
        _discussed(6, "regional-issues", "Regional issues", "Grands dossiers régionaux"),
        _discussed(
            7, "nato-russia-relations", "NATO\u2013Russia relations", "Relations OTAN-Russie"
        ),
        _discussed(
            8,
            "eu-russia-relations-esdp",
            "EU\u2013Russia relations within the ESDP",
            "Relations Union européenne-Russie dans le cadre de la PESD",
        ),
        _discussed(9, "afghanistan", "Afghanistan", "Afghanistan"),
        _discussed(10, "near-and-middle-east", "Near and Middle East", "Proche et Moyen-Orient"),
        _discussed(11, "kosovo", "Kosovo", "Kosovo"),
        _discussed(12, "frozen-conflicts", "Frozen conflicts", "Conflits gelés"),
    ],
}

# Answers by operation id: (summary, value), each what the operation answers with its
# parameters' examples on the seeded database.
ANSWERS: dict[str, tuple[str, dict[str, Any]]] = {
    "relations_get": ("France and Russia in the CCQS record", RELATION_FR_RU),
}


def _problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail} | extra


# One example problem for each status an operation documents.
PROBLEMS: dict[str, dict[str, Any]] = {
    "400": _problem(
        400,
        "bad-request",
        "Bad request",
        "Send API keys in the Authorization header, never in the URL.",
    ),
    "401": _problem(401, "unauthorized", "Unauthorized", "The API key is unknown or revoked."),
    "403": _problem(403, "forbidden", "Forbidden", "The key 'reader' lacks the 'write' scope."),
    "404": _problem(
        404, "not-found", "Not found", f"No session has the id '{SIXTH_SESSION[:-2]}99'."
    ),
    "409": _problem(409, "conflict", "Conflict", "The council already has a session numbered 6."),
    "412": _problem(
        412,
        "precondition-failed",
        "Precondition failed",
        "The record changed since the ETag given in If-Match.",
    ),
    "413": _problem(
        413, "payload-too-large", "Payload too large", "The body is larger than 1048576 bytes."
    ),
    "415": _problem(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        "Send the body as application/json.",
    ),
    "422": _problem(
        422,
        "validation-error",
        "Validation error",
        "The request is invalid.",
        errors=[
            {"pointer": "/start_date", "message": "Input should be a valid date"},
            {"pointer": "/query/limit", "message": "Input should be less than or equal to 200"},
        ],
    ),
    "429": _problem(
        429, "too-many-requests", "Too many requests", "Too many requests: retry in 12 seconds."
    ),
    "503": _problem(
        503,
        "service-unavailable",
        "Service unavailable",
        "The database cannot be reached; try again shortly.",
    ),
}


def apply(schema: dict[str, Any]) -> None:
    """Put the examples into the document's operations, parameters and problem answers."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            operation_id = operation.get("operationId")
            values = PARAMETERS.get(operation_id, {})
            named = NAMED_PARAMETERS.get(operation_id, {})
            for parameter in operation.get("parameters", []):
                if parameter["name"] in values:
                    parameter["example"] = values[parameter["name"]]
                elif parameter["name"] in named:
                    parameter["examples"] = _examples(named[parameter["name"]])
            if operation_id in BODIES and "requestBody" in operation:
                media = operation["requestBody"]["content"]["application/json"]
                bodies = {"seeded": BODIES[operation_id]} | MORE_BODIES.get(operation_id, {})
                media["examples"] = _examples(bodies)
            if operation_id in ANSWERS:
                media = operation["responses"]["200"]["content"]["application/json"]
                media["examples"] = _examples({"seeded": ANSWERS[operation_id]})
            for status, response in operation.get("responses", {}).items():
                problem = response.get("content", {}).get("application/problem+json")
                if problem is not None and status in PROBLEMS:
                    problem["example"] = PROBLEMS[status]


def _examples(named: dict[str, tuple[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {"summary": summary, "value": value} for name, (summary, value) in named.items()}
