from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Country(Base):
    """ISO 3166 reference data, filled by the migrations from pycountry: the countries of
    ISO 3166-1 by alpha-2 code (plus XK), and the former ones of ISO 3166-3 by their
    four-letter code."""

    __tablename__ = "country"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    alpha_3: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(200))
    official_name: Mapped[str | None] = mapped_column(String(300))
    former: Mapped[bool] = mapped_column(Boolean, default=False)
    # A partial date, as ISO gives it: "1991" or "1990-10-03".
    withdrawn_on: Mapped[str | None] = mapped_column(String(10))
