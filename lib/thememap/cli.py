"""Command line: ``thememap init DIR``, ``thememap run PARAMS`` and ``thememap check PARAMS``.

A user mistake (a ThememapError) prints one clear message and exits 2; only
bugs show a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from thememap.errors import ThememapError
from thememap.params_base import mask_url_credentials


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thememap", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the numbered notebooks with a params file")
    run.add_argument("params", help="params YAML, e.g. params/demo.yaml")
    run.add_argument("--run-name", help="report folder name (default <params>-<time>)")
    run.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    check = sub.add_parser("check", help="validate a params file and say what would run")
    check.add_argument("params")
    init = sub.add_parser("init", help="write a ready project (notebooks, params, demo data)")
    init.add_argument("dir", help="the project folder (created if missing)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``thememap`` command."""
    args = _build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        if args.command == "run":
            from thememap.run import run_chain

            result = run_chain(args.params, run_id=args.run_name)
            print(f"report: {result.index_html}")
        elif args.command == "check":
            from thememap.params import load_params
            from thememap.run import discover_notebooks

            params = load_params(args.params)
            found = discover_notebooks(params.notebooks_dir, params.notebooks)
            names = ", ".join(p.stem for p in found)
            print(f"{args.params}: valid; store {params.store_path}; notebooks {names}")
            print(f"  notebooks from {params.notebooks_dir}")
        elif args.command == "init":
            from thememap.scaffold import init_project

            written = init_project(args.dir, force=args.force)
            print(f"{args.dir}: {len(written)} file(s) written")
            print(f"next: thememap run {args.dir}/params/demo.yaml")
    except ThememapError as err:
        print(f"thememap: error: {mask_url_credentials(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("thememap: interrupted; finished work is kept in the store", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
