"""Experiment files (``experiments/<id>.yaml``): one per paper result, loaded strictly.

A file has these top-level keys::

    base:       optional; the id of another experiment in the same folder this one overlays
    title:      what the report calls it
    paper_ref:  where in the paper the result is
    stage:      which stage runs it (selects the settings type, see settings.py)
    settings:   the knobs of the computation; the tiny profile's values
    profiles:   optional; {smoke|paper: {<settings key>: value}} overlays for the other profiles
    report:     the table spec: the paper's numbers, the metric paths of ours, the claims and figures;
                absent for files that configure a shared pipeline part (data, models), not a result

Overlays (``base`` and ``profiles``) may only change keys that exist: a typo is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .config import PROFILES, ConfigError, build, mark_sources, merge, read_yaml_mapping
from .settings import SETTINGS_BY_STAGE

TOP_LEVEL_KEYS = ("base", "title", "paper_ref", "stage", "settings", "profiles", "report")

#: The file's own values are tiny's, so tiny is checked first: an error in them is reported at tiny, not at
#: the first overlay that happens to inherit it.
RESOLVE_ORDER = ("tiny", "smoke", "paper")


@dataclass(frozen=True)
class ClaimSpec:
    """One claim of the paper, and the rule that turns our metric into a verdict."""

    id: str
    """Short identifier, unique within the experiment."""
    text: str
    """The paper's claim, in words, with where it is made."""
    metric: str
    """Dotted path of our value in the experiment's metrics.json (a number, or a {per_seed: [...]} record)."""
    rule: Literal["equals", "ci_above", "ci_below", "equivalent"]
    """equals: |value - target| <= tolerance. ci_above/ci_below: the Student-t interval over seeds lies
    wholly above/below target (reproduced), wholly on the other side (not reproduced), or straddles it.
    equivalent (a "no change" claim): the interval lies within target ± margin (reproduced), wholly outside
    it (not reproduced), or across its edge."""
    target: float
    """The value the rule compares against."""
    tolerance: float = 0.0
    """For rule 'equals': the largest gap that still counts as equal."""
    margin: float = 0.0
    """For rule 'equivalent': the largest change that still counts as none, fixed in the file before the run."""
    evidence: Literal["empirical", "analytic"] = "empirical"
    """analytic: an identity computed exactly (Table 1), counted apart from the empirical reproductions."""
    requires: tuple[str, ...] = ()
    """Ids of the file's preconditions this claim needs; a failed one makes the claim 'out of regime'."""


@dataclass(frozen=True)
class PreconditionSpec:
    """A condition the tiny analog must meet to stand in for the paper's starting point, declared before
    outcomes are seen and judged like a claim (reproduced = met)."""

    id: str
    """Short identifier, named by the claims' ``requires``."""
    text: str
    """The condition, in words."""
    source: str
    """Where the paper's starting point is stated (table, section, or outside source)."""
    metric: str
    """Dotted path of our value in the experiment's metrics.json."""
    rule: Literal["equals", "ci_above", "ci_below"]
    """As for claims."""
    target: float
    """As for claims."""
    tolerance: float = 0.0
    """As for claims."""


@dataclass(frozen=True)
class TableRow:
    """One row of the side-by-side table."""

    label: str
    """Row name, as in the paper."""
    paper: tuple[str, ...]
    """The paper's cells, as printed (strings: the paper's own rounding and signs)."""
    ours: tuple[str, ...]
    """Dotted metric paths of our cells in metrics.json."""


@dataclass(frozen=True)
class TableSpec:
    """The paper's table beside ours."""

    paper_columns: tuple[str, ...]
    """Headers of the paper's cells."""
    our_columns: tuple[str, ...]
    """Headers of our cells."""
    rows: tuple[TableRow, ...]
    """The rows, in the paper's order."""

    def problems(self):
        for i, row in enumerate(self.rows):
            if len(row.paper) != len(self.paper_columns):
                yield f"rows[{i}].paper", f"has {len(row.paper)} cells for {len(self.paper_columns)} paper_columns"
            if len(row.ours) != len(self.our_columns):
                yield f"rows[{i}].ours", f"has {len(row.ours)} cells for {len(self.our_columns)} our_columns"


