"""What the failure categories cost Allure: each failed test's message is searched with each category's
pattern (``new RegExp(pattern, "s").test(message)``, as Allure 3 does), in Node.js, for the patterns of
``conformance.reporting.metadata.CATEGORIES`` and for the same patterns wrapped in ``[\\s\\S]*`` (their
earlier form, which made each search cost the square of the message's length).

    python bench/category_regex.py [--messages N] [--chars C]

The messages are failure messages as long as the Allure results keep them (``limits.RESULT_MESSAGE_CHARS``)
and name no code, so every pattern is tried in full, as for an ordinary conformance failure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

from conformance import limits
from conformance.reporting.metadata import CATEGORIES

_NODE = r"""
const [patterns, message, count] = JSON.parse(require("fs").readFileSync(0, "utf8"));
const started = process.hrtime.bigint();
let matched = 0;
for (let i = 0; i < count; i++) for (const p of patterns) if (new RegExp(p, "s").test(message)) matched++;
console.log(JSON.stringify({ms: Number(process.hrtime.bigint() - started) / 1e6, matched}));
"""


def _time(node: str, patterns: list[str], message: str, count: int) -> float:
    done = subprocess.run(
        [node, "-e", _NODE],
        input=json.dumps([patterns, message, count]),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(done.stdout)["ms"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100, help="failed tests (default: 100)")
    parser.add_argument("--chars", type=int, default=limits.RESULT_MESSAGE_CHARS, help="message length")
    args = parser.parse_args()
    node = shutil.which("node")
    if node is None:
        print("category_regex: needs Node.js", file=sys.stderr)
        return 2
    line = "  [ERR-005] A validation error's source.pointer names the offending field (100 times): x y z\n"
    message = ("100 conformance violations in POST http://127.0.0.1/comms/v1/messages -> 400:\n" + line * 80)[
        : args.chars
    ]
    failed = [c for c in CATEGORIES if "failed" in c["matchedStatuses"] and "messageRegex" in c]
    current = [str(c["messageRegex"]) for c in failed]
    wrapped = [f"[\\s\\S]*{p}[\\s\\S]*" for p in current]
    for name, patterns in (("current patterns", current), ("wrapped in [\\s\\S]*", wrapped)):
        ms = _time(node, patterns, message, args.messages)
        print(
            f"{name:<22} {ms:>10.1f} ms for {args.messages} failed tests, messages of {len(message):,} chars"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
