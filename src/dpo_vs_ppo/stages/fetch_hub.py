"""Fetch the raw hub datasets of the paper profile into data/hub, pinned to one commit each (needs network).

Run once on a machine with hub access, then version the result with DVC:

    python -m dpo_vs_ppo.stages.fetch_hub \\
        --experiment experiments/data_dialogue.yaml --experiment experiments/data_code.yaml --out data/hub
    dvc add data && git add data.dvc && dvc push

Each dataset's repository files are mirrored under data/hub/<local_name>/ and the commit they came
from is recorded in data/hub/<local_name>.source.json. Put the printed sha in the experiment file's
``revision`` to pin the hub origin too; set ``origin: snapshot`` to read the mirror offline. Not a DVC
stage: the pipeline must run without network.
"""

from __future__ import annotations

import argparse

from ..data.hub import fetch_snapshot
from ..experiment import load_experiment
from ..settings.data import HubSource
from ._cli import main_with_config_errors


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiment", required=True, action="append", metavar="YAML",
                   help="a data file whose hub sources to fetch (repeatable)")
    p.add_argument("--out", required=True, metavar="DIR", help="snapshot root, normally data/hub")
    args = p.parse_args(argv)
    sources: dict[tuple[str, str], HubSource] = {}
    for path in args.experiment:
        settings = load_experiment(path, "paper").settings  # the paper profile's ids and revisions
        for value in vars(settings).values():
            if isinstance(value, HubSource):
                sources[(value.id, value.data_dir)] = value
    # A whole repository already holds its data_dir subsets: fetch each repository once.
    whole = {source.id for source in sources.values() if not source.data_dir}
    for source in sources.values():
        if source.data_dir and source.id in whole:
            continue
        record = fetch_snapshot(source, args.out)
        print(f"fetch_hub: {source.id}{' (' + source.data_dir + ')' if source.data_dir else ''}: revision {record['revision']}")
    print(f"fetch_hub: done; now run `dvc add {args.out.split('/')[0]}` and commit data.dvc")


if __name__ == "__main__":
    main_with_config_errors(main)
