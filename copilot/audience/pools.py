"""Seeded Faker pools of names and places per market, sampled later with numpy.

Calling Faker once per contact is far too slow for a million rows, so each market
gets a few hundred names and real places (with their time zones) drawn once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from faker import Faker

__all__ = ["Market", "MARKETS", "MarketPool", "market_pools", "ascii_slug"]


@dataclass(frozen=True)
class Market:
    country: str
    faker_locale: str
    locale: str  # the brand locale the contact reads in
    weight: float


# Where the demo brand's subscribers live; weights sum to 1.
MARKETS: tuple[Market, ...] = (
    Market("US", "en_US", "en", 0.50),
    Market("GB", "en_GB", "en", 0.09),
    Market("CA", "en_CA", "en", 0.06),
    Market("AU", "en_AU", "en", 0.04),
    Market("ES", "es_ES", "es", 0.08),
    Market("MX", "es_MX", "es", 0.07),
    Market("DE", "de_DE", "de", 0.12),
    Market("AT", "de_AT", "de", 0.04),
)

_POOL_NAMES = 400
_POOL_PLACES = 200


@dataclass(frozen=True)
class MarketPool:
    market: Market
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    # Parallel tuples: a real place name and its IANA time zone.
    cities: tuple[str, ...]
    timezones: tuple[str, ...]
    first_ascii: tuple[str, ...]
    last_ascii: tuple[str, ...]


_TRANSLIT = str.maketrans({"ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "ł": "l", "Ł": "l"})


def ascii_slug(text: str) -> str:
    """'José-Müller' -> 'josemuller': letters only, for email local parts."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return re.sub(r"[^a-z]", "", decomposed.encode("ascii", "ignore").decode().lower())


@lru_cache(maxsize=4)
def market_pools(seed: int) -> tuple[MarketPool, ...]:
    """One pool per market in MARKETS order; the same seed gives the same pools."""
    pools = []
    for i, market in enumerate(MARKETS):
        fake = Faker(market.faker_locale)
        fake.seed_instance(seed * 1009 + i)
        first = tuple(fake.first_name() for _ in range(_POOL_NAMES))
        last = tuple(fake.last_name() for _ in range(_POOL_NAMES))
        places = [fake.local_latlng(country_code=market.country, coords_only=False) for _ in range(_POOL_PLACES)]
        pools.append(MarketPool(
            market=market,
            first_names=first,
            last_names=last,
            cities=tuple(p[2] for p in places),
            timezones=tuple(p[4] for p in places),
            first_ascii=tuple(ascii_slug(n) or "runner" for n in first),
            last_ascii=tuple(ascii_slug(n) or "runner" for n in last),
        ))
    return tuple(pools)
