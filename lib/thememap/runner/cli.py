"""Command line: ``thememap init DIR``, ``thememap run PARAMS``, ``thememap check PARAMS``
and ``thememap assign PARAMS``.

A user mistake (a ThememapError) prints one clear message and exits 2; only
bugs show a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from thememap import __version__
from thememap.errors import ThememapError
from thememap.params_base import mask_url_credentials
from thememap.runner.progress import terminal_safe


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thememap", description=__doc__)
    parser.add_argument("--version", action="version", version=f"thememap {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the numbered notebooks with a params file")
    run.add_argument("params", help="params YAML, e.g. params/demo.yaml")
    run.add_argument("--run-name", help="report folder name (default <params>-<time>)")
    run.add_argument(
        "--from",
        dest="start_from",
        metavar="NOTEBOOK",
        help="start at this notebook (e.g. 03_describe or 03), using what the store holds",
    )
    run.add_argument(
        "--only",
        action="append",
        metavar="NOTEBOOK",
        help="run only this notebook (repeat, or separate with commas); overrides notebooks:",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    check = sub.add_parser("check", help="check a params file, its input and backends")
    check.add_argument("params")
    check.add_argument("--ping", action="store_true", help="also call each backend's base_url")
    assign = sub.add_parser(
        "assign", help="place new items in the latest clustering without refitting it"
    )
    assign.add_argument("params")
    assign.add_argument("--input", help="file of items to add (default: the params' input.path)")
    assign.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    init = sub.add_parser("init", help="write a ready project (notebooks, params, demo data)")
    init.add_argument("dir", help="the project folder (created if missing)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    return parser


def _quiet_libraries() -> None:
    """papermill logs four lines per notebook (paths, kernel); the runner says what matters."""
    logging.getLogger("papermill").setLevel(logging.WARNING)


def _run(args: argparse.Namespace) -> None:
    from thememap.runner.progress import RunProgress
    from thememap.runner.run import run_chain

    only = [n for part in args.only or [] for n in part.split(",") if n.strip()]
    result = run_chain(
        args.params,
        run_id=args.run_name,
        start_from=args.start_from,
        only=[n.strip() for n in only] or None,
        progress=None if args.quiet else RunProgress(sys.stderr),
    )
    print(f"report: {result.index_html}")


def _check(args: argparse.Namespace) -> int:
    from thememap.runner.check import check_params

    report = check_params(args.params, ping_backends=args.ping)
    for line in report.lines:
        print(terminal_safe(line))
    for problem in report.problems:
        print(f"thememap: error: {terminal_safe(mask_url_credentials(problem))}", file=sys.stderr)
    return 0 if report.ok else 2


def _assign(args: argparse.Namespace) -> None:
    from thememap.runner.assign import assign_command

    result = assign_command(args.params, input_file=args.input, progress=not args.quiet)
    print(f"cluster run: {result.run_id}; placed now: {result.placed_now}")
    for line in result.summary.lines():
        print(line)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``thememap`` command."""
    args = _build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    _quiet_libraries()
    try:
        if args.command == "run":
            _run(args)
        elif args.command == "check":
            return _check(args)
        elif args.command == "assign":
            _assign(args)
        elif args.command == "init":
            from thememap.runner.scaffold import init_project

            written = init_project(args.dir, force=args.force)
            print(f"{args.dir}: {len(written)} file(s) written")
            print(f"next: thememap run {args.dir}/params/demo.yaml")
    except ThememapError as err:
        message = terminal_safe(mask_url_credentials(str(err)))
        print(f"thememap: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("thememap: interrupted; finished work is kept in the store", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
