"""The BAS 2014 subset the synthetic companies use, with INK2 SRU codes.

SRU codes follow what real Fortnox/BAS exports carry (checked against the SIE
corpus): e.g. 1510 -> 7251, 1930 -> 7281, 2440 -> 7365, 2510 -> 7368, the VAT
and payroll liabilities -> 7369, sales 30xx -> 7410, other external costs -> 7513.
Account types: T assets, S equity and liabilities, I income, K costs.
"""

from __future__ import annotations

from include.sie4.records import Account

# (number, name, account type, INK2 SRU code)
CHART: tuple[tuple[str, str, str, str], ...] = (
    ("1220", "Inventarier och verktyg", "T", "7215"),
    ("1229", "Ackumulerade avskrivningar på inventarier och verktyg", "T", "7215"),
    ("1510", "Kundfordringar", "T", "7251"),
    ("1630", "Avräkning för skatter och avgifter (skattekonto)", "T", "7261"),
    ("1930", "Företagskonto / checkkonto / affärskonto", "T", "7281"),
    ("2081", "Aktiekapital", "S", "7301"),
    ("2091", "Balanserad vinst eller förlust", "S", "7302"),
    ("2098", "Vinst eller förlust från föregående år", "S", "7302"),
    ("2099", "Årets resultat", "S", "7302"),
    # The year-end closing books the tax allocation reserve and the tax on these.
    ("2124", "Periodiseringsfond 2024", "S", "7321"),
    ("2125", "Periodiseringsfond 2025", "S", "7321"),
    ("2440", "Leverantörsskulder", "S", "7365"),
    ("2510", "Skatteskulder", "S", "7368"),
    ("2512", "Beräknad inkomstskatt", "S", "7368"),
    ("2611", "Utgående moms på försäljning inom Sverige, 25 %", "S", "7369"),
    ("2621", "Utgående moms på försäljning inom Sverige, 12 %", "S", "7369"),
    ("2631", "Utgående moms på försäljning inom Sverige, 6 %", "S", "7369"),
    ("2641", "Debiterad ingående moms", "S", "7369"),
    ("2650", "Redovisningskonto för moms", "S", "7369"),
    ("2710", "Personalskatt", "S", "7369"),
    ("2731", "Avräkning lagstadgade sociala avgifter", "S", "7369"),
    ("2920", "Upplupna semesterlöner", "S", "7370"),
    ("2941", "Beräknade upplupna lagstadgade sociala avgifter", "S", "7370"),
    ("3001", "Försäljning inom Sverige, 25 % moms", "I", "7410"),
    ("3002", "Försäljning inom Sverige, 12 % moms", "I", "7410"),
    ("3003", "Försäljning inom Sverige, 6 % moms", "I", "7410"),
    ("4010", "Inköp material och varor", "K", "7511"),
    ("5010", "Lokalhyra", "K", "7513"),
    ("5410", "Förbrukningsinventarier", "K", "7513"),
    ("5460", "Förbrukningsmaterial", "K", "7513"),
    ("6110", "Kontorsmateriel", "K", "7513"),
    ("6212", "Mobiltelefon", "K", "7513"),
    ("6230", "Datakommunikation", "K", "7513"),
    ("6310", "Företagsförsäkringar", "K", "7513"),
    ("6540", "IT-tjänster", "K", "7513"),
    ("6570", "Bankkostnader", "K", "7513"),
    ("7010", "Löner till kollektivanställda", "K", "7514"),
    ("7510", "Arbetsgivaravgifter 31,42 %", "K", "7514"),
    ("7832", "Avskrivningar på inventarier och verktyg", "K", "7515"),
    ("8310", "Ränteintäkter från omsättningstillgångar", "I", "7417"),
    ("8811", "Avsättning till periodiseringsfond", "K", "7525"),
    ("8910", "Skatt som belastar årets resultat", "K", "7528"),
    ("8999", "Årets resultat", "K", "7450"),
)

ACCOUNT_NAMES: dict[str, str] = {number: name for number, name, _, _ in CHART}

# Sales account and output VAT account per VAT rate (percent).
SALES_ACCOUNTS: dict[int, tuple[str, str]] = {
    25: ("3001", "2611"),
    12: ("3002", "2621"),
    6: ("3003", "2631"),
}

# Cost centres (#DIM 1) used on some income-statement rows.
COST_CENTRE_DIMENSION = ("1", "Kostnadsställe")
COST_CENTRES: tuple[tuple[str, str], ...] = (
    ("100", "Administration"),
    ("200", "Försäljning"),
    ("300", "Produktion"),
)


def is_balance_sheet_account(number: str) -> bool:
    """BAS classes 1 and 2 are the balance sheet; 3-8 the income statement."""
    return number[0] in "12"


def chart_accounts() -> tuple[Account, ...]:
    return tuple(
        Account(number=number, name=name, account_type=kind, sru_codes=(sru,))
        for number, name, kind, sru in CHART
    )
