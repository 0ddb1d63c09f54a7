"""Phone numbers and e-mail addresses: the canonical value and the ways staff type them.

A person has one canonical number (national digits, `13800138000` or `02165521234`) and one
canonical e-mail (lower case). Source systems store what was keyed, so the phone-format and
e-mail-format defects render the same value differently (`+86 138-0013-8000`,
`(021) 6552 1234`, ` Fang.Wang12@QQ.com`): the warehouse must normalise them to match people.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .formats import join
from .randomness import scramble
from .reference import MOBILE_PREFIXES

PHONE_VARIANTS = 6
"""Variant 0 is the canonical national-digits form; 1..5 are the defect formats."""
EMAIL_VARIANTS = 4


def _digits(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, np.int64)), pa.string()), width, "0")


def mobile_numbers(rng: np.random.Generator, index: np.ndarray, salt: int) -> pa.Array:
    """Distinct mobile numbers for distinct `index`, in the prefixes customers use."""
    prefix = pa.array(rng.choice(np.asarray(MOBILE_PREFIXES), size=len(index)), pa.string())
    return join(prefix, _digits(scramble(index, 10**8, salt), 8))


def landline_numbers(area_codes: np.ndarray, index: np.ndarray, salt: int) -> pa.Array:
    """Distinct 8-digit landlines (starting with 6) behind each city's area code."""
    return join(pa.array(area_codes, pa.string()), "6", _digits(scramble(index, 10**7, salt), 7))


def prospect_numbers(index: np.ndarray) -> pa.Array:
    """Distinct mobiles of prospects, in a range (166) that no customer record uses."""
    return join("166", _digits(scramble(index, 10**8, 5), 8))


def off_record_numbers(person: np.ndarray) -> pa.Array:
    """Each person's number the bank holds no record of (a work phone, a new mobile): always the
    same for the same person, distinct between persons, in a range (17x) no customer record uses."""
    return join("17", _digits(scramble(person, 10**9, 17), 9))


def calls_off_record(person: np.ndarray) -> np.ndarray:
    """The tenth of persons who call the bank from an off-record number, and do so again."""
    return scramble(person, 10, 3) == 0


def _choose(variant: np.ndarray, options: list[pa.Array]) -> pa.Array:
    return pc.choose(pa.array(np.asarray(variant, np.int8)), *options)


def render_phones(digits: pa.Array, variant: np.ndarray) -> pa.Array:
    """`digits` (canonical) as keyed in format `variant` (0 = canonical); nulls stay null."""
    mobile = pc.starts_with(digits, "1")
    head, mid, tail = (pc.utf8_slice_codeunits(digits, a, b) for a, b in ((0, 3), (3, 7), (7, 11)))
    mobiles = [
        digits,
        join("+86 ", head, "-", mid, "-", tail),
        join(head, " ", mid, " ", tail),
        join(head, "-", mid, "-", tail),
        join("+86", digits),
        join("0086 ", head, " ", mid, " ", tail),
    ]
    area = pc.utf8_slice_codeunits(digits, 0, -8)
    local = pc.utf8_slice_codeunits(digits, -8)
    left, right = pc.utf8_slice_codeunits(local, 0, 4), pc.utf8_slice_codeunits(local, 4)
    landlines = [
        digits,
        join("(", area, ") ", left, " ", right),
        join(area, "-", local),
        join("+86 ", pc.utf8_slice_codeunits(area, 1), " ", left, " ", right),
        join(area, " ", left, " ", right),
        join("(", area, ")", local),
    ]
    return pc.if_else(mobile, _choose(variant, mobiles), _choose(variant, landlines))


def international(digits: pa.Array) -> pa.Array:
    """E.164 as the online platform validates it at enrolment (`+8613800138000`)."""
    national = pc.if_else(pc.starts_with(digits, "0"), pc.utf8_slice_codeunits(digits, 1), digits)
    return join("+86", national)


def render_emails(canonical: pa.Array, variant: np.ndarray) -> pa.Array:
    """Canonical lower-case e-mails as keyed in format `variant` (0 = canonical)."""
    options = [
        canonical,
        pc.utf8_title(canonical),
        pc.utf8_upper(canonical),
        join(" ", pc.utf8_capitalize(canonical), " "),
    ]
    return _choose(variant, options)
