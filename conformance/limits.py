"""Every limit on what a run writes, in one place: failure messages, exchanges attached as evidence, and
the report folder (HTML generation, history, manifest).

This module sits at the package root and imports nothing, so that both the checks (which never import
reporting) and the reporting layer can read it. Change a number here and every writer follows; the
bounds are proven by ``tests/reporting/test_limits.py`` and measured by ``bench/report_size.py``.

Why these sizes: the single-file HTML embeds every attachment and failure message (base64), and the Allure
CLI matches each failure message against the category patterns (``reporting/metadata.py``) with
backtracking regular expressions whose cost grows with the square of the message's length. A 490 KB
message per failed test made a failing run's HTML take longer than its time limit; one short line per
broken rule keeps even a run where every test fails to seconds.
"""

from __future__ import annotations

# -- failure messages (conformance.checks.ConformanceViolation) -----------------------------------------
#: Broken rules named in one failure message, one line each; the rest are counted ("... and 3 more rules").
FAILURE_RULES_SHOWN = 8
#: Examples quoted on a rule's line when it was broken several times ("... and 97 more").
FAILURE_EXAMPLES_PER_RULE = 3
#: Characters of a rule's detail when it was broken once ...
FAILURE_DETAIL_CHARS = 400
#: ... and of each example quoted when it was broken several times.
FAILURE_EXAMPLE_CHARS = 300
#: Characters of the exchange named in a failure message's first line (method, URL, status).
FAILURE_HEADING_CHARS = 240
#: Hard cap on a whole failure message (terminal, JUnit, Allure all show it).
FAILURE_MESSAGE_CHARS = 2_000
#: Bytes of a response body quoted in a suite assertion message (conformance.suite._expect.describe).
FAILURE_BODY_BYTES = 600
#: What the Allure results keep of any failure message, whatever raised it (JUnit keeps it whole) ...
RESULT_MESSAGE_CHARS = 4_000
#: ... and of its traceback, once the lines repeating the message are left out (its start, where the
#: test failed, and its end, where the exception was raised).
RESULT_TRACE_CHARS = 1_500

# -- exchanges as evidence (conformance.reporting.exchange_text, conformance.reporting.evidence) ---------
#: Characters of a body shown for a test that failed (after indenting JSON); then one line gives how much
#: was cut, the whole size and the sha256.
BODY_PREVIEW_CHARS = 16 * 1024
#: Characters of a body shown for a test that passed.
COMPACT_BODY_PREVIEW_CHARS = 1024
#: A request body up to this many characters is repeated in the curl line (``--data-raw``); a longer one is
#: shown once, as sent, and the curl line reads it from a file.
CURL_INLINE_BODY_CHARS = 4 * 1024
#: A failing test attaches its first exchanges in full ...
FAILING_HEAD_EXCHANGES = 20
#: ... and its last ones (where a failure usually is), with a note of how many came between.
FAILING_TAIL_EXCHANGES = 5
#: A passing test lists its exchanges by title, up to this many, then notes how many more it sent ...
PASSING_LISTED_EXCHANGES = 20
#: ... and attaches compactly (one attachment each, no curl line) at most this many of them: those that are
#: the run's first passing example of their kind of answer (method, path without ids, status). A file for
#: every passing test's exchange was a fifth of a clean run on disk (about 1,000 files of 4 KiB).
PASSING_ATTACHED_EXCHANGES = 3
#: Characters of attachments the whole run may write; later exchanges are listed by title only.
RUN_ATTACHMENT_CHARS = 8 * 1024 * 1024
#: Of that, what passing tests may use, so that failures late in a run still get their evidence.
RUN_PASSING_ATTACHMENT_CHARS = 3 * 1024 * 1024

# -- the report folder (conformance.reporting.allure_html; the manifest is bounded by the folder's files) --
#: Seconds the Allure CLI may take to build the HTML; past that the run says so in one line.
HTML_GENERATE_TIMEOUT_S = 180
#: Runs kept in history.jsonl (the trend) when a report folder is reused; older lines are dropped. Each run
#: kept adds about 0.17 MB to history.jsonl and as much again to the HTML (every test's history), so five
#: (a working week of nightly runs) keep a reused folder near a single run's size.
HISTORY_RUNS = 5
#: Characters of a failure message kept per failed test in history.jsonl (for a reader of the file).
HISTORY_MESSAGE_CHARS = 200

# -- onboarding evidence (conformance.reporting.onboarding) ---------------------------------------------
#: Messages created that the evidence table lists (single creates and batch members); the rest are counted.
ONBOARDING_MESSAGES_LISTED = 1_000
#: Of each batch, the messages listed: a 40,000-message batch is one batch row and its first few messages.
ONBOARDING_BATCH_MESSAGES_LISTED = 5
#: Tokens obtained that the table lists (one per key and token lifetime, so few); the rest are counted.
ONBOARDING_TOKENS_LISTED = 200
