"""``python stress/chaos.py [--quick] [--json FILE]``: the invariants, under faults.

It runs the real system on loopback (a scratch database, its own Redis, three
Celery workers, beat with a one-second sweep, the notification endpoint, the
Jenkins stand-in with faults on) against git and bzr sources that change at
random, SIGKILLs a worker mid-task and restarts Redis once, lets everything
settle, and then measures the six invariants (convergence among them: every
enabled dependency built at its source's tip, or shown behind with a reason).
Exit status 0 only when every invariant count is 0 and every kind of fault
really happened.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stress.services import RedisServer, free_port, scratch_database  # noqa: E402

QUICK = {"sources": 50, "commits": 90, "churn_seconds": 75, "settle_seconds": 150}
FULL = {"sources": 50, "commits": 300, "churn_seconds": 420, "settle_seconds": 300}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run (under 5 minutes)")
    parser.add_argument("--json", metavar="FILE", help="write the report here as JSON")
    parser.add_argument("--seed", type=int, default=None, help="seed of every random choice")
    parser.add_argument("--keep", metavar="DIR", help="keep logs and repositories in DIR")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    plan = dict(QUICK if args.quick else FULL, seed=args.seed or int(time.time()))
    with contextlib.ExitStack() as stack:
        tmp = Path(args.keep or stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-")))
        tmp.mkdir(parents=True, exist_ok=True)
        redis_server = RedisServer(tmp / "redis").start()
        stack.callback(redis_server.stop)
        database = stack.enter_context(scratch_database(tmp))
        env = environment(tmp, database, redis_server.url, free_port())
        os.environ.update(env)
        import django

        django.setup()
        from stress.run import ChaosRun

        report = ChaosRun(plan, tmp, env, redis_server, stack).execute()
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0 if report["ok"] else 1


def environment(tmp: Path, database: str, redis_url: str, web_port: int) -> dict[str, str]:
    """What the harness and every process it starts share."""
    run = f"chaos-{os.getpid()}"
    return {
        "DJANGO_SETTINGS_MODULE": "stress.settings",
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "CAPOMASTRO_CHANGES_QUEUE": run,
        "CAPOMASTRO_CHANGES_REDIS_PREFIX": f"{run}:",
        "CAPOMASTRO_CHANGES_DATA_DIR": str(tmp / "data"),
        "CAPOMASTRO_CHANGES_ALLOW_FILE_URLS": "1",
        "CAPOMASTRO_CHANGES_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "STRESS_LOG_FILE": str(tmp / "app.log"),
        "STRESS_WEB_PORT": str(web_port),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent.parent),
                                                    os.environ.get("PYTHONPATH")])),
    }  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
