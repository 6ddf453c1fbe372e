"""deliverability: build each variant's real message (text and HTML parts, headers) and score
it with the local SpamAssassin, network tests off; rule hits become findings with their scores.

It starts another process and takes seconds, so it is not part of run_plan's fast path:
call ``guards.run_deliverability`` (or ``copilot guard --deliverability``). Without
SpamAssassin installed it reports DELIV_NOT_CHECKED instead of passing silently.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from email.generator import Generator
from io import StringIO
from pathlib import Path

from copilot.errors import RenderError
from copilot.render import build_message, render_variant, variant_names
from guards.context import PlanContext
from guards.finding import Code, Finding, Guard
from guards.profiles import typical_contact

__all__ = ["GUARD", "SPAM_THRESHOLD"]

NOT_CHECKED = Code("DELIV_NOT_CHECKED", "deliverability", "info",
                   "SpamAssassin is not installed here: deliverability was not checked")
SPAM_SCORE = Code("DELIV_SPAM_SCORE", "deliverability", "block", "SpamAssassin scores the email as spam")
SPAM_RULE = Code("DELIV_SPAM_RULE", "deliverability", "warn", "A SpamAssassin rule scoring 1 point or more hits")
SPAM_RULE_MINOR = Code("DELIV_SPAM_RULE_MINOR", "deliverability", "info",
                       "A SpamAssassin rule scoring under 1 point hits")
FAILED = Code("DELIV_ERROR", "deliverability", "warn", "SpamAssassin could not score the messages")

SPAM_THRESHOLD = 5.0  # SpamAssassin's default required_score
_VARIANT_HEADER = "X-Copilot-Guard-Variant"
_TESTS = re.compile(r"([A-Z0-9_]+)=(-?\d+(?:\.\d+)?)")


def check_plan(ctx: PlanContext) -> Iterator[Finding]:
    exe = shutil.which("spamassassin")
    if exe is None:
        yield ctx.finding(NOT_CHECKED, message=(
            "SpamAssassin is not installed, so deliverability was not checked "
            "(Debian: apt-get install spamassassin; scripts/system_deps.sh does it)"),
            evidence={"checked": False})
        return
    plan, ws = ctx.plan, ctx.workspace
    sent_on = plan.send_window.start if plan.send_window else (plan.trigger.send_at.date() if plan.trigger.send_at else None)
    date = f"{sent_on:%a, %d %b %Y} 09:00:00 +0000" if sent_on else "Mon, 01 Mar 2027 09:00:00 +0000"
    domain = ws.brand.sender.from_email.split("@")[-1]
    mbox = StringIO()
    for i, variant in enumerate(plan.variants):
        try:
            rendered = render_variant(variant, typical_contact(variant_names(variant), ws), workspace=ws)
        except RenderError:
            continue  # the fallbacks guard reports why this variant does not render
        digest = hashlib.sha256(variant.model_dump_json().encode()).hexdigest()[:24]
        msg = build_message(rendered, ws, to="recipient@example.com", message_id=f"<{digest}.{i}@{domain}>", date=date)
        msg[_VARIANT_HEADER] = str(i)
        mbox.write("From guard@localhost Mon Mar  1 09:00:00 2027\n")
        Generator(mbox, mangle_from_=True, policy=email.policy.SMTP.clone(linesep="\n")).flatten(msg)
        mbox.write("\n")
    if not mbox.getvalue():
        return
    timeout = float(ctx.options.get("timeout", 120.0))
    with tempfile.TemporaryDirectory(prefix="copilot-spam-") as tmp:
        path = Path(tmp) / "variants.mbox"
        path.write_text(mbox.getvalue(), encoding="utf-8")
        command = [exe, "-L", "-x", "--mbox", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0",
                   "--cf=add_header all Tests _TESTSSCORES(,)_", "--cf=add_header all Score _SCORE_", str(path)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False,
                                  env={"PATH": "/usr/bin:/bin", "HOME": tmp})
        except (OSError, subprocess.TimeoutExpired) as exc:
            yield ctx.finding(FAILED, message=f"SpamAssassin did not finish ({type(exc).__name__}); not checked",
                              evidence={"error": type(exc).__name__})
            return
    if done.returncode not in (0, 1) or "X-Spam-Score" not in done.stdout:
        yield ctx.finding(FAILED, message=f"SpamAssassin failed (exit {done.returncode}): {done.stderr.strip()[:200]}",
                          evidence={"exit": done.returncode})
        return
    yield from _findings(ctx, done.stdout)


def _findings(ctx: PlanContext, output: str) -> Iterator[Finding]:
    for chunk in re.split(r"^From [^\n]*\n", output, flags=re.M):
        if _VARIANT_HEADER not in chunk:
            continue
        msg = email.message_from_string(chunk)
        variant = ctx.plan.variants[int(str(msg[_VARIANT_HEADER]).strip())]
        score = float(str(msg.get("X-Spam-Score", "0")).strip() or 0)
        tests = {name: float(value) for name, value in _TESTS.findall(" ".join(str(msg.get("X-Spam-Tests", "")).split()))}
        where = {"segment": variant.segment, "variant": variant.key, "message_key": variant.message}
        hits = {name: value for name, value in tests.items() if value >= 0.1}  # below: informational
        if score >= SPAM_THRESHOLD:
            yield Finding(guard="deliverability", code=SPAM_SCORE.code, severity=SPAM_SCORE.severity, **where,
                          message=f"SpamAssassin scores this email {score:.1f} (spam at {SPAM_THRESHOLD:g}): "
                                  f"{', '.join(f'{k} +{v:g}' for k, v in sorted(hits.items(), key=lambda x: -x[1]))}",
                          evidence={"score": score, "threshold": SPAM_THRESHOLD, "rules": hits},
                          fix="Fix the rules listed; they are usually phrases, capitals or link text.")
        for name, value in sorted(hits.items(), key=lambda x: -x[1]):
            code = SPAM_RULE if value >= 1.0 else SPAM_RULE_MINOR
            yield Finding(guard="deliverability", code=code.code, severity=code.severity, **where,
                          message=f"SpamAssassin rule {name} hits (+{value:g}; total {score:.1f})",
                          evidence={"rule": name, "score": value},
                          fix="Rephrase the part of the copy this rule looks for.")


GUARD = Guard(
    name="deliverability",
    description="SpamAssassin (local rules, no network tests) scores each variant's rendered message.",
    codes=(NOT_CHECKED, SPAM_SCORE, SPAM_RULE, SPAM_RULE_MINOR, FAILED),
    check_plan=check_plan,
)
