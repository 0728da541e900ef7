"""Serve the ``retrain`` flow as a scheduled deployment (nightly by default).

Needs a Prefect server (the ephemeral one refuses schedules)::

    prefect server start --host 127.0.0.1 &
    PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.deploy --cron "0 2 * * *"
"""

from __future__ import annotations

import argparse

from flows.retrain import retrain


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--name", default="nightly-retrain")
    parser.add_argument("--cron", default="0 2 * * *", help="schedule (default: every night at 02:00)")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    retrain.serve(name=args.name, cron=args.cron, parameters={"params_path": args.params})


if __name__ == "__main__":
    main()
