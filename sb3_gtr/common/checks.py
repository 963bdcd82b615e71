"""
Argument checks shared by the public classes and functions of ``sb3_gtr``, so that a bad argument is refused
when it is given, with a message naming it and what it may be, instead of failing (or being silently
reinterpreted) in the middle of a run.

Conventions: a wrong value, of whatever type, raises ``ValueError`` (as the rest of the package and SB3 do); an
unknown keyword argument raises ``TypeError``, like Python's own. Messages name the argument in backquotes,
say what is allowed and show the value given with ``repr`` (``got '1000'`` for a string).

This module imports nothing from the rest of the package, so that any module of it may use it.
"""

import math
import numbers
from collections.abc import Collection, Iterable, Mapping, Sized
from typing import Any, Optional

import numpy as np


def describe(value: Any) -> str:
    """
    :param value: Any value
    :return: The value's ``repr``, followed by its type when that is not obvious from the ``repr`` (``'1000'``,
        ``True (bool)``, ``1.0 (float)``)
    """
    # `True` and `1.0` read like valid integers in a message; their type says why they are refused
    if isinstance(value, (bool, np.bool_, float, np.floating)):
        return f"{value!r} ({type(value).__name__})"
    return repr(value)


def is_int(value: Any) -> bool:
    """
    :param value: Any value
    :return: Whether ``value`` is an integer (Python or NumPy), booleans excluded
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_positive_int(name: str, value: Any, allow_zero: bool = False, zero_means: Optional[str] = None) -> int:
    """
    Check that an argument is a positive integer (a count, a budget, a frequency ...).

    :param name: Name of the argument, for the message
    :param value: The value given
    :param allow_zero: Also accept 0
    :param zero_means: What 0 does, for the message (``"evaluate only at the start"`` gives
        ``(or 0 to evaluate only at the start)``); implies ``allow_zero``
    :return: The value as a Python ``int``
    :raises ValueError: If ``value`` is not an integer (booleans, strings and floats included), is negative, or is
        0 where 0 is not allowed
    """
    allow_zero = allow_zero or zero_means is not None
    if is_int(value) and (value > 0 or (allow_zero and value == 0)):
        return int(value)
    if zero_means is not None:
        expected = f"a positive integer (or 0 to {zero_means})"
    elif allow_zero:
        expected = "an integer >= 0"
    else:
        expected = "a positive integer (>= 1)"
    raise ValueError(f"`{name}` must be {expected}, got {describe(value)}")


def check_int_in_range(name: str, value: Any, low: int, high: int) -> int:
    """
    Check that an argument is an integer in ``[low, high)`` (an index).

    :param name: Name of the argument, for the message
    :param value: The value given
    :param low: Smallest allowed value
    :param high: One past the largest allowed value
    :return: The value as a Python ``int``
    :raises ValueError: If ``value`` is not an integer of the range
    """
    if is_int(value) and low <= value < high:
        return int(value)
    raise ValueError(f"`{name}` must be an integer in [{low}, {high}), got {describe(value)}")


def check_finite_float(
    name: str,
    value: Any,
    low: Optional[float] = None,
    high: Optional[float] = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """
    Check that an argument is a finite real number, optionally within bounds.

    :param name: Name of the argument, for the message
    :param value: The value given (an ``int``, a ``float`` or a NumPy number; not a boolean or a string)
    :param low: Lower bound (``None``: none)
    :param high: Upper bound (``None``: none)
    :param low_inclusive: Whether ``low`` itself is allowed
    :param high_inclusive: Whether ``high`` itself is allowed
    :return: The value as a Python ``float``
    :raises ValueError: If ``value`` is not a number, is NaN or infinite, or is out of bounds
    """
    bounds = []
    if low is not None:
        bounds.append(f"{'>=' if low_inclusive else '>'} {low:g}")
    if high is not None:
        bounds.append(f"{'<=' if high_inclusive else '<'} {high:g}")
    expected = "a finite number" + (f" {' and '.join(bounds)}" if bounds else "")
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        number = float(value)
        in_bounds = math.isfinite(number)
        if in_bounds and low is not None:
            in_bounds = number >= low if low_inclusive else number > low
        if in_bounds and high is not None:
            in_bounds = number <= high if high_inclusive else number < high
        if in_bounds:
            return number
    raise ValueError(f"`{name}` must be {expected}, got {describe(value)}")


def check_bool(name: str, value: Any) -> bool:
    """
    Check that an argument is ``True`` or ``False`` (not ``0``, ``1`` or ``"False"``, which is true).

    :param name: Name of the argument, for the message
    :param value: The value given
    :return: The value as a Python ``bool``
    :raises ValueError: If ``value`` is not a boolean
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"`{name}` must be True or False, got {describe(value)}")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """
    Check that an argument is one of a fixed set of values (a mode, a name ...).

    :param name: Name of the argument, for the message
    :param value: The value given
    :param choices: The allowed values (listed in the message, in this order)
    :return: The value
    :raises ValueError: If ``value`` is not one of ``choices``
    """
    choices = list(choices)
    try:
        allowed = value in choices
    except TypeError:  # an unhashable value against a dict or set
        allowed = False
    if not allowed:
        raise ValueError(f"`{name}` must be one of {', '.join(repr(choice) for choice in choices)}; got {describe(value)}")
    return value


