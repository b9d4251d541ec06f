"""MathAPI: stateless arithmetic and statistics (BFCL's ``math_api.json``), results as BFCL's class gives them.

``logarithm`` uses ``mpmath`` at the requested precision when it is installed (BFCL does; its result then reads
``mpf('...')``), otherwise :mod:`decimal` at the same precision (same digits in almost all cases).
``square_root`` uses :mod:`decimal` (result reads ``Decimal('...')``) in a local context: unlike BFCL, the
process-wide decimal precision is left alone. Precisions and powers are bounded so that no call can run for long.
"""

from __future__ import annotations

import decimal
import math
from typing import Any

from ._base import SimulatedAPI

__all__ = ["MathAPI"]

#: Largest precision (digits) ``logarithm`` and ``square_root`` accept.
MAX_PRECISION = 2_000
#: ``power`` refuses results that would have more than this many bits.
MAX_POWER_BITS = 100_000

_TO_METERS = {"km": 1000, "m": 1, "cm": 0.01, "mm": 0.001, "um": 1e-06, "nm": 1e-09}
_IMPERIAL = {
    "cm_to_in": 0.393701,
    "in_to_cm": 2.54,
    "m_to_ft": 3.28084,
    "ft_to_m": 0.3048,
    "m_to_yd": 1.09361,
    "yd_to_m": 0.9144,
    "km_to_miles": 0.621371,
    "miles_to_km": 1.60934,
    "kg_to_lb": 2.20462,
    "lb_to_kg": 0.453592,
    "celsius_to_fahrenheit": 1.8,
    "fahrenheit_to_celsius": 5 / 9,
}