@dataclass(frozen=True)
class FigureSpec:
    """A figure the report stage draws from a results file."""

    kind: str
    """Which drawing function (report/figures.py FIGURES)."""
    data: str
    """Results file, relative to the experiment's results folder."""
    file: str
    """PNG name written into reports/."""
    caption: str
    """Caption under the figure."""
    rows: tuple[str, ...] = ()
    """Table figures: the row ids to draw (metrics.json ``rows.<id>``), in order."""
    labels: tuple[str, ...] = ()
    """Table figures: the name of each row in the figure (as many as ``rows``)."""
    metric: str = ""
    """Table figures: the metric drawn (for the scatter, 'x_metric,y_metric')."""


@dataclass(frozen=True)
class ReportSpec:
    """How the report shows one experiment."""

    summary: str
    """What the paper's result says, in a sentence or two."""
    table: TableSpec
    """The paper's numbers beside ours."""
    claims: tuple[ClaimSpec, ...]
    """The claims the verdicts are about."""
    figures: tuple[FigureSpec, ...] = ()
    """Figures drawn into reports/."""
    details: tuple[str, ...] = ()
    """Further metric paths listed under the table as 'metric | value' (checks with no paper number)."""
    preconditions: tuple[PreconditionSpec, ...] = ()
    """What the tiny analog must meet to be a faithful stand-in, checked before the claims."""
    min_seeds: int = 3
    """Seeds a claim needs to count in the headline; with fewer it is reported as exploratory (issue [I]:
    at least 5 for Tables 2, 3, 6, 7, 8, 10 and Figure 1, at least 3 elsewhere)."""

    def problems(self):
        ids = [c.id for c in self.claims]
        if len(set(ids)) != len(ids):
            yield "claims", f"claim ids must be unique, got {ids}"
        known = {p.id for p in self.preconditions}
        for i, claim in enumerate(self.claims):
            if unknown := set(claim.requires) - known:
                yield f"claims[{i}].requires", f"no precondition {sorted(unknown)} (declared: {sorted(known)})"
            if claim.rule == "equivalent" and claim.margin <= 0:
                yield f"claims[{i}].margin", "rule 'equivalent' needs a margin > 0"
        if self.min_seeds < 1:
            yield "min_seeds", f"must be >= 1, got {self.min_seeds}"


@dataclass(frozen=True)
class Experiment:
    """A resolved experiment file: base chain and profile overlay applied, every value checked."""

    id: str
    """File stem, e.g. 'figure1'; names its results folder and report section."""
    title: str
    """Report heading."""
    paper_ref: str
    """Where the result is in the paper."""
    stage: str
    """The stage that runs it."""
    settings: Any
    """The stage's settings dataclass (settings.py), with the active profile applied."""
    report: ReportSpec | None
    """The table spec; None for a pipeline part (data, models) that the report does not show."""
    profile: str
    """The profile whose overlay was applied."""
    files: tuple[str, ...]
    """The files read, leaf first (the experiment, then its bases)."""


#: The run list (pipeline_runs.py) sits beside the experiment files but is not one.
RUN_LIST = "runs.yaml"


def experiment_files(folder: str | Path) -> list[Path]:
    """Every experiment file in ``folder`` (sorted), the run list left out."""
    return sorted(p for p in Path(folder).glob("*.yaml") if p.name != RUN_LIST)


