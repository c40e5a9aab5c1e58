"""A stand-in torch stage for tests/test_warm.py: says where it runs (a warm worker has torch imported before
the stage imports anything), writes to stderr, then waits and exits as asked."""

import argparse
import os
import sys
import time

from dpo_vs_ppo.stages._cli import main_with_config_errors


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--params", required=True)
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--exit", type=int, default=0)
    args = p.parse_args(argv)
    print(f"pid {os.getpid()} torch {'torch' in sys.modules} cwd {os.getcwd()}", flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    time.sleep(args.sleep)
    sys.exit(args.exit)


if __name__ == "__main__":
    main_with_config_errors(main, warm=True)
