"""Base classes of request and response bodies, and the pieces that several resources share."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from app.errors import ValidationFailed


class InputModel(BaseModel):
    """A request body: unknown and read-only fields are refused (422)."""

    model_config = ConfigDict(extra="forbid")


class ReadModel(BaseModel):
    """A response body. Used to document the API and to check responses in tests; hot reads
    build the JSON directly from SQL rows."""


# How times and dates look on the wire, documented with their formats so that generated
# clients parse them (the read models keep them as the strings the API sends).
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
DateText = Annotated[str, Field(json_schema_extra={"format": "date"})]


def _omit_null(schema: dict[str, Any]) -> None:
    options = schema.get("anyOf")
    if options:
        rest = [option for option in options if option.get("type") != "null"]
        if len(rest) == 1:
            del schema["anyOf"]
            schema.update(rest[0])
        else:
            schema["anyOf"] = rest


# A PATCH field that may be left out but not set to null (see reject_nulls): documented
# as non-null, so that clients and fuzzers know null is refused.
NOT_NULL = Field(json_schema_extra=_omit_null)


def reject_nulls(update: BaseModel, fields: tuple[str, ...]) -> None:
    """PATCH may leave a required field out, but not set it to null."""
    errors = [
        (f"/{name}", "This field cannot be null.")
        for name in fields
        if name in update.model_fields_set and getattr(update, name) is None
    ]
    if errors:
        raise ValidationFailed("The update has invalid fields.", errors=errors)


def changes(update: BaseModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    """The fields a PATCH body actually sets, as column values."""
    return update.model_dump(exclude_unset=True, exclude=exclude or set(), mode="python")


def rfc3339(moment: datetime) -> str:
    """UTC with a `Z`; SQLite hands timestamps back naive, and they are UTC too."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_date(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
