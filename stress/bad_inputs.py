"""``python stress/bad_inputs.py [--json FILE]``: the bad-input corpus.

Every case feeds one bad input (a source URL, a branch, a probe script, a
Jenkins answer, a notification, an admin form) to the real code path, on a
scratch database and a Redis of its own, and expects a specific clear error
with no state moved. Exit status 0 only when every case was refused clearly,
none moved state and none crashed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stress.services import RedisServer, scratch_database  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="FILE", help="write the report here as JSON")
    parser.add_argument("-k", metavar="TEXT", help="only the cases whose name contains TEXT")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bad-inputs-")))
        redis_server = RedisServer(tmp / "redis").start()
        stack.callback(redis_server.stop)
        database = stack.enter_context(scratch_database(tmp))
        os.environ.update(
            DJANGO_SETTINGS_MODULE="stress.settings", DATABASE_URL=database,
            REDIS_URL=redis_server.url, CAPOMASTRO_CHANGES_DATA_DIR=str(tmp / "data"),
            CAPOMASTRO_CHANGES_REDIS_PREFIX="bad-inputs:", STRESS_LOG_FILE=str(tmp / "app.log"),
            STRESS_PROBE_TIMEOUT="3", CAPOMASTRO_CHANGES_QUEUE=f"bad-inputs-{os.getpid()}",
        )  # fmt: skip
        import django

        django.setup()
        from stress.corpus.runner import run_corpus

        report = run_corpus(tmp, args.k)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
