"""Field types shared by every resource's schemas: the contract's rules for text, dates,
countries and languages, enforced once."""

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any

import pycountry
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema

# Kosovo has no ISO 3166-1 code yet; `XK` is the user-assigned code that the EU, the IMF
# and ISO itself use for it.
EXTRA_COUNTRIES = {"XK": ("XKX", "Kosovo", "Republic of Kosovo")}
# Countries of the past (ISO 3166-3) by their four-letter code: `SUHH` the USSR, `DDDE`
# the GDR. Their alpha-2 codes were withdrawn, and some given again to other countries
# (`CS`), so the four letters are the only code that names each of them for good.
FORMER_COUNTRIES = {c.alpha_4: c for c in pycountry.historic_countries}
COUNTRY_CODES = (
    frozenset(c.alpha_2 for c in pycountry.countries)
    | EXTRA_COUNTRIES.keys()
    | FORMER_COUNTRIES.keys()
)
COUNTRY_CODE_DESCRIPTION = (
    "ISO 3166-1 alpha-2, XK (Kosovo), or the ISO 3166-3 code of a former country (SUHH)."
)


def country_name(code: str) -> str:
    """The short English name of a country code that COUNTRY_CODES holds."""
    if code in EXTRA_COUNTRIES:
        return EXTRA_COUNTRIES[code][1]
    if code in FORMER_COUNTRIES:
        return str(FORMER_COUNTRIES[code].name)
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


# Dates outside this range are almost always typing errors (0001-01-01, 9999-12-31), and
# keeping them out means every database and client can represent every stored date.
MIN_YEAR, MAX_YEAR = 1000, 2999
# Events are dated closer: registers of visits begin in the 1860s.
FIRST_EVENT_DATE, LAST_EVENT_DATE = date(1800, 1, 1), date(2199, 12, 31)


# Invisible characters that change how the text around them is shown: C0/C1 controls
# (but tab and line breaks) and the bidirectional embeddings, overrides and isolates,
# with which "Lavrov" can be made to display as another name.
_HIDDEN_CONTROLS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _clean_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if "\x00" in value:
        raise ValueError("Text must not contain NUL characters.")
    if _HIDDEN_CONTROLS.search(value):
        raise ValueError("Text must not contain control or bidirectional override characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Text must be valid Unicode (no unpaired surrogates).") from None
    # One normalization form, so that "é" typed as one code point or two is one name.
    return unicodedata.normalize("NFC", value)


_TEXT = BeforeValidator(_clean_text)
# Each length fits the column that stores it.
Acronym = Annotated[str, _TEXT, StringConstraints(strict=True, min_length=1, max_length=50)]
TinyText = Annotated[str, _TEXT, StringConstraints(strict=True, min_length=1, max_length=100)]
ShortText = Annotated[str, _TEXT, StringConstraints(strict=True, min_length=1, max_length=200)]
Name = Annotated[str, _TEXT, StringConstraints(strict=True, min_length=1, max_length=500)]
LongText = Annotated[str, _TEXT, StringConstraints(strict=True, min_length=1, max_length=20_000)]
Url = Annotated[
    str,
    _TEXT,
    StringConstraints(strict=True, max_length=2000, pattern=r"^https?://[^\s]+$"),
]
Slug = Annotated[
    str,
    StringConstraints(
        strict=True, min_length=1, max_length=100, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$"
    ),
]
LanguageTag = Annotated[
    str,
    StringConstraints(strict=True, max_length=35, pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$"),
]


def _country(value: Any) -> Any:
    if isinstance(value, str) and value not in COUNTRY_CODES:
        raise ValueError(
            f"'{value}' is not a country code: ISO 3166-1 alpha-2 (FR), XK, "
            "or ISO 3166-3 for a former country (SUHH)."
        )
    return value


COUNTRY_CODE_PATTERN = r"^[A-Z]{2}([A-Z]{2})?$"
CountryCode = Annotated[
    str,
    StringConstraints(strict=True, pattern=COUNTRY_CODE_PATTERN),
    AfterValidator(_country),
    WithJsonSchema(
        {"type": "string", "enum": sorted(COUNTRY_CODES), "description": COUNTRY_CODE_DESCRIPTION}
    ),
]

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?\Z")
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"The year must be between {MIN_YEAR} and {MAX_YEAR}.")


def _partial_date(value: Any) -> Any:
    if not isinstance(value, str) or not (match := _PARTIAL_DATE.match(value)):
        raise ValueError("A partial date is YYYY, YYYY-MM or YYYY-MM-DD.")
    year, month, day = match.groups()
    _check_year(int(year))
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"'{value}' is not a real date.") from None
    return value


def _event_date(value: Any) -> Any:
    # Strict on purpose: pydantic would otherwise read 1171065600 or "20070221" as a date.
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _FULL_DATE.match(value):
        raise ValueError("A date is YYYY-MM-DD.")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a real date.") from None
    return parsed


def _within_event_range(value: date) -> date:
    if not FIRST_EVENT_DATE <= value <= LAST_EVENT_DATE:
        raise ValueError(f"An event is dated from {FIRST_EVENT_DATE} to {LAST_EVENT_DATE}.")
    return value


def _rfc3339(value: Any) -> Any:
    # Strict: an RFC 3339 string with its offset; no Unix times, no naive local times.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("A time is RFC 3339 with an offset, e.g. 2007-02-21T09:00:00Z.")
    return datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))


_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})\Z"
)
Rfc3339 = Annotated[datetime, BeforeValidator(_rfc3339)]
PartialDate = Annotated[
    str,
    BeforeValidator(_partial_date),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$",
            "maxLength": 10,
            "description": "A partial date: YYYY, YYYY-MM or YYYY-MM-DD.",
        }
    ),
]
EventDate = Annotated[
    date,
    BeforeValidator(_event_date),
    AfterValidator(_within_event_range),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": r"^\d{4}-\d{2}-\d{2}$",
            "description": f"From {FIRST_EVENT_DATE} to {LAST_EVENT_DATE}.",
        }
    ),
]

Labels = Annotated[
    dict[LanguageTag, Name],
    Field(max_length=50, description="Labels by BCP 47 language tag."),
]


def _no_repeats(items: list[str]) -> list[str]:
    if len(set(items)) != len(items):
        raise ValueError("A country is listed twice.")
    return items


CountryList = Annotated[list[CountryCode], Field(max_length=250), AfterValidator(_no_repeats)]
# A reference to another record by id (or, where said, by slug): checked like text so that
# NUL and broken Unicode are a 422, never a database error.
RecordRef = Annotated[str, _TEXT, StringConstraints(strict=True, min_length=1, max_length=100)]
IdList = Annotated[list[RecordRef], Field(max_length=200)]


def partial_date_bounds(value: str | None) -> tuple[date, date] | None:
    """The first and last day a partial date may stand for: "2005" is 2005-01-01..12-31."""
    if value is None:
        return None
    year, _, rest = value.partition("-")
    month, _, day = rest.partition("-")
    first = date(int(year), int(month or 1), int(day or 1))
    if day:
        return first, first
    if month:
        following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        return first, date.fromordinal(following.toordinal() - 1)
    return first, date(first.year, 12, 31)
