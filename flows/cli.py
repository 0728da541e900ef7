"""``alien``: the commands users run by hand.

alien run                 run the retrain flow once (Prefect, ephemeral server)
alien serve               serve the nightly deployment (needs a Prefect server)
alien predict [FILE|-]    label + uncertainty with the champion (--alias/--version for another)
alien champion            the registry's versions as a table (--json, --history)
alien rollback --reason   move @champion back to the previous champion and pin it
alien unpin --reason      allow promotions again after a rollback
alien feedback FILE       attach late labels (id,label) to the prediction log (monitor.log)
alien monitor             the prediction log's windows: estimated error, drift, realised error
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

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
    # alien's own INFO lines (fine-tuning progress, the align grid) reach the flow run's log
    "PREFECT_LOGGING_EXTRA_LOGGERS": "alien",
}


def _setup_env() -> None:
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    # Prefect gives the `alien` logger its handlers (PREFECT_LOGGING_EXTRA_LOGGERS) but not a level:
    # without this, INFO progress lines stop at the root logger's WARNING
    logging.getLogger("alien").setLevel(logging.INFO)


def _read_texts(source: str) -> list[str]:
    from alien.data.sources import read_texts

    if source == "-":
        return [line.rstrip("\n") for line in sys.stdin if line.strip()]
    return read_texts(Path(source))


def cmd_run(args: argparse.Namespace) -> int:
    from alien.pipeline.preflight import preflight
    from alien.pipeline.run_lock import project_run_lock

    report = preflight(args.params)  # seconds, before any Prefect server starts
    with project_run_lock("."):  # refuse at once if another run holds the project (the flow re-takes it)
        pass
    checked = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
    print(f"pre-flight passed ({checked})", file=sys.stderr)
    from flows.retrain import retrain
    from flows.temp_server import temporary_server

    with temporary_server("."):  # stopped on any exit; one a SIGKILL left is stopped here next time
        result = retrain(params_path=args.params, push_data=not args.no_push)
    print(f"registry: {result['outcome']}")  # the last line: what happened to the registry
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from flows.deploy import main as serve

    extra = ["--monitor-cron", args.monitor_cron] if args.monitor_cron else []
    serve(["--cron", args.cron, "--params", args.params, *extra])
    return 0


def _registry(args: argparse.Namespace, params: Any = None) -> Any:
    """The configured registry, read-only: a missing sqlite file is refused, never created."""
    from alien.config.params import load_params
    from alien.tracking import Registry

    return Registry.from_config((params or load_params(args.params)).registry)


def cmd_predict(args: argparse.Namespace) -> int:
    from alien.tracking.champion import load_classifier, resolve_version

    texts = _read_texts(args.input)
    if not texts:
        raise SystemExit("error: no input texts")
    from alien.config.params import load_params

    params = load_params(args.params)  # read once: the registry and the prediction log's settings
    registry = _registry(args, params)
    version = resolve_version(registry, alias=args.alias, version=args.version)
    model = load_classifier(registry, version)
    pred = model.predict(texts)
    rows = [  # the pyfunc's columns, so a script can switch between the two
        {
            "text": text,
            "label": model.label_names[int(pred.labels[i])],
            "uncertainty": round(float(pred.uncertainty[i]), 6),
            "raw_uncertainty": round(float(pred.raw_uncertainty[i]), 6),
            "abstain": bool(pred.abstain[i]),
            "model_version": version,
        }
        for i, text in enumerate(texts)
    ]
    from flows.monitor_cli import log_predictions  # monitor.log set: appended, request_id returned

    ids = log_predictions(params.monitor, texts, rows, model_name=registry.model_name, version=str(version))
    for i, row in enumerate(rows):
        print(json.dumps(row if ids is None else {**row, "request_id": ids[i]}))
    return 0


def cmd_champion(args: argparse.Namespace) -> int:
    from alien.tracking.listing import render, render_history, report

    registry = _registry(args)
    if args.history:
        events = registry.events()
        print(
            json.dumps(events, indent=2) if args.json else render_history(events),
            end="\n" if args.json else "",
        )
        return 0
    data = report(registry)
    print(
        json.dumps(data, indent=2, default=str) if args.json else render(data), end="\n" if args.json else ""
    )
    return 0


def _write(args: argparse.Namespace, action: str) -> int:
    registry = _registry(args)
    with registry.lock(timeout=args.lock_timeout):
        if action == "rollback":
            old, new = registry.rollback(reason=args.reason)
            print(
                f"{registry.model_name}@champion: version {old} -> version {new} (pinned; `alien unpin` to release)"
            )
        else:
            version = registry.unpin(reason=args.reason)
            print(f"{registry.model_name}: champion v{version} unpinned; the next passing run may promote")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    return _write(args, "rollback")


def cmd_unpin(args: argparse.Namespace) -> int:
    return _write(args, "unpin")


def _registry_commands(sub: Any) -> None:
    predict = sub.add_parser("predict", help="predict with the champion (or --alias / --version)")
    predict.add_argument("input", nargs="?", default="-", help="file or - for stdin")
    which = predict.add_mutually_exclusive_group()
    which.add_argument("--alias", help="a registry alias, e.g. challenger (default: champion)")
    which.add_argument("--version", help="a registered version number")
    predict.set_defaults(func=cmd_predict)
    champion = sub.add_parser("champion", help="versions, champion, pin, orphans, abandoned runs")
    champion.add_argument("--json", action="store_true", help="JSON instead of a table")
    champion.add_argument("--history", action="store_true", help="promotions and rollbacks: who, when, why")
    champion.set_defaults(func=cmd_champion)
    for name, func, text in (
        ("rollback", cmd_rollback, "move @champion back to the previous champion and pin it"),
        ("unpin", cmd_unpin, "allow promotions again after a rollback"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("--reason", required=True, help="why (recorded in the history)")
        command.add_argument(
            "--lock-timeout", type=float, default=60.0, help="seconds to wait for a registration"
        )
        command.set_defaults(func=func)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alien", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--project",
        help="the project folder (default: the nearest folder from here upwards that holds params.yaml)",
    )
    parser.add_argument(
        "--params", default="params.yaml", help="params file (default: the project's params.yaml)"
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the retrain flow once")
    run.add_argument("--no-push", action="store_true", help="do not push data to the DVC remote")
    run.set_defaults(func=cmd_run)
    serve = sub.add_parser("serve", help="serve the scheduled deployment")
    serve.add_argument("--cron", default="0 2 * * *")
    serve.add_argument("--monitor-cron", help="also serve the monitor flow on this schedule (UTC)")
    serve.set_defaults(func=cmd_serve)
    _registry_commands(sub)
    from flows.monitor_cli import add_commands

    add_commands(sub)  # feedback, monitor
    return parser


def find_project(start: Path) -> Path:
    """``start`` or its nearest parent holding ``params.yaml`` (``start`` when none does)."""
    for folder in (start, *start.parents):
        if (folder / "params.yaml").is_file():
            return folder
    return start


def _enter_project(args: argparse.Namespace) -> Path:
    """Make the project folder the working directory (its paths are relative to it).

    Paths typed on the command line (``--params``, the predict input) stay relative to
    where the user is. Returns the folder to return to.
    """
    here = Path.cwd()
    if args.project is not None:
        project = (here / args.project).resolve()
        if not (project / "params.yaml").is_file():
            raise FileNotFoundError(f"--project {args.project}: no params.yaml in {project}")
    else:
        project = find_project(here)
    if args.params != "params.yaml":  # typed by the user: relative to here, not to the project
        args.params = str((here / args.params).resolve())
    if getattr(args, "input", "-") != "-":
        args.input = str((here / args.input).resolve())
    if getattr(args, "labels", None) is not None:  # alien feedback FILE
        args.labels = str((here / args.labels).resolve())
    if project != here:
        print(f"project: {project}", file=sys.stderr)
        os.chdir(project)
    return here


def main(argv: list[str] | None = None) -> int:
    _setup_env()
    args = build_parser().parse_args(argv)
    here = Path.cwd()
    try:
        here = _enter_project(args)
        return int(args.func(args))
    except (ValueError, FileNotFoundError, RuntimeError) as exc:  # RegistryUnavailableError too
        if args.debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: {first}", file=sys.stderr)
        return 2
    finally:
        os.chdir(here)


if __name__ == "__main__":
    sys.exit(main())
