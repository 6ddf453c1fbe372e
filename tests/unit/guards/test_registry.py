"""The registry and the README agree: every code is documented with its severity and an example."""

from __future__ import annotations

import re
from pathlib import Path

import guards
from guards.registry import GUARD_MODULES, SEPARATE_PROCESS_MODULES

README = Path(guards.__file__).resolve().parent / "README.md"
ROW = re.compile(r"^\| `([A-Z_]+)` \| (block|warn|info) \| (.+) \|$", re.M)


def test_every_registered_code_is_documented_with_its_severity_and_an_example() -> None:
    documented = {code: (severity, example.strip()) for code, severity, example in ROW.findall(README.read_text())}
    for code, info in guards.all_codes().items():
        assert code in documented, f"{code} is missing from guards/README.md"
        severity, example = documented[code]
        assert severity == info.severity, f"{code}: README says {severity}, the registry {info.severity}"
        assert len(example) > 10, f"{code} needs an example"


def test_readme_documents_no_code_that_does_not_exist() -> None:
    documented = {code for code, _, _ in ROW.findall(README.read_text())}
    assert documented <= set(guards.all_codes())


def test_each_registered_module_provides_one_guard_named_like_its_codes() -> None:
    loaded = guards.registered_guards() + guards.separate_process_guards()
    assert [g.name for g in loaded] == [m.split(".")[-1] for m in GUARD_MODULES + SEPARATE_PROCESS_MODULES]
    for guard in loaded:
        assert guard.codes and all(code.guard == guard.name for code in guard.codes)
        assert guard.check_plan is not None or guard.check_variant is not None


def test_codes_are_stable_upper_case_identifiers_with_one_prefix_per_guard() -> None:
    prefixes: dict[str, set[str]] = {}
    for code, info in guards.all_codes().items():
        assert re.fullmatch(r"[A-Z]+(_[A-Z0-9]+)+", code)
        prefixes.setdefault(info.guard, set()).add(code.split("_")[0])
    assert all(len(p) == 1 for p in prefixes.values()), prefixes
    assert len({next(iter(p)) for p in prefixes.values()}) == len(prefixes)  # no two guards share one
