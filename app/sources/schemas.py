from typing import Annotated

from pydantic import Field

from app.schemas import NOT_NULL, InputModel, ReadModel, Timestamp
from app.types import LanguageTag, LongText, Name, PartialDate, Url


class SourceCreate(InputModel):
    url: Url = Field(examples=["http://www.spyworld-actu.com/spip.php?article3747"])
    title: Name | None = Field(None, examples=["Conseil de coopération franco-russe"])
    publisher: Name | None = Field(None, examples=["Spyworld Actu"])
    language: LanguageTag | None = Field(None, examples=["fr"])
    published_on: PartialDate | None = Field(None, examples=["2007-02-21"])
    online_on: PartialDate | None = Field(None, examples=["2007-02-20"])
    note: LongText | None = None


class SourceUpdate(InputModel):
    url: Annotated[Url | None, NOT_NULL] = None
    title: Name | None = None
    publisher: Name | None = None
    language: LanguageTag | None = None
    published_on: PartialDate | None = None
    online_on: PartialDate | None = None
    note: LongText | None = None


class SourceRead(ReadModel):
    id: str
    url: str
    title: str | None
    publisher: str | None
    language: str | None
    published_on: str | None
    online_on: str | None
    note: str | None
    created_at: Timestamp
    updated_at: str
