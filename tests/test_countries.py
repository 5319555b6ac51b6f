"""Countries: ISO 3166-1 alpha-2 reference data (plus XK), /countries and /countries/{code}."""

from typing import Any

import httpx
import pycountry
import pytest

from app.countries.router import CountryRead

ISO_CODES = {country.alpha_2 for country in pycountry.countries}


def validated_country(body: dict[str, Any]) -> CountryRead:
    """The body read through CountryRead, which must list exactly its fields."""
    assert body.keys() == CountryRead.model_fields.keys()
    return CountryRead.model_validate(body)


async def walk(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every country, following `next_cursor` from the first page to the last."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await client.get(
            "/countries", params=params | ({"cursor": cursor} if cursor else {})
        )
        assert response.status_code == 200
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            return items
        assert response.headers["link"].endswith('; rel="next"')


async def test_countries_are_iso_3166_alpha_2_plus_kosovo(client: httpx.AsyncClient) -> None:
    countries = await walk(client, limit=200, former="false")
    codes = [country["code"] for country in countries]
    assert codes == sorted(codes)
    assert set(codes) == ISO_CODES | {"XK"}
    assert len(codes) == len(set(codes))
    for country in countries:
        validated_country(country)
        assert country["former"] is False
    kosovo = next(country for country in countries if country["code"] == "XK")
    assert kosovo == {
        "code": "XK",
        "alpha_3": "XKX",
        "name": "Kosovo",
        "official_name": "Republic of Kosovo",
        "former": False,
        "withdrawn_on": None,
    }


async def test_former_countries_are_listed_with_the_date_they_ceased(
    client: httpx.AsyncClient,
) -> None:
    """ISO 3166-3 as pycountry has it: four letters each, listed after today's unless
    `?former=false`, alone with `?former=true`."""
    former = await walk(client, limit=200, former="true")
    assert {c["code"] for c in former} == {c.alpha_4 for c in pycountry.historic_countries}
    assert {"SUHH", "DDDE", "YUCS", "CSHH"} <= {c["code"] for c in former}
    ussr = next(c for c in former if c["code"] == "SUHH")
    assert ussr["former"] is True
    assert ussr["name"] == "USSR, Union of Soviet Socialist Republics"
    assert ussr["withdrawn_on"] == "1992-08-30"
    every = {c["code"] for c in await walk(client, limit=200)}
    assert every == ISO_CODES | {"XK"} | {c["code"] for c in former}
    assert (await client.get("/countries/suhh")).json() == ussr
    assert (await client.get("/countries", params={"former": "maybe"})).status_code == 422


async def test_countries_are_paginated_by_fifty(client: httpx.AsyncClient) -> None:
    first = await client.get("/countries")
    page = first.json()
    assert len(page["items"]) == 50
    assert page["items"][0]["code"] == "AD"
    assert page["next_cursor"] is not None
    assert 'rel="next"' in first.headers["link"]
    second = (await client.get("/countries", params={"cursor": page["next_cursor"]})).json()
    assert len(second["items"]) == 50
    assert second["items"][0]["code"] > page["items"][-1]["code"]
    # The Link header leads to the same next page.
    next_url = first.headers["link"].removeprefix("<").removesuffix('>; rel="next"')
    assert (await client.get(next_url)).json() == second
    # Walking the default pages gives the same list as one big page.
    assert await walk(client) == await walk(client, limit=200)


@pytest.mark.parametrize("limit", [0, 201, -1, "all"])
async def test_countries_limit_is_checked(client: httpx.AsyncClient, limit: Any) -> None:
    response = await client.get("/countries", params={"limit": limit})
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/query/limit"]


async def test_altered_cursor_is_400(client: httpx.AsyncClient) -> None:
    cursor = (await client.get("/countries", params={"limit": 10})).json()["next_cursor"]
    payload, _, signature = cursor.partition(".")
    assert (
        await client.get("/countries", params={"limit": 10, "cursor": payload})
    ).status_code == 400
    forged = f"{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{signature}"
    response = await client.get("/countries", params={"limit": 10, "cursor": forged})
    assert response.status_code == 400
    # A cursor is bound to its list's parameters.
    assert (
        await client.get("/countries", params={"limit": 20, "cursor": cursor})
    ).status_code == 400


@pytest.mark.parametrize("code", ["FR", "fr", "Fr"])
async def test_country_by_code_in_either_case(client: httpx.AsyncClient, code: str) -> None:
    response = await client.get(f"/countries/{code}")
    assert response.status_code == 200
    country = validated_country(response.json())
    assert (country.code, country.alpha_3, country.name) == ("FR", "FRA", "France")


async def test_kosovo_and_russia_by_code(client: httpx.AsyncClient) -> None:
    assert (await client.get("/countries/xk")).json()["name"] == "Kosovo"
    russia = validated_country((await client.get("/countries/RU")).json())
    assert (russia.alpha_3, russia.name) == ("RUS", "Russian Federation")


@pytest.mark.parametrize(
    "code", ["ZZ", "zz", "FRA", "F", "250", "00001", "-1", "9223372036854775808"]
)
async def test_unknown_country_is_404(client: httpx.AsyncClient, code: str) -> None:
    response = await client.get(f"/countries/{code}")
    assert response.status_code == 404
    assert code in response.json()["detail"]


async def test_country_path_with_nul_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/countries/%00")).status_code == 404


async def test_countries_are_read_only(client: httpx.AsyncClient) -> None:
    assert (await client.post("/countries", json={"code": "ZZ"})).status_code == 405
    assert (await client.patch("/countries/FR", json={"name": "Gaule"})).status_code == 405
    assert (await client.delete("/countries/FR")).status_code == 405
    assert (await client.get("/countries/FR")).json()["name"] == "France"
