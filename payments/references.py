"""Payment references the bank gives back with each credit, so a payment finds its order.

- QRR (QR reference): 27 digits, the last one a check digit by the recursive modulo 10 algorithm; only
  with a QR-IBAN.
- SCOR (ISO 11649 creditor reference): "RF" + 2 check digits (ISO 7064 mod 97-10) + up to 21 characters;
  with an ordinary IBAN.
"""

from __future__ import annotations

import re

# The table of the recursive modulo 10 algorithm (Swiss payment standards, also used by the old ESR).
_MOD10_TABLE = (0, 9, 4, 6, 8, 2, 7, 1, 3, 5)
_ALPHANUMERIC = re.compile(r"^[0-9A-Z]+$")


def mod10_recursive(digits: str) -> int:
    carry = 0
    for char in digits:
        carry = _MOD10_TABLE[(carry + int(char)) % 10]
    return (10 - carry) % 10


def qrr_reference(payload: int | str) -> str:
    """A QRR reference for `payload` (digits, e.g. an order id): zero-padded to 26, plus its check digit."""
    digits = str(payload)
    if not digits.isdigit() or len(digits) > 26:
        raise ValueError(f"a QRR payload is at most 26 digits, got {payload!r}")
    body = digits.zfill(26)
    return body + str(mod10_recursive(body))


def is_valid_qrr(reference: str) -> bool:
    ref = reference.replace(" ", "")
    return len(ref) == 27 and ref.isdigit() and mod10_recursive(ref[:26]) == int(ref[26])


def _mod97(text: str) -> int:
    # Letters count as two digits, A=10 ... Z=35.
    return int("".join(str(int(c, 36)) for c in text)) % 97


def creditor_reference(payload: str) -> str:
    """An ISO 11649 creditor reference ("RF" + check digits + payload) for an alphanumeric payload."""
    body = payload.upper().replace(" ", "")
    if not body or len(body) > 21 or not _ALPHANUMERIC.match(body):
        raise ValueError(f"a creditor reference payload is 1-21 letters or digits, got {payload!r}")
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def is_valid_creditor_reference(reference: str) -> bool:
    ref = reference.replace(" ", "").upper()
    if not (5 <= len(ref) <= 25 and ref.startswith("RF") and ref[2:4].isdigit() and _ALPHANUMERIC.match(ref)):
        return False
    return _mod97(ref[4:] + ref[:4]) == 1


def normalise(reference: str) -> str:
    return reference.replace(" ", "").upper()
