"""Is a contact's name value usable as a name in a greeting? Shared by the renderer's ``as_name``
filter (which replaces or tidies such values) and the fallbacks guard (which warns when copy prints
them as they are): an e-mail address, all capitals, or junk a bad import or a sign-up form leaves
(digits, one letter, one character repeated, keyboard runs, test words, no vowel in a long word)."""

from __future__ import annotations

import re

__all__ = ["name_problem", "tidy_name", "NAME_PROBLEMS"]

NAME_PROBLEMS = ("email", "all_caps", "junk")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "abcdefghijklmnopqrstuvwxyz")
_TEST_WORDS = frozenset({"test", "tester", "testing", "asdf", "qwerty", "foo", "bar", "foobar", "xxx", "xx", "abc",
                         "unknown", "none", "null", "na", "n/a", "name", "firstname", "first name", "lastname",
                         "last name", "fname", "lname", "user", "customer", "placeholder", "sample", "dummy",
                         "lorem", "ipsum", "anonymous", "noname", "no name", "nobody", "someone", "me"})
_LATIN_VOWELS = set("aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿœ")


def _keyboard_run(word: str) -> bool:
    return len(word) >= 4 and any(word in row or word in row[::-1] for row in _KEYBOARD_ROWS)


def name_problem(value: str) -> str | None:
    """'email', 'all_caps' or 'junk' when ``value`` should not greet anyone as it is, else None."""
    text = " ".join(value.split())
    if not text:
        return None
    if _EMAIL.fullmatch(text) or "@" in text:
        return "email"
    lowered = text.casefold()
    letters = [c for c in text if c.isalpha()]
    if lowered in _TEST_WORDS or not letters or any(c.isdigit() for c in text) or len(letters) == 1:
        return "junk"
    for word in re.findall(r"[^\W\d_]+", lowered):
        if len(word) >= 3 and len(set(word)) == 1 or _keyboard_run(word):
            return "junk"
        latin = all("a" <= c <= "z" or c in _LATIN_VOWELS for c in word)
        if latin and len(word) >= 5 and not (set(word) & _LATIN_VOWELS):
            return "junk"
    cased = [c for c in letters if c.lower() != c.upper()]  # scripts with capitals only
    if len(cased) >= 2 and all(c.isupper() for c in cased):
        return "all_caps"
    return None


def tidy_name(value: str) -> str | None:
    """The value as a greeting should print it: all capitals become title case; None for an e-mail
    address or junk."""
    problem = name_problem(value)
    if problem in {"email", "junk"}:
        return None
    text = " ".join(value.split())
    if problem == "all_caps":
        return text.title()
    return text