class _Shown:
    """A value that prints as given text (and that JSON cannot encode, so a result dict prints with ``str``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Shown) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float))


class MathAPI(SimulatedAPI):
    """See the module docs."""

    def logarithm(self, value: float, base: float, precision: int):
        try:
            if isinstance(precision, (int, float)) and precision > MAX_PRECISION:
                raise ValueError(f"precision above {MAX_PRECISION} digits is not supported")
            try:
                import mpmath
            except ImportError:  # pragma: no cover - mpmath ships with most Python installs that have torch
                return {"result": _Shown(_decimal_log(value, base, precision))}
            with mpmath.workdps(precision):
                r = mpmath.log(value) / mpmath.log(base)
                return {"result": _Shown(repr(r))}
        except Exception as e:  # noqa: BLE001 - BFCL returns any failure as an error entry
            return {"error": str(e)}

    def mean(self, numbers: list):
        if not numbers:
            return {"error": "Cannot calculate mean of an empty list"}
        try:
            return {"result": sum(numbers) / len(numbers)}
        except TypeError:
            return {"error": "All elements in the list must be numbers"}

    def standard_deviation(self, numbers: list):
        if not numbers:
            return {"error": "Cannot calculate standard deviation of an empty list"}
        try:
            m = sum(numbers) / len(numbers)
            return {"result": math.sqrt(sum((x - m) ** 2 for x in numbers) / len(numbers))}
        except TypeError:
            return {"error": "All elements in the list must be numbers"}

    def si_unit_conversion(self, value: float, unit_in: str, unit_out: str):
        if not _is_number(value):
            return {"error": "Value must be a number"}
        if unit_in not in _TO_METERS or unit_out not in _TO_METERS:
            return {"error": f"Conversion from '{unit_in}' to '{unit_out}' is not supported"}
        try:
            return {"result": value * _TO_METERS[unit_in] * (1 / _TO_METERS[unit_out])}
        except OverflowError:
            return {"error": "Conversion resulted in a value too large to represent"}

    def imperial_si_conversion(self, value: float, unit_in: str, unit_out: str):
        if not _is_number(value):
            return {"error": "Value must be a number"}
        if unit_in == unit_out:
            return {"result": value}
        key = f"{unit_in}_to_{unit_out}"
        if key not in _IMPERIAL:
            return {"error": f"Conversion from '{unit_in}' to '{unit_out}' is not supported"}
        try:
            if (unit_in, unit_out) == ("celsius", "fahrenheit"):
                return {"result": value * _IMPERIAL[key] + 32}
            if (unit_in, unit_out) == ("fahrenheit", "celsius"):
                return {"result": (value - 32) * _IMPERIAL[key]}
            return {"result": value * _IMPERIAL[key]}
        except OverflowError:
            return {"error": "Conversion resulted in a value too large to represent"}

    def add(self, a: float, b: float):
        try:
            return {"result": a + b}
        except TypeError:
            return {"error": "Both inputs must be numbers"}

    def subtract(self, a: float, b: float):
        try:
            return {"result": a - b}
        except TypeError:
            return {"error": "Both inputs must be numbers"}

    def multiply(self, a: float, b: float):
        if not _is_number(a) or not _is_number(b):
            return {"error": "Both inputs must be numbers"}
        return {"result": a * b}

    def divide(self, a: float, b: float):
        try:
            if b == 0:
                return {"error": "Cannot divide by zero"}
            return {"result": a / b}
        except TypeError:
            return {"error": "Both inputs must be numbers"}

    def power(self, base: float, exponent: float):
        try:
            if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
                if exponent * abs(base).bit_length() > MAX_POWER_BITS:
                    raise OverflowError(f"result would exceed {MAX_POWER_BITS} bits")
            return {"result": base**exponent}
        except TypeError:
            return {"error": "Both inputs must be numbers"}

    def square_root(self, number: float, precision: int):
        try:
            if number < 0:
                return {"error": "Cannot calculate square root of a negative number"}
            if isinstance(precision, int) and precision > MAX_PRECISION:
                raise decimal.InvalidOperation("precision too large")
            ctx = decimal.Context()
            ctx.prec = precision  # the setter BFCL uses (on the global context): same errors for bad values
            return {"result": decimal.Decimal(number).sqrt(context=ctx)}
        except (TypeError, decimal.InvalidOperation):
            return {"error": "Input must be a number or computation resulted in an invalid operation"}

    def absolute_value(self, number: float):
        try:
            return {"result": abs(number)}
        except TypeError:
            return {"error": "Input must be a number"}

    def round_number(self, number: float, decimal_places: int = 0):
        if (
            isinstance(number, int)
            and isinstance(decimal_places, int)
            and decimal_places < -MAX_PRECISION
            and -decimal_places > len(str(abs(int(number)))) + 1
        ):
            return {"result": 0}  # what Python gives, without computing 10 ** -decimal_places first
        try:
            return {"result": round(number, decimal_places)}
        except TypeError:
            return {"error": "First input must be a number, second input must be an integer"}

    def percentage(self, part: float, whole: float):
        try:
            if whole == 0:
                return {"error": "Whole value cannot be zero"}
            return {"result": part / whole * 100}
        except TypeError:
            return {"error": "Both inputs must be numbers"}

    def min_value(self, numbers: list):
        if not numbers:
            return {"error": "Cannot find minimum of an empty list"}
        try:
            return {"result": min(numbers)}
        except TypeError:
            return {"error": "All elements in the list must be numbers"}

    def max_value(self, numbers: list):
        if not numbers:
            return {"error": "Cannot find maximum of an empty list"}
        try:
            return {"result": max(numbers)}
        except TypeError:
            return {"error": "All elements in the list must be numbers"}

    def sum_values(self, numbers: list):
        if not numbers:
            return {"error": "Cannot calculate sum of an empty list"}
        try:
            return {"result": sum(numbers)}
        except TypeError:
            return {"error": "All elements in the list must be numbers"}


def _decimal_log(value: Any, base: Any, precision: int) -> str:  # pragma: no cover - fallback without mpmath
    ctx = decimal.Context(prec=int(precision) + 3)
    r = ctx.divide(decimal.Decimal(value).ln(ctx), decimal.Decimal(base).ln(ctx))
    shown = decimal.Context(prec=max(1, int(precision) + 2)).plus(r)
    return f"mpf('{shown}')"