def check_str(name: str, value: Any, allow_empty: bool = False) -> str:
    """
    Check that an argument is a string, by default a non-empty one (a name ...).

    :param name: Name of the argument, for the message
    :param value: The value given
    :param allow_empty: Also accept ``""``
    :return: The value
    :raises ValueError: If ``value`` is not a string or is empty
    """
    if isinstance(value, str) and (allow_empty or value):
        return value
    raise ValueError(f"`{name}` must be a {'' if allow_empty else 'non-empty '}string, got {describe(value)}")


def check_instance(name: str, value: Any, types: Any, expected: str) -> Any:
    """
    Check that an argument is an instance of the given types.

    :param name: Name of the argument, for the message
    :param value: The value given
    :param types: A type or a tuple of types, as for ``isinstance``
    :param expected: What is expected, in words, for the message (``"a TaskSequence or None"``)
    :return: The value
    :raises ValueError: If ``value`` is not an instance of ``types``
    """
    if isinstance(value, types):
        return value
    raise ValueError(f"`{name}` must be {expected}, got {describe(value)} of type {type(value).__name__}")


def check_optional_mapping(name: str, value: Any) -> Optional[Mapping[str, Any]]:
    """
    Check that an argument is ``None`` or a mapping with string keys (keyword arguments ...).

    :param name: Name of the argument, for the message
    :param value: The value given
    :return: The value
    :raises ValueError: If ``value`` is neither ``None`` nor a mapping with string keys
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"`{name}` must be a dict or None, got {describe(value)} of type {type(value).__name__}")
    bad_keys = [key for key in value if not isinstance(key, str)]
    if bad_keys:
        raise ValueError(f"`{name}` must have string keys, got {bad_keys}")
    return value


def check_optional_callable(name: str, value: Any, expected: str = "a callable or None") -> Any:
    """
    Check that an argument is ``None`` or callable (a factory, a wrapper class ...).

    :param name: Name of the argument, for the message
    :param value: The value given
    :param expected: What is expected, in words, for the message
    :return: The value
    :raises ValueError: If ``value`` is neither ``None`` nor callable
    """
    if value is None or callable(value):
        return value
    raise ValueError(f"`{name}` must be {expected}, got {describe(value)} of type {type(value).__name__}")


def check_length(name: str, values: Any, expected: int, what: str) -> None:
    """
    Check that a sequence argument has the expected number of entries.

    :param name: Name of the argument, for the message
    :param values: The value given
    :param expected: The number of entries expected
    :param what: What one entry is for, for the message (``"task (tasks 'a', 'b')"`` gives ``one entry per task
        (tasks 'a', 'b')``)
    :raises ValueError: If ``values`` is not a sequence (a string is not) or has another length
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sized):
        raise ValueError(f"`{name}` must be a list with one entry per {what}: {expected} entries, got {describe(values)}")
    if len(values) != expected:
        raise ValueError(f"`{name}` must have one entry per {what}: {expected} entries, got {len(values)}: {values!r}")


def check_keywords(where: str, given: Iterable[str], allowed: Collection[str]) -> None:
    """
    Refuse keyword arguments that a function does not know, listing those it does.

    :param where: The function (and what it was called for), for the message (``"make_suite('flip')"``)
    :param given: The keyword arguments given
    :param allowed: Those accepted
    :raises TypeError: If one of ``given`` is not in ``allowed``
    """
    unknown = [key for key in given if key not in allowed]
    if unknown:
        raise TypeError(
            f"{where} got unknown keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(map(repr, sorted(allowed)))}"
        )