def load_experiment(path: str | Path, profile: str, stage: str | None = None) -> Experiment:
    """Resolve ``path`` (bases, then the ``profile`` overlay) into a checked :class:`Experiment`.

    ``stage``, when given, is the stage asking: running a file meant for another stage is an error.
    """
    path = Path(path)
    raw, sources, files = _resolve_bases(path, chain=())
    leaf = str(path)
    for key in ("title", "paper_ref", "stage", "settings"):
        if key not in raw:
            raise ConfigError(leaf, key, "missing key")
    kind = raw["stage"]
    if kind not in SETTINGS_BY_STAGE:
        raise ConfigError(sources.get("stage", leaf), "stage", f"unknown stage {kind!r} (known: {', '.join(SETTINGS_BY_STAGE)})")
    if stage is not None and kind != stage:
        raise ConfigError(sources.get("stage", leaf), "stage", f"this file is for stage {kind!r}, not {stage!r}")
    for key in ("title", "paper_ref"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise ConfigError(sources.get(key, leaf), key, "expected a non-empty string")
    # Resolve every profile, not only the active one, so a typo in the smoke overlay fails a tiny run too.
    settings = {}
    for name in RESOLVE_ORDER:
        profile_sources = dict(sources)  # each profile records where its own overlay put values
        try:
            resolved = _apply_profile(raw, name, profile_sources, leaf)
            settings[name] = build(SETTINGS_BY_STAGE[kind], resolved, leaf, "settings.", profile_sources)
        except ConfigError as err:  # say which profile's value is wrong: a smoke-only 16 is not the tiny 64
            raise ConfigError(err.file, err.key, f"{err.message} (at profile {name})") from None
    return Experiment(
        id=path.stem,
        title=raw["title"],
        paper_ref=raw["paper_ref"],
        stage=kind,
        settings=settings[profile],
        report=build(ReportSpec, raw["report"], leaf, "report.", sources) if "report" in raw else None,
        profile=profile,
        files=files,
    )


def _resolve_bases(path: Path, chain: tuple[str, ...]) -> tuple[dict, dict[str, str], tuple[str, ...]]:
    """Read ``path`` and, recursively, its ``base``; return the merged mapping and key sources."""
    data = read_yaml_mapping(path)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(path, str(key), f"unknown key (expected one of: {', '.join(TOP_LEVEL_KEYS)})")
    base_id = data.pop("base", None)
    if base_id is None:
        sources: dict[str, str] = {}
        for key, value in data.items():
            mark_sources(sources, str(key), value, str(path))
        return data, sources, (str(path),)
    if not isinstance(base_id, str):
        raise ConfigError(path, "base", f"expected an experiment id (a file stem), got {base_id!r}")
    base_path = path.with_name(f"{base_id}.yaml")
    if str(base_path) in chain or base_path == path:
        raise ConfigError(path, "base", f"circular base chain through {base_id!r}")
    if not base_path.is_file():
        raise ConfigError(path, "base", f"no experiment {base_id!r} ({base_path} does not exist)")
    merged, sources, files = _resolve_bases(base_path, chain + (str(path),))
    profiles = {**(merged.get("profiles") or {})}
    for name, overlay in (data.pop("profiles", None) or {}).items():
        profiles[name] = _deep_update(profiles.get(name) or {}, overlay or {})
    merged = merge(merged, data, sources, str(path))
    if profiles:
        merged["profiles"] = profiles
    return merged, sources, (str(path),) + files


def _deep_update(base: dict, overlay: dict) -> dict:
    """``overlay`` on ``base``, nested mappings merged key by key: a derived file's ``paper: {optim: {epochs: 1}}``
    changes one field of its base's paper optimiser, not the whole group."""
    out = dict(base)
    for key, value in overlay.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _deep_update(out[key], value) if both else value
    return out


def _apply_profile(raw: dict, profile: str, sources: dict[str, str], leaf: str) -> dict:
    if not isinstance(raw["settings"], dict):
        raise ConfigError(sources.get("settings", leaf), "settings", "expected a mapping")
    profiles = raw.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise ConfigError(sources.get("profiles", leaf), "profiles", "expected a mapping of profile -> overlay")
    for name in profiles:
        if name not in PROFILES:
            raise ConfigError(sources.get(f"profiles.{name}", leaf), f"profiles.{name}", f"unknown profile (known: {', '.join(PROFILES)})")
    overlay = profiles.get(profile) or {}
    if not isinstance(overlay, dict):
        raise ConfigError(sources.get(f"profiles.{profile}", leaf), f"profiles.{profile}", "expected a mapping")
    file = sources.get(f"profiles.{profile}", leaf)
    try:
        return merge(raw["settings"], overlay, sources, file, "settings.")
    except ConfigError as err:  # name the key where it was written, not where it lands
        raise ConfigError(err.file, err.key.replace("settings.", f"profiles.{profile}.", 1), err.message) from None
