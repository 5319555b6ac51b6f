"""Sessions as calendars (RFC 5545, with the icalendar library), spreadsheets (CSV) and
linked data (schema.org Event in JSON-LD)."""

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import anyio
from icalendar import Calendar, Event, vCalAddress, vText

from app.types import country_name

ICS_STATUS = {
    "planned": "CONFIRMED",
    "held": "CONFIRMED",
    "postponed": "TENTATIVE",
    "cancelled": "CANCELLED",
}
ICS_ROLE = {
    "principal": "REQ-PARTICIPANT",
    "delegate": "REQ-PARTICIPANT",
    "host": "CHAIR",
    "guest": "OPT-PARTICIPANT",
    "observer": "NON-PARTICIPANT",
}
SCHEMA_STATUS = {
    "planned": "EventScheduled",
    "held": "EventScheduled",
    "postponed": "EventPostponed",
    "cancelled": "EventCancelled",
}


def place(location: dict[str, Any]) -> str:
    """ "Kremlin, Moscow, Russian Federation": the parts that are known."""
    country = location["country"]
    parts = [location["venue"], location["city"], country and country_name(country)]
    return ", ".join(p for p in parts if p)


def person_urn(person_id: str) -> str:
    return f"urn:entente:person:{person_id}"


async def calendar(
    batches: AsyncIterator[list[dict[str, Any]]], *, name: str, base_url: str
) -> AsyncIterator[bytes]:
    """One VEVENT a session: all-day dates (DTEND the day after the last, as RFC 5545 has
    it), a stable UID, the place, an ATTENDEE a participant, CATEGORIES from the agenda.
    Written as the batches of sessions come, one batch at a time, each in a worker thread
    (`_off_the_loop`)."""
    cal = Calendar()
    cal.add("prodid", "-//Entente//Entente API//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    head, end, _ = cal.to_ical().partition(b"END:VCALENDAR")
    yield head
    async for sessions in batches:
        yield await _off_the_loop(_events, sessions, base_url)
    yield end + b"\r\n"


async def _off_the_loop(write: Callable[..., bytes], *args: Any) -> bytes:
    """`write(*args)` in a worker thread. Writing a batch is long CPU work (icalendar's
    most of all): in the event loop it would hold every other request of the worker
    until done; in a thread, Python lets the loop run every few milliseconds (bench/NOTES.md,
    "Whole calendars and spreadsheets")."""
    return await anyio.to_thread.run_sync(write, *args)


def _events(sessions: list[dict[str, Any]], base_url: str) -> bytes:
    return b"".join(_event(s, base_url).to_ical() for s in sessions)


def _event(s: dict[str, Any], base_url: str) -> Event:
    event = Event()
    event.add("uid", f"session-{s['id']}@entente")
    event.add("dtstamp", datetime.fromisoformat(s["updated_at"].replace("Z", "+00:00")))
    event.add("dtstart", date.fromisoformat(s["start_date"]))
    event.add("dtend", date.fromisoformat(s["end_date"]) + timedelta(days=1))
    event.add("summary", s["title"])
    event.add("status", ICS_STATUS[s["status"]])
    event.add("url", f"{base_url}/sessions/{s['id']}")
    if where := place(s["location"]):
        event.add("location", where)
    if s["summary"]:
        event.add("description", s["summary"])
    if s["topics"]:
        event.add("categories", s["topics"])
    for p in s["participants"]:
        attendee = vCalAddress(person_urn(p["person_id"]))
        attendee.params["cn"] = vText(p["name"])
        attendee.params["role"] = vText(ICS_ROLE[p["role"]])
        event.add("attendee", attendee, encode=False)
    return event


CSV_COLUMNS = (
    "id",
    "council",
    "ordinal",
    "title",
    "start_date",
    "end_date",
    "timezone",
    "city",
    "country",
    "venue",
    "host_country",
    "status",
    "participants",
    "topics",
    "summary",
    "kind",
    "countries",
)


# A spreadsheet takes a cell beginning with these for a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A value as a spreadsheet should show it: text that would start a formula gets a
    leading single quote, which spreadsheets show as text (OWASP's advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


async def spreadsheet(batches: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[bytes]:
    """One row a session; several values in a cell are separated by "; ". Text that a
    spreadsheet would run as a formula is quoted (`cell`). Written as the batches of
    sessions come, one batch at a time, each in a worker thread (`_off_the_loop`)."""
    yield _rows([CSV_COLUMNS])
    async for sessions in batches:
        yield await _off_the_loop(_sheet, sessions)


def _sheet(sessions: list[dict[str, Any]]) -> bytes:
    return _rows(_row(s) for s in sessions)


def _rows(rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _row(s: dict[str, Any]) -> list[Any]:
    row = (
        s["id"],
        s["council"] and s["council"]["slug"],
        s["ordinal"],
        s["title"],
        s["start_date"],
        s["end_date"],
        s["timezone"],
        s["location"]["city"],
        s["location"]["country"],
        s["location"]["venue"],
        s["host_country"],
        s["status"],
        "; ".join(p["name"] for p in s["participants"]),
        "; ".join(s["topics"]),
        s["summary"],
        s["kind"],
        "; ".join(s["countries"]),
    )
    return [cell(value) for value in row]


def linked_data(session: dict[str, Any], *, base_url: str) -> dict[str, Any]:
    """The session as a schema.org Event, part of its council's EventSeries (a meeting
    outside councils is part of none)."""
    council = session["council"]
    location = session["location"]
    series = council and {
        "@type": "EventSeries",
        "@id": f"{base_url}/councils/{council['id']}",
        "name": council["name"],
        "alternateName": council["acronym"],
    }
    return {
        "@context": "https://schema.org",
        "@type": "Event",
        "@id": f"{base_url}/sessions/{session['id']}",
        "identifier": session["id"],
        "name": session["title"],
        "description": session["summary"],
        "startDate": session["start_date"],
        "endDate": session["end_date"],
        "eventStatus": f"https://schema.org/{SCHEMA_STATUS[session['status']]}",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "location": {
            "@type": "Place",
            "name": place(location) or None,
            "address": {
                "@type": "PostalAddress",
                "addressLocality": location["city"],
                "addressCountry": location["country"],
            },
        },
        "superEvent": series,
        "subEvent": [
            {
                "@type": "Event",
                "identifier": segment["id"],
                "name": segment["title"] or segment["kind"],
                "additionalType": segment["kind"],
                "startDate": segment["date"] or session["start_date"],
                "description": segment["description"],
            }
            for segment in session["segments"]
        ],
        "attendee": [
            {
                "@type": "Person",
                "@id": person_urn(p["person_id"]),
                "name": p["person"]["name"],
                "jobTitle": p["title_at_time"],
                "affiliation": {
                    "@type": "Country",
                    "identifier": p["delegation"],
                    "name": country_name(p["delegation"]),
                },
            }
            for p in session["participants"]
        ],
        "about": [
            {
                "@type": "DefinedTerm",
                "@id": f"{base_url}/topics/{a['topic']['slug']}",
                "name": a["topic"]["name"],
                "termCode": a["topic"]["slug"],
            }
            for a in session["agenda"]
        ],
        "citation": [s["url"] for s in session["sources"]],
    }
