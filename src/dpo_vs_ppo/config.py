"""Strict, typed configuration: YAML files -> frozen dataclasses, or one clear error.

Two kinds of file feed a stage:

* ``params.yaml`` -> :class:`StudyParams` (profile, seeds, shared constants);
* ``experiments/<id>.yaml`` -> :class:`Experiment`: one file per paper result. A file may name a
  ``base`` (another experiment in the same folder) and list only what differs; its ``settings`` may
  carry per-profile overlays under ``profiles:`` (the ``tiny`` values are the file's own).

Every key must be known and present, every value of the declared type and possible. Anything else
raises :class:`ConfigError`, which stage entry points turn into one line on stderr and exit code 2,
before any computation (see ``stages/_cli.py``). Field docstrings (the string literal under each
field) say what a value is and where it comes from; ``tests/test_config.py`` enforces that each
field has one.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

PROFILES = ("smoke", "tiny", "paper")
Profile = Literal["smoke", "tiny", "paper"]


class ConfigError(Exception):
    """A bad configuration value; ``str()`` is the one line shown to the user."""

    def __init__(self, file: str | Path, key: str, message: str):
        self.file, self.key, self.message = str(file), key, message
        super().__init__(f"{self.file}: {key}: {message}" if key else f"{self.file}: {message}")


# ----------------------------------------------------------------------------- reading YAML


#: PyYAML's safe loader, in C where libyaml is there: the same documents at a quarter of the cost (the validate
#: stage reads ~290 experiment files per run, and spent 80 % of its time in the pure-Python parser).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Parse a YAML file whose top level must be a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "", "file not found")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise ConfigError(path, "", f"not valid YAML ({where}): {getattr(err, 'problem', err)}") from None
    if not isinstance(data, dict):
        raise ConfigError(path, "", "top level must be a mapping of keys to values")
    return data


def merge(base: dict, overlay: dict, sources: dict[str, str], overlay_file: str, prefix: str = "") -> dict:
    """Deep-merge ``overlay`` into a copy of ``base``; mappings merge, everything else replaces.

    ``sources`` maps each dotted key to the file its value came from, so an error can name the
    file that set the bad value. An overlay key the base lacks is an error: overlays only change.
    """
    out = dict(base)
    for key, value in overlay.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(overlay_file, dotted, f"unknown key (not in the base; known: {_known(base)})")
        if isinstance(value, dict) and isinstance(base[key], dict):
            out[key] = merge(base[key], value, sources, overlay_file, dotted + ".")
        else:
            out[key] = value
            mark_sources(sources, dotted, value, overlay_file)
    return out


def mark_sources(sources: dict[str, str], dotted: str, value: Any, file: str) -> None:
    """Record ``file`` as the origin of ``dotted`` and of every key nested under it."""
    sources[dotted] = file
    if isinstance(value, dict):
        for key, inner in value.items():
            mark_sources(sources, f"{dotted}.{key}", inner, file)


def _known(mapping: dict) -> str:
    return ", ".join(sorted(map(str, mapping))) or "none"


# ----------------------------------------------------------------------------- typed building


def build(cls: type, data: Any, file: str, prefix: str = "", sources: dict[str, str] | None = None):
    """Build frozen dataclass ``cls`` from a mapping, strictly (no defaults, no extras)."""
    sources = sources or {}
    if not isinstance(data, dict):
        raise ConfigError(file, prefix.rstrip(".") or "(top level)", f"expected a mapping, got {show_value(data)}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in hints:
            dotted = f"{prefix}{key}"
            raise ConfigError(sources.get(dotted, file), dotted, f"unknown key (expected one of: {', '.join(names)})")
    values = {}
    for field in dataclasses.fields(cls):
        name, dotted = field.name, f"{prefix}{field.name}"
        if name not in data:
            # Only report-side fields carry defaults (e.g. a claim's tolerance); every setting that
            # shapes a computation has none, so leaving it out of the YAML is an error.
            if field.default is not dataclasses.MISSING:
                continue
            raise ConfigError(file, dotted, "missing key")
        values[name] = _coerce(hints[name], data[name], sources.get(dotted, file), dotted, sources)
    obj = cls(**values)
    for field_name, message in getattr(obj, "problems", lambda: [])():
        dotted = f"{prefix}{field_name}"
        raise ConfigError(_source_of(sources, dotted, file), dotted, message)
    return obj


def _source_of(sources: dict[str, str], dotted: str, default: str) -> str:
    while dotted:
        if dotted in sources:
            return sources[dotted]
        dotted = dotted.rpartition(".")[0]
    return default


def _coerce(tp: Any, value: Any, file: str, key: str, sources: dict[str, str]):
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, file, key + ".", sources)
    if origin is Literal:
        if value not in args:
            raise ConfigError(file, key, f"must be one of {', '.join(map(repr, args))}, got {show_value(value)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(file, key, f"expected a list, got {show_value(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, file, f"{key}[{i}]", sources) for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(file, key, f"expected a list of {len(args)} items, got {len(value)}")
        return tuple(_coerce(a, v, file, f"{key}[{i}]", sources) for i, (a, v) in enumerate(zip(args, value)))
    return _scalar(tp, value, file, key)


def _scalar(tp: Any, value: Any, file: str, key: str):
    # bool is a subclass of int in Python; a config that says `steps: true` is a mistake, not 1.
    if tp is bool and isinstance(value, bool):
        return value
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is str and isinstance(value, str):
        return value
    expected = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, str(tp))
    raise ConfigError(file, key, f"expected {expected}, got {show_value(value)}")


def show_value(value: Any) -> str:
    """A value for an error message: its repr, cut to 40 characters, and its type."""
    text = repr(value)
    return f"{text if len(text) <= 40 else text[:37] + '...'} ({type(value).__name__})"


# ----------------------------------------------------------------------------- params.yaml


@dataclass(frozen=True)
class StudyParams:
    """``params.yaml``: what every stage of the study shares."""

    profile: Profile
    """Scale of the whole study: smoke (CI wiring), tiny (default, CPU, synthetic tasks), paper (GPU cluster)."""
    seeds: tuple[int, ...]
    """Seeds of the headline results (Tables 2, 3, 6, 10; Figure 1; Table 1's instances): the report's intervals
    are across them (>= 3 for an interval)."""
    ablation_seeds: tuple[int, ...]
    """Seeds of the other results (Tables 4, 5, 11, 12, 13; Figure 2), kept short to fit the tiny budget."""
    confidence_level: float
    """Two-sided level of the report's Student-t intervals over seeds (0.95 = the '95 % CI' of the design)."""

    def problems(self):
        for key in ("seeds", "ablation_seeds"):
            seeds = getattr(self, key)
            if not seeds:
                yield key, "needs at least one seed"
            if len(set(seeds)) != len(seeds):
                yield key, f"seeds must be distinct, got {list(seeds)}"
            if any(s < 0 for s in seeds):
                yield key, "seeds must be >= 0"
        if not set(self.ablation_seeds) <= set(self.seeds):
            yield "ablation_seeds", (f"{list(self.ablation_seeds)} must be among seeds {list(self.seeds)}: a one-seed "
                                     "ablation reads the same seed of the seeded SFT and reward runs")
        if not 0.5 <= self.confidence_level < 1:
            yield "confidence_level", f"must be in [0.5, 1), got {self.confidence_level}"


def load_params(path: str | Path) -> StudyParams:
    """Read and check ``params.yaml``."""
    return build(StudyParams, read_yaml_mapping(path), str(path))
