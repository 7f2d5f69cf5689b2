"""Company and party identities: names, addresses, Luhn-valid organisation numbers."""

from __future__ import annotations

import random

from include.books.models import CompanyProfile, Party

_NAME_FIRST = (
    "Nordlund", "Björkdal", "Ekström", "Lindqvist", "Sandberg", "Holmgren", "Fjällström",
    "Åkesson", "Berglund", "Strandvik", "Dahlén", "Hedlund", "Norrsken", "Granitgruppen",
    "Solberg", "Vallin", "Älvdalens", "Östermalms", "Kustens", "Skogsbrynets",
)  # fmt: skip
_NAME_TRADE = (
    "Konsult", "Bygg", "Design", "Data", "Teknik", "Handel", "Media", "Logistik",
    "Bageri", "Arkitekter", "Redovisning", "El & Energi", "Måleri", "Trädgård",
)  # fmt: skip
_STREETS = (
    "Storgatan", "Kungsgatan", "Drottninggatan", "Järnvägsgatan", "Industrivägen",
    "Skolgatan", "Hamngatan", "Sveavägen", "Vasagatan", "Östra Långgatan",
)  # fmt: skip
# (city, first three digits of the postal code, area code)
_CITIES = (
    ("Stockholm", "114", "08"), ("Göteborg", "411", "031"), ("Malmö", "211", "040"),
    ("Uppsala", "753", "018"), ("Umeå", "903", "090"), ("Örebro", "702", "019"),
    ("Linköping", "582", "013"), ("Västerås", "722", "021"),
)  # fmt: skip
_SUPPLIER_NAMES = (
    "Kontorsservice i Norden AB", "Telefonbolaget Mobil AB", "Molntjänst Sverige AB",
    "Grossisten Material AB", "Försäkringsbolaget Trygg AB", "Verktygslagret AB",
    "Nätoperatören Fiber AB", "Förbrukningsvaror Direkt AB", "IT-Partner Väst AB",
    "Transport & Frakt AB",
)  # fmt: skip


def luhn_check_digit(digits: str) -> int:
    """The check digit of a Swedish organisation number (Luhn over its first nine digits)."""
    total = 0
    for position, char in enumerate(digits):
        product = int(char) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def is_valid_org_number(org_number: str) -> bool:
    """NNNNNN-NNNN with a correct Luhn check digit."""
    if len(org_number) != 11 or org_number[6] != "-":
        return False
    digits = org_number[:6] + org_number[7:]
    if not digits.isdigit():
        return False
    return luhn_check_digit(digits[:9]) == int(digits[9])


def org_number(rng: random.Random, prefix: str = "556") -> str:
    """An aktiebolag number (556/559...) with a valid check digit."""
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(9 - len(prefix)))
    digits = body + str(luhn_check_digit(body))
    return f"{digits[:6]}-{digits[6:]}"


def company_profile(rng: random.Random) -> CompanyProfile:
    city, postal_prefix, area = rng.choice(_CITIES)
    return CompanyProfile(
        name=f"{rng.choice(_NAME_FIRST)} {rng.choice(_NAME_TRADE)} AB",
        org_number=org_number(rng, rng.choice(("556", "559"))),
        address_street=f"{rng.choice(_STREETS)} {rng.randint(1, 60)}",
        address_postal=f"{postal_prefix} {rng.randint(10, 99)} {city}",
        phone=f"{area}-{rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        database_number=rng.randint(1_000_000, 9_999_999),
    )


def customers(rng: random.Random, count: int) -> tuple[Party, ...]:
    parties = []
    for number in range(1, count + 1):
        name = f"{rng.choice(_NAME_FIRST)} {rng.choice(_NAME_TRADE)} AB"
        parties.append(Party(str(number), name, org_number(rng, rng.choice(("556", "559")))))
    return tuple(parties)


def suppliers(rng: random.Random, count: int, landlord: bool) -> tuple[Party, ...]:
    """Supplier 1 is the landlord when the company rents premises."""
    parties = []
    if landlord:
        name = f"Fastighets AB {rng.choice(_NAME_FIRST)}"
        parties.append(Party("1", name, org_number(rng, "556")))
    while len(parties) < count:
        number = len(parties) + 1
        base = _SUPPLIER_NAMES[(number - 1) % len(_SUPPLIER_NAMES)]
        name = base if number <= len(_SUPPLIER_NAMES) else f"{base} {number}"
        parties.append(Party(str(number), name, org_number(rng, rng.choice(("556", "559")))))
    return tuple(parties)
