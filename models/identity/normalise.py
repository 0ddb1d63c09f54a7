"""Normalisation of the identifying attributes of customer records, before any matching.

One definition, used everywhere: `register_udfs` makes them DuckDB UDFs, which the resolve
step's reading of the records (`models.identity.records`) and the dbt-duckdb plugin
(`models.identity.duckdb_plugin`, for the models that match web users and calls) call;
`models.identity.spark_udfs` makes the same functions Spark UDFs for the dbt build on Spark;
the tests call them directly.

- national ids: spaces, dashes and dots removed, upper case (`1101 0119-8001 01123x`);
- phones: E.164 through `phonenumbers` (the well-kept port of Google's libphonenumber, not
  hand-written rules), numbers without a country code read in the `phone_region` setting;
  a number `phonenumbers` does not consider possible is no evidence at all (null);
- e-mails: all white space removed, lower case; without exactly one `@` it is null;
- names: Unicode compatibility-decomposed, accents dropped, case-folded, white space collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache, partial

import phonenumbers
import pyarrow as pa
from duckdb import DuckDBPyConnection
from duckdb.func import FunctionNullHandling, PythonUDFType
from duckdb.sqltypes import VARCHAR

DEFAULT_REGION = "CN"

_NATIONAL_ID_NOISE = re.compile(r"[\s\-.]")
_WHITE_SPACE = re.compile(r"\s+")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def national_id(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = _NATIONAL_ID_NOISE.sub("", value).upper()
    return cleaned or None


def phone_e164(value: str | None, region: str) -> str | None:
    """`value` as E.164 (`+8613800138000`), or None when it is not a possible phone number."""
    if value is None:
        return None
    # separators carry no meaning: `+86 138-0013-8000` and `+8613800138000` parse once
    return _phone_e164(_PHONE_SEPARATORS.sub("", value), region)


@lru_cache(maxsize=1_000_000)
def _phone_e164(value: str, region: str) -> str | None:
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = _WHITE_SPACE.sub("", value).lower()
    if cleaned.count("@") != 1 or cleaned.startswith("@") or cleaned.endswith("@"):
        return None
    return cleaned


def name(value: str | None) -> str | None:
    """Case- and accent-folded name: `ZHÀNG  Wěi` and `zhang wei` fold to the same `zhang wei`."""
    if value is None:
        return None
    decomposed = unicodedata.normalize("NFKD", value)
    unaccented = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = _WHITE_SPACE.sub(" ", unaccented.casefold()).strip()
    return folded or None


def vectorised(function: Callable[[str | None], str | None], values: Iterable[str | None]) -> list[str | None]:
    """`function` over a column, computed once per distinct value (columns repeat a lot)."""
    cache: dict[str | None, str | None] = {}
    out = []
    for value in values:
        if value not in cache:
            cache[value] = function(value)
        out.append(cache[value])
    return out


def _arrow_udf(function: Callable[[str | None], str | None]) -> Callable[[pa.Array], pa.Array]:
    def udf(values: pa.Array) -> pa.Array:
        return pa.array(vectorised(function, values.to_pylist()), pa.string())

    return udf


def sql_functions(phone_region: str = DEFAULT_REGION) -> dict[str, Callable[[str | None], str | None]]:
    """The four functions by the names SQL calls them, on either engine (string -> string):

    bankdw_national_id
    bankdw_phone_e164   E.164, null when not a possible number (read in `phone_region`)
    bankdw_email
    bankdw_name_fold
    """
    return {
        "bankdw_national_id": national_id,
        "bankdw_phone_e164": partial(phone_e164, region=phone_region.upper()),
        "bankdw_email": email,
        "bankdw_name_fold": name,
    }


def register_udfs(conn: DuckDBPyConnection, phone_region: str = DEFAULT_REGION) -> None:
    """The four `sql_functions` as vectorised (Arrow) DuckDB UDFs on `conn` (varchar -> varchar).
    On Spark: `models.identity.spark_udfs`."""
    for udf_name, function in sql_functions(phone_region).items():
        conn.create_function(
            udf_name,
            _arrow_udf(function),
            [VARCHAR],
            VARCHAR,
            type=PythonUDFType.ARROW,
            null_handling=FunctionNullHandling.SPECIAL,
            side_effects=False,
        )
