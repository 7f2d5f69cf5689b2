"""Handlers of the records outside vouchers: identification, chart of accounts, balances.

Each handler takes (line, fields) and records the values on the parser state;
a bad value raises ``ValueProblem`` (the main loop reports it as an error on
that line), departures that do not change the figures are warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from include.sie4.lexer import Field
from include.sie4.parser_state import AccountParts, ParserState, field_text, object_pairs
from include.sie4.records import (
    Address,
    Balance,
    BalanceKind,
    Dimension,
    FiscalYear,
    ObjectBalance,
    ObjectBalanceKind,
    ObjectDef,
    ObjectList,
    PeriodBalance,
    PeriodBalanceKind,
)
from include.sie4.validation import (
    ValueProblem,
    check_account,
    parse_amount,
    parse_date,
    parse_period,
    parse_quantity,
    parse_year_index,
)

__all__ = ["Handler", "HeaderRecords"]

Handler = Callable[[int, Sequence[Field]], None]


class HeaderRecords(ParserState):
    """The handlers of the records before (and between) the vouchers."""

    def header_handlers(self) -> dict[str, Handler]:
        """Label -> handler of every known record outside a voucher block."""
        return {
            "#FLAGGA": self._flagga,
            "#PROGRAM": self._program,
            "#FORMAT": self._format,
            "#GEN": self._gen,
            "#SIETYP": self._sietyp,
            "#FNAMN": self._fnamn,
            "#ORGNR": self._orgnr,
            "#FNR": self._simple("#FNR", "company_id"),
            "#FTYP": self._simple("#FTYP", "company_type"),
            "#BKOD": self._simple("#BKOD", "sni_code"),
            "#ADRESS": self._adress,
            "#RAR": self._rar,
            "#TAXAR": self._taxar,
            "#OMFATTN": self._omfattn,
            "#KPTYP": self._kptyp,
            "#VALUTA": self._valuta,
            "#KONTO": self._konto,
            "#KTYP": self._ktyp,
            "#ENHET": self._enhet,
            "#SRU": self._sru,
            "#DIM": self._dim,
            "#UNDERDIM": self._underdim,
            "#OBJEKT": self._objekt,
            "#IB": self._balance(BalanceKind.IB),
            "#UB": self._balance(BalanceKind.UB),
            "#RES": self._balance(BalanceKind.RES),
            "#OIB": self._object_balance(ObjectBalanceKind.OIB),
            "#OUB": self._object_balance(ObjectBalanceKind.OUB),
            "#PSALDO": self._period_balance(PeriodBalanceKind.PSALDO),
            "#PBUDGET": self._period_balance(PeriodBalanceKind.PBUDGET),
        }

    # -- identification ------------------------------------------------------
    def _flagga(self, line: int, f: Sequence[Field]) -> None:
        value = field_text(f, 0)
        if value not in ("0", "1"):
            self.warn(line, f"#FLAGGA should be 0 or 1, not {value!r}")
        self.flag = 1 if value == "1" else 0
        self.extra(line, "#FLAGGA", f, 1)

    def _program(self, line: int, f: Sequence[Field]) -> None:
        self.program = (field_text(f, 0), field_text(f, 1))
        if not self.program[0]:
            self.warn(line, "#PROGRAM without a program name")
        self.extra(line, "#PROGRAM", f, 2)

    def _format(self, line: int, f: Sequence[Field]) -> None:
        value = field_text(f, 0)
        if value != "PC8":
            self.warn(line, f"#FORMAT {value!r}: SIE files are PC8 (CP437)")
        self.file_format = value or "PC8"
        self.extra(line, "#FORMAT", f, 1)

    def _gen(self, line: int, f: Sequence[Field]) -> None:
        self.generated_on = parse_date(field_text(f, 0), "generation date")
        self.generated_by = field_text(f, 1)
        self.extra(line, "#GEN", f, 2)

    def _sietyp(self, line: int, f: Sequence[Field]) -> None:
        value = field_text(f, 0)
        if value not in ("1", "2", "3", "4"):
            raise ValueProblem(f"unknown SIE type {value!r} (expected 1-4)")
        self.sie_type = int(value)
        self.extra(line, "#SIETYP", f, 1)

    def _fnamn(self, line: int, f: Sequence[Field]) -> None:
        words = [field_text(f, i) for i in range(len(f))]
        if len(words) > 1:
            self.warn(line, "#FNAMN: name with spaces is not quoted; fields joined")
        self.company["name"] = " ".join(words)
        if not self.company["name"].strip():
            self.warn(line, "#FNAMN: company name is empty")

    def _orgnr(self, line: int, f: Sequence[Field]) -> None:
        self.company["org_number"] = field_text(f, 0)
        self.company["acquisition_number"] = field_text(f, 1)
        self.extra(line, "#ORGNR", f, 3)

    def _simple(self, label: str, key: str) -> Callable[[int, Sequence[Field]], None]:
        def handle(line: int, f: Sequence[Field]) -> None:
            self.company[key] = field_text(f, 0)
            self.extra(line, label, f, 1)

        return handle

    def _adress(self, line: int, f: Sequence[Field]) -> None:
        if len(f) != 4:
            self.warn(line, f"#ADRESS has {len(f)} fields, expected 4")
        self.address = Address(
            field_text(f, 0), field_text(f, 1), field_text(f, 2), field_text(f, 3)
        )

    def _rar(self, line: int, f: Sequence[Field]) -> None:
        index = parse_year_index(field_text(f, 0))
        if len(f) < 2 or not any(f[1:]):
            self.warn(line, f"#RAR {index} without dates ignored")
            return
        start = parse_date(field_text(f, 1), "fiscal year start")
        end = parse_date(field_text(f, 2), "fiscal year end")
        if end < start:
            raise ValueProblem(f"fiscal year {index} ends ({end}) before it starts ({start})")
        if any(y.index == index for y in self.fiscal_years):
            self.warn(line, f"#RAR {index} given twice; the later one is used")
            self.fiscal_years = [y for y in self.fiscal_years if y.index != index]
        self.fiscal_years.append(FiscalYear(index, start, end))
        self.year_lines[index] = line
        self.extra(line, "#RAR", f, 3)

    def _taxar(self, line: int, f: Sequence[Field]) -> None:
        value = field_text(f, 0)
        if len(value) == 4 and value.isdigit():
            self.tax_year = int(value)
        else:
            self.warn(line, f"#TAXAR: tax year {value!r} is not a year; ignored")
        self.extra(line, "#TAXAR", f, 1)

    def _omfattn(self, line: int, f: Sequence[Field]) -> None:
        self.period_covered_to = parse_date(field_text(f, 0), "#OMFATTN date")
        self.extra(line, "#OMFATTN", f, 1)

    def _kptyp(self, line: int, f: Sequence[Field]) -> None:
        self.chart_type = field_text(f, 0)
        self.extra(line, "#KPTYP", f, 1)

    def _valuta(self, line: int, f: Sequence[Field]) -> None:
        self.currency = field_text(f, 0)
        self.extra(line, "#VALUTA", f, 1)

    # -- chart of accounts ---------------------------------------------------
    def _parts(self, number: str, line: int) -> AccountParts:
        parts = self.accounts.get(number)
        if parts is None:
            parts = self.accounts[number] = AccountParts(number, line=line)
        return parts

    def _konto(self, line: int, f: Sequence[Field]) -> None:
        number = check_account(field_text(f, 0))
        parts = self._parts(number, line)
        if parts.name is not None:
            self.warn(line, f"#KONTO {number} declared twice; the later name is used")
        parts.name = field_text(f, 1)
        parts.line = line
        self.declared.add(number)
        self.extra(line, "#KONTO", f, 2)

    def _ktyp(self, line: int, f: Sequence[Field]) -> None:
        number = check_account(field_text(f, 0))
        value = field_text(f, 1)
        if value not in ("T", "S", "K", "I"):
            self.warn(line, f"#KTYP {number}: account type {value!r} is not T, S, K or I")
        self._parts(number, line).account_type = value or None
        self.extra(line, "#KTYP", f, 2)

    def _enhet(self, line: int, f: Sequence[Field]) -> None:
        number = check_account(field_text(f, 0))
        self._parts(number, line).unit = field_text(f, 1)
        self.extra(line, "#ENHET", f, 2)

    def _sru(self, line: int, f: Sequence[Field]) -> None:
        number = check_account(field_text(f, 0))
        code = field_text(f, 1).strip()
        parts = self._parts(number, line)
        if not code:
            self.warn(line, f"#SRU {number}: empty SRU code ignored")
        else:
            parts.sru_codes.append(code)
        self.extra(line, "#SRU", f, 2)

    def _dim(self, line: int, f: Sequence[Field]) -> None:
        number = field_text(f, 0)
        if not number:
            raise ValueProblem("missing dimension number")
        self.dimensions.append(Dimension(number, field_text(f, 1), None, line))
        self.extra(line, "#DIM", f, 2)

    def _underdim(self, line: int, f: Sequence[Field]) -> None:
        number = field_text(f, 0)
        if not number:
            raise ValueProblem("missing dimension number")
        self.dimensions.append(Dimension(number, field_text(f, 1), field_text(f, 2) or None, line))
        self.extra(line, "#UNDERDIM", f, 3)

    def _objekt(self, line: int, f: Sequence[Field]) -> None:
        dim = field_text(f, 0)
        if not dim:
            raise ValueProblem("missing dimension number")
        self.objects.append(ObjectDef(dim, field_text(f, 1), field_text(f, 2), line))
        self.extra(line, "#OBJEKT", f, 3)

    # -- balances ------------------------------------------------------------
    def _balance(self, kind: BalanceKind) -> Callable[[int, Sequence[Field]], None]:
        def handle(line: int, f: Sequence[Field]) -> None:
            year = parse_year_index(field_text(f, 0))
            account = check_account(field_text(f, 1))
            if len(f) < 3:
                raise ValueProblem("missing amount")
            amount = parse_amount(field_text(f, 2))
            quantity = parse_quantity(field_text(f, 3))
            self.balances.append(Balance(kind, year, account, amount, quantity, line))
            self.extra(line, "#" + kind.value, f, 4)

        return handle

    def _object_balance(self, kind: ObjectBalanceKind) -> Callable[[int, Sequence[Field]], None]:
        def handle(line: int, f: Sequence[Field]) -> None:
            year = parse_year_index(field_text(f, 0))
            account = check_account(field_text(f, 1))
            objects, rest = self._objects_then_rest(line, "#" + kind.value, f, 2)
            if not rest:
                raise ValueProblem("missing amount")
            amount = parse_amount(field_text(rest, 0))
            quantity = parse_quantity(field_text(rest, 1))
            self.object_balances.append(
                ObjectBalance(kind, year, account, objects, amount, quantity, line)
            )
            if len(rest) > 2:
                self.warn(line, f"#{kind.value}: {len(rest) - 2} extra field(s) ignored")

        return handle

    def _period_balance(self, kind: PeriodBalanceKind) -> Callable[[int, Sequence[Field]], None]:
        def handle(line: int, f: Sequence[Field]) -> None:
            year = parse_year_index(field_text(f, 0))
            period = parse_period(field_text(f, 1))
            account = check_account(field_text(f, 2))
            objects, rest = self._objects_then_rest(line, "#" + kind.value, f, 3)
            if not rest:
                raise ValueProblem("missing amount")
            amount = parse_amount(field_text(rest, 0))
            quantity = parse_quantity(field_text(rest, 1))
            self.period_balances.append(
                PeriodBalance(kind, year, period, account, objects, amount, quantity, line)
            )
            if len(rest) > 2:
                self.warn(line, f"#{kind.value}: {len(rest) - 2} extra field(s) ignored")

        return handle

    def _objects_then_rest(
        self, line: int, label: str, f: Sequence[Field], at: int
    ) -> tuple[ObjectList, Sequence[Field]]:
        if len(f) > at and isinstance(f[at], tuple):
            return object_pairs(f[at]), f[at + 1 :]  # type: ignore[arg-type]
        self.warn(line, f"{label}: object list {{}} missing")
        return (), f[at:]
