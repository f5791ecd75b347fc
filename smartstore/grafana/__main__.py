"""python -m smartstore.grafana [--write | --check]: regenerate dashboards/ or check it."""

import argparse
import sys

from smartstore.grafana.build import ROOT, stale, write


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m smartstore.grafana", description=__doc__)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate the files that differ")
    mode.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = ap.parse_args()
    if args.write:
        for path in write():
            print(f"wrote {ROOT.name}/{path}")
        return 0
    old = stale()
    for path in old:
        print(f"stale: {ROOT.name}/{path} (run python -m smartstore.grafana --write)")
    return 1 if old else 0


if __name__ == "__main__":
    sys.exit(main())
