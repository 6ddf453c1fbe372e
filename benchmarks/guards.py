"""Benchmark the guards: median time to guard a 5-segment x 3-variant plan (every fast guard,
including each variant's renders against the edge-case profiles), variants per second, the
effect of a 100- versus a 10,000-product fact sheet, SpamAssassin on its own, and how guard time
grows with the length of the copy (3 KB, 30 KB, 300 KB bodies of one repeated unit: ordinary copy
and the hostile units that once made it quadratic; the 300 KB body is past the pipeline's 100,000
character limit, which is raised here only to measure the growth).

    nice -n 10 .venv/bin/python benchmarks/guards.py [--json] [--rounds N] [--no-growth]

"warm" re-guards the same plan (compiled templates and Markdown cached, as when a reviewer
re-checks an edit); "cold" guards a plan whose copy is new every round (every template
compiles and every body's Markdown parses again). Times are CPU time of this process
(time.process_time), because the machine is shared and wall time mostly measures the
neighbours; wall-clock medians are printed too, and so are this machine's Jinja2 compile and
render times at the same moment, to compare with other machines. The last line is JSON
with --json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.plan import Plan  # noqa: E402
from copilot.render import variant_names  # noqa: E402
from copilot.workspace import Product, Workspace, load_workspace  # noqa: E402
from guards import run_deliverability, run_plan  # noqa: E402
from guards.facts_index import fact_index  # noqa: E402
from guards.profiles import edge_profiles  # noqa: E402

SEGMENTS = [
    ("trail_lovers", {"type": "field", "field": "favorite_activity", "op": "eq", "value": "trail"}, "favorite_activity",
     "favorite activity is trail", "trail shoes for the trail runs they told us they like"),
    ("road_regulars", {"type": "field", "field": "favorite_activity", "op": "eq", "value": "road"}, "favorite_activity",
     "favorite activity is road", "road shoes matched to the road running they told us about"),
    ("vip", {"type": "field", "field": "loyalty_tier", "op": "eq", "value": "vip"}, "loyalty_tier",
     "loyalty tier is vip", "a thank-you for their loyalty tier"),
    ("high_mileage", {"type": "field", "field": "weekly_distance_km", "op": "gte", "value": 40}, "weekly_distance_km",
     "weekly distance of 40 km or more", "durability message for their weekly distance"),
    ("everyone_else", {"type": "field", "field": "last_order_at", "op": "older_than_days", "value": 180}, "last_order_at",
     "last order more than 180 days ago", "15% come-back offer after their last order"),
]
BODIES = [
    "Hi {{ first_name }},\n\nIt has been a while since your last order. Come back for 15% off one order with code "
    "COMEBACK15 until March 19, 2027.\n\nThe **Cloudstride 3** ($140) is our best-selling shoe, and the Ridgeline "
    "Trail ($150) is rated 4.7 out of 5 by 2,140 runners.\n\n- Free returns within 60 days, even on worn shoes.\n"
    "- Free shipping on orders over $75.\n\nSee you out there,\nThe Northpeak team",
    "Hello {{ first_name }},\n\nNew foam, same fit. Take 15% off one order with code COMEBACK15 until March 19, 2027, "
    "and try the [Tempo Fly](https://northpeak.example/p/tempo-fly) at $160.\n\n9 out of 10 testers reported fewer "
    "blisters with Merino Run Socks. Pair them with your next pair.\n\nHappy running,\nThe Northpeak team",
    "Hi {{ first_name }},\n\nYour next run deserves fresh shoes. Come back for 15% off with code COMEBACK15 "
    "until March 19, 2027.\n\n1. Pick a pair: Cloudstride 3 or Ridgeline Trail.\n2. Use the code at checkout.\n"
    "3. If the fit is off, we exchange it for free within 30 days.\n\nThe Northpeak team",
]


def build_plan(salt: str = "") -> Plan:
    segments, variants = [], []
    for priority, (name, rule, field, attribute, tactic) in enumerate(SEGMENTS, start=1):
        segments.append({
            "name": name, "priority": priority, "rule": rule,
            "hypothesis": {"attribute": attribute, "tactic": tactic, "metric": "conversion_rate",
                           "expected_change": "+2 points vs the control"},
            "field_rationales": [{"field": field, "rationale": f"{tactic}; it changes which shoes they see"}],
        })
        for k, key in enumerate("ABC"):
            variants.append({
                "segment": name, "key": key,
                "subject": ["{{ first_name }}, 15% off your next pair", "15% off to come back, {{ first_name }}",
                            "Come back for 15% off"][k] + salt,
                "preheader": "Code COMEBACK15 until March 19, 2027",
                "body": BODIES[k] + salt,
                "cta_text": ["Redeem your offer", "Come back for 15% off", "Shop the latest"][k],
                "cta_url": "https://northpeak.example/winback?utm_campaign=winback&utm_content=" + name + key,
                "merge_fields": [{"name": "first_name", "fallback": "there"}],
            })
    return Plan.model_validate({
        "title": "Win back lapsed runners", "brief": "win back runners with 15% off before the spring sale",
        "goal": "winback", "segments": segments,
        "trigger": {"kind": "schedule", "send_at": "2027-03-01T17:00:00Z", "steps": [{"type": "send", "message": "email_1"}]},
        "variants": variants, "offers": ["winback15"], "send_window": {"start": "2027-03-01", "end": "2027-03-05"},
    })


def with_products(ws: Workspace, total: int, seed: int = 7) -> Workspace:
    """The demo workspace with synthetic products added until the fact sheet has ``total``."""
    rng = random.Random(seed)
    first = ["Aurora", "Basalt", "Cinder", "Drift", "Ember", "Fjord", "Glacier", "Harbor", "Iris", "Juniper", "Kestrel",
             "Lumen", "Meridian", "Nimbus", "Onyx", "Pinnacle", "Quartz", "Rapid", "Sierra", "Tundra", "Umber",
             "Vector", "Willow", "Xenon", "Yarrow", "Zenith", "Alpine", "Breeze", "Canyon", "Delta", "Echo", "Falcon",
             "Granite", "Horizon", "Ignite", "Jetstream", "Kinetic", "Lagoon", "Mistral", "Nova"]
    second = ["Glide", "Stride", "Pulse", "Flow", "Trek", "Dash", "Surge", "Drift", "Volt", "Arc", "Loop", "Crest",
              "Path", "Rush", "Spark", "Wave", "Peak", "Ridge", "Trace", "Swift"]
    products = list(ws.facts.products)
    seen = {p.name for p in products}
    while len(products) < total:
        name = f"{rng.choice(first)} {rng.choice(second)} {rng.randint(1, 99)}"
        if name in seen:
            continue
        seen.add(name)
        products.append(Product(sku=f"SYN-{len(products)}", name=name, category="running_shoes",
                                price=rng.randint(20, 250), url="https://northpeak.example/p/syn"))
    return Workspace(path=ws.path, brand=ws.brand, voice=ws.voice,
                     facts=ws.facts.model_copy(update={"products": products}), catalog=ws.catalog)


WALL: dict[str, float] = {}


def timed(fn: Any, rounds: int, label: str = "") -> tuple[float, list[Any]]:
    """Median CPU seconds per call (wall-clock median kept in WALL[label])."""
    cpu, wall, results = [], [], []
    for i in range(rounds):
        start, start_wall = time.process_time(), time.perf_counter()
        results.append(fn(i))
        cpu.append(time.process_time() - start)
        wall.append(time.perf_counter() - start_wall)
    WALL[label] = statistics.median(wall)
    return statistics.median(cpu), results


def jinja_calibration() -> tuple[float, float]:
    """(compile ms, render us) of a short template on this machine, now."""
    from jinja2 import Environment

    env = Environment()
    source = "Hi {{ first_name }}, take 15% off with code COMEBACK15 until March 19. "
    compile_s, _ = timed(lambda i: env.from_string(source + str(i)), 200)
    template = env.from_string(source)
    render_s, _ = timed(lambda i: [template.render(first_name="Alex") for _ in range(100)], 20)
    return compile_s * 1000, render_s / 100 * 1e6


# Units repeated into 3 KB, 30 KB and 300 KB bodies: ordinary copy, then input that once cost time
# growing with the square of the length (unclosed tags, dates and amounts with no sentence end).
GROWTH_UNITS = ["Hi {{ first_name }}, take 15% off one order with code COMEBACK15 until March 19, 2027.\n",
                "$9 ", "{", "{{ a ", "March 19, ", "Last chance! ", "20% ", "AB ", "1,", "“q” ", "[A", "<a ",
                "Cloudstride 3 ", "20% off the Tempo Fly "]
GROWTH_SIZES = (3_000, 30_000, 300_000)


def growth(base: Workspace) -> dict[str, Any]:
    """CPU seconds to guard one variant whose body is each unit repeated to each size, and the
    300 KB / 3 KB and 300 KB / 30 KB ratios (linear: about 100 and 10)."""
    from guards import pipeline

    limit = pipeline.MAX_FIELD_CHARS["body"]
    pipeline.MAX_FIELD_CHARS["body"] = max(GROWTH_SIZES) + 1
    out: dict[str, Any] = {}
    try:
        plan = build_plan()
        for unit in GROWTH_UNITS:
            times = []
            for size in GROWTH_SIZES:
                body = (unit * (size // len(unit) + 1))[:size]
                variant = plan.variants[0].model_copy(update={"body": body})
                one = plan.model_copy(update={"variants": [variant]})
                start = time.process_time()
                findings = run_plan(one, base)
                times.append(time.process_time() - start)
            out[unit.strip()[:24] or repr(unit)] = {
                "seconds": [round(t, 3) for t in times], "findings_300kb": len(findings),
                "ratio_300k_3k": round(times[2] / max(times[0], 1e-4), 1), "ratio_300k_30k": round(times[2] / max(times[1], 1e-4), 1)}
    finally:
        pipeline.MAX_FIELD_CHARS["body"] = limit
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--no-growth", action="store_true", help="skip the 3 KB / 30 KB / 300 KB growth runs")
    args = parser.parse_args()
    base = load_workspace()
    plan = build_plan()
    n_variants = len(plan.variants)
    ws100, ws10k = with_products(base, 100), with_products(base, 10_000)
    start = time.perf_counter()
    fact_index(ws10k)
    index_build_s = time.perf_counter() - start
    fact_index(ws100)
    run_plan(plan, ws100)  # warm the caches once
    findings = run_plan(plan, ws100)
    warm_100, _ = timed(lambda i: run_plan(plan, ws100), args.rounds, "warm_100")
    run_plan(plan, ws10k)
    warm_10k, _ = timed(lambda i: run_plan(plan, ws10k), args.rounds, "warm_10k")
    fresh = [build_plan(f" #{i}") for i in range(args.rounds)]
    cold_100, _ = timed(lambda i: run_plan(fresh[i], ws100), args.rounds, "cold_100")
    fresh = [build_plan(f" v{i}") for i in range(args.rounds)]
    cold_10k, _ = timed(lambda i: run_plan(fresh[i], ws10k), args.rounds, "cold_10k")
    compile_ms, render_us = jinja_calibration()
    start = time.perf_counter()
    deliverability = run_deliverability(plan, base)
    deliverability_s = time.perf_counter() - start
    checked = not any(f.code == "DELIV_NOT_CHECKED" for f in deliverability)
    result = {
        "plan": f"{len(plan.segments)} segments x 3 variants = {n_variants} variants",
        "findings_on_benchmark_plan": len(findings),
        "median_cpu_ms_per_plan_warm_100_facts": round(warm_100 * 1000, 2),
        "median_cpu_ms_per_plan_warm_10000_facts": round(warm_10k * 1000, 2),
        "median_cpu_ms_per_plan_cold_100_facts": round(cold_100 * 1000, 2),
        "median_cpu_ms_per_plan_cold_10000_facts": round(cold_10k * 1000, 2),
        "median_wall_ms_per_plan_warm_100_facts": round(WALL["warm_100"] * 1000, 2),
        "median_wall_ms_per_plan_cold_100_facts": round(WALL["cold_100"] * 1000, 2),
        "variants_per_second_warm_with_edge_renders": round(n_variants / warm_100),
        "variants_per_second_cold_with_edge_renders": round(n_variants / cold_100),
        "growth_100_to_10000_facts_warm": round(warm_10k / warm_100, 2),
        "growth_100_to_10000_facts_cold": round(cold_10k / cold_100, 2),
        "fact_index_build_ms_10000_facts": round(index_build_s * 1000, 1),
        "deliverability_seconds_whole_plan": round(deliverability_s, 2),
        "deliverability_checked": checked,
        "jinja_compile_ms_here_now": round(compile_ms, 3),
        "jinja_render_us_here_now": round(render_us, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "rounds": args.rounds,
    }
    result["edge_profiles_rendered_per_variant"] = len(edge_profiles(variant_names(plan.variants[0]), base))
    result["median_cpu_ms_per_variant_cold"] = round(cold_100 * 1000 / n_variants, 3)
    if not args.no_growth:
        result["growth_3kb_30kb_300kb"] = growth(base)
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for unit, figures in value.items():
                print(f"  {unit!r:28} cpu s {figures['seconds']}  300KB/3KB {figures['ratio_300k_3k']:>6}  "
                      f"300KB/30KB {figures['ratio_300k_30k']:>5}  findings at 300KB {figures['findings_300kb']}")
            continue
        print(f"{key:40} {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
