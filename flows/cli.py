"""``alien``: the commands users run by hand.

alien run                 run the retrain flow once (Prefect, ephemeral server)
alien serve               serve the nightly deployment (needs a Prefect server)
alien predict [FILE|-]    label + uncertainty with the champion (one text per line, or CSV/JSONL with `text`)
alien champion            show the champion, the previous champion and the version history
alien rollback            move @champion back to @previous-champion
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# Telemetry off and a Prefect startup timeout long enough for a cold ephemeral server;
# set here, at the entry point, never on `import alien`.
ENV_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def _setup_env() -> None:
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


def _read_texts(source: str) -> list[str]:
    from alien.data.sources import read_texts

    if source == "-":
        return [line.rstrip("\n") for line in sys.stdin if line.strip()]
    return read_texts(Path(source))


def cmd_run(args: argparse.Namespace) -> int:
    from flows.retrain import retrain

    retrain(params_path=args.params, push_data=not args.no_push)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from flows.deploy import main as serve

    serve(["--cron", args.cron, "--params", args.params])
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from alien.config import load_params
    from alien.tracking.champion import load_champion

    texts = _read_texts(args.input)
    if not texts:
        raise SystemExit("error: no input texts")
    loaded = load_champion(load_params(args.params).registry)
    if loaded is None:
        raise SystemExit("error: the registry has no champion yet; run `alien run` first")
    version, model = loaded
    pred = model.predict(texts)
    for text, label, u in zip(texts, pred.labels, pred.uncertainty, strict=True):
        print(
            json.dumps(
                {
                    "text": text,
                    "label": model.label_names[int(label)],
                    "uncertainty": round(float(u), 6),
                    "model_version": version,
                }
            )
        )
    return 0


def cmd_champion(args: argparse.Namespace) -> int:
    from alien.config import load_params
    from alien.tracking.registry import history
    from alien.tracking.setup import configure_tracking

    cfg = load_params(args.params).registry
    configure_tracking(cfg)
    rows = history(cfg.model_name)
    if not rows:
        print(f"no versions of {cfg.model_name!r} registered yet")
    for row in rows:
        print(json.dumps(row, default=str))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from alien.config import load_params
    from alien.tracking.registry import rollback
    from alien.tracking.setup import configure_tracking

    cfg = load_params(args.params).registry
    configure_tracking(cfg)
    old, new = rollback(cfg.model_name)
    print(f"{cfg.model_name}@champion: version {old} -> version {new}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alien", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the retrain flow once")
    run.add_argument("--no-push", action="store_true", help="do not push data to the DVC remote")
    run.set_defaults(func=cmd_run)
    serve = sub.add_parser("serve", help="serve the scheduled deployment")
    serve.add_argument("--cron", default="0 2 * * *")
    serve.set_defaults(func=cmd_serve)
    predict = sub.add_parser("predict", help="predict with the champion")
    predict.add_argument("input", nargs="?", default="-", help="file or - for stdin")
    predict.set_defaults(func=cmd_predict)
    sub.add_parser("champion", help="show champion and history").set_defaults(func=cmd_champion)
    sub.add_parser("rollback", help="move @champion back").set_defaults(func=cmd_rollback)
    return parser


def main(argv: list[str] | None = None) -> int:
    _setup_env()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
