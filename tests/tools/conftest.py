"""Fixtures of the tool library tests: a fresh library file and a few small tools."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from creator.tools import ToolLibrary

INTEREST = '''
def compound_interest(principal: float, rate: float, years: float, periods: int = 1) -> float:
    """Interest earned on a principal at an annual rate, compounded periods times a year."""
    amount = principal * (1 + rate / periods) ** (periods * years)
    return amount - principal
'''

CIRCLE = '''
import math

def circle_area(radius: float) -> float:
    """Area of a circle from its radius."""
    return math.pi * radius ** 2
'''

SPEED = '''
def average_speed(distance: float, hours: float) -> float:
    """Average speed of a trip: distance travelled divided by the time taken."""
    return distance / hours
'''

PRIMES = '''
def count_primes(limit: int) -> int:
    """How many prime numbers are below a limit (sieve of Eratosthenes)."""
    sieve = [True] * limit
    for i in range(2, int(limit ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = [False] * len(sieve[i * i :: i])
    return sum(sieve[2:])
'''

MEAN = '''
def table_mean(values: list[float]) -> float:
    """Mean of the numbers in a table column."""
    return sum(values) / len(values)
'''

TOOLS = {
    "compound_interest": (
        INTEREST,
        "Anna puts $2,000 in a bank at 3% compounded yearly. How much interest after 4 years?",
    ),
    "circle_area": (CIRCLE, "A circular garden has a radius of 7 m. What is its area?"),
    "average_speed": (SPEED, "A car drives 150 km in 2.5 hours. What is its average speed?"),
    "count_primes": (PRIMES, "How many primes are there below 100?"),
    "table_mean": (MEAN, "What is the mean of the numbers in the table?"),
}


@pytest.fixture
def library(tmp_path: Path) -> Iterator[ToolLibrary]:
    with ToolLibrary(tmp_path / "tools.sqlite") as lib:
        yield lib


@pytest.fixture
def filled(library: ToolLibrary) -> ToolLibrary:
    for code, problem in TOOLS.values():
        library.add(code, problem=problem, problem_id="p", dataset="math", ran=True, verified=True)
    return library
