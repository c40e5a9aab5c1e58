"""repro.py: `dvc repro` two stages at a time, on a toy DVC pipeline (no torch): the plan, the overlap, what a
failure and a bad config do, and that DVC's lock ends up as plain `dvc repro` leaves it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BIN

pytestmark = pytest.mark.slow

# Each stage appends "name start end" to times.txt, sleeping so that two at a time must overlap.
STAGE = ("python -c \"import sys, time; t = time.time(); time.sleep(float(sys.argv[2])); "
         "open('out/' + sys.argv[1], 'w').write(open(sys.argv[3]).read() if len(sys.argv) > 3 else 'x'); "
         "open('times.txt', 'a').write(f'{sys.argv[1]} {t} {time.time()}\\n')\"")
DVC_YAML = f"""\
stages:
  validate:
    cmd: python check.py --out out/valid
    deps: [check.py, config.txt]
    outs: [out/valid]
  a:
    cmd: {STAGE} a 0 out/valid
    deps: [out/valid, input.txt]
    outs: [out/a]
  b:
    cmd: {STAGE} b 1.5 out/a
    deps: [out/a]
    outs: [out/b]
  c:
    cmd: {STAGE} c 1.5 c.txt
    deps: [out/a, c.txt]
    outs: [out/c]
  d:
    cmd: {STAGE} d 0 out/b
    deps: [out/b, out/c]
    outs: [out/d]
"""
# The validate stage's stand-in: exit 2 with one line when config.txt says "bad"; --check-only writes nothing.
CHECK = """\
import sys
if open("config.txt").read().strip() == "bad":
    sys.exit("config error: config.txt: bad")
if "--check-only" not in sys.argv:
    open(sys.argv[sys.argv.index("--out") + 1], "w").write("ok")
"""


def sh(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert not check or done.returncode == 0, f"{cmd}:\n{done.stdout}\n{done.stderr}"
    return done


def repro(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return sh([sys.executable, "-m", "dpo_vs_ppo.repro", *args], cwd, check)


@pytest.fixture
def toy(tmp_path) -> Path:
    for name, text in {"dvc.yaml": DVC_YAML, "check.py": CHECK, "config.txt": "good\n", "input.txt": "1\n",
                       "c.txt": "1\n"}.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "out").mkdir()
    sh(["git", "init", "-q"], tmp_path)
    sh(["dvc", "init", "-q"], tmp_path)
    return tmp_path


def spans(root: Path) -> dict[str, tuple[float, float]]:
    rows = [line.split() for line in (root / "times.txt").read_text().splitlines()]
    return {name: (float(start), float(end)) for name, start, end in rows}


def test_independent_stages_run_together_and_dvc_lock_is_complete(toy):
    assert repro(toy, "--dry").stdout.split() == ["validate", "a", "b", "c", "d"]
    done = repro(toy)
    assert "repro: 4 stages to run, 2 at a time" in done.stdout  # validate ran first, alone
    t = spans(toy)
    assert t["b"][0] < t["c"][1] and t["c"][0] < t["b"][1], t  # b and c overlapped
    assert t["a"][1] <= min(t["b"][0], t["c"][0]) and t["d"][0] >= max(t["b"][1], t["c"][1])  # order kept
    assert json.loads(sh(["dvc", "status", "--json"], toy).stdout) == {}  # every stage's lock entry written
    assert repro(toy).stdout.strip() == "repro: every stage is up to date"


def test_dvc_lock_text_is_what_plain_dvc_repro_writes(toy):
    repro(toy)  # its lock entries are spliced in by dvc_lock.py
    ours = (toy / "dvc.lock").read_text()
    sh(["dvc", "repro", "--force"], toy)  # DVC rewrites the whole file after each stage
    assert (toy / "dvc.lock").read_text() == ours and "cmd: python -c" in ours


def test_a_change_plans_exactly_its_stage_and_what_depends_on_it(toy):
    repro(toy)
    (toy / "c.txt").write_text("2\n")
    assert repro(toy, "--dry").stdout.split() == ["c", "d"]
    (toy / "times.txt").unlink()
    repro(toy)
    assert set(spans(toy)) == {"c", "d"}
    assert repro(toy, "b", "--dry").stdout.strip() == "every stage is up to date"


def test_a_failed_stage_stops_what_depends_on_it_and_shows_its_log(toy):
    (toy / "dvc.yaml").write_text(DVC_YAML.replace("c 1.5 c.txt", "c 1.5 missing-file"))
    done = repro(toy, check=False)
    assert done.returncode != 0
    assert "c: FAILED" in done.stdout and "missing-file" in done.stderr  # the log's tail
    assert "b: done" in done.stdout and " d: " not in done.stdout  # b, already running, finished; d never started
    assert not (toy / "out/d").exists()


def test_a_bad_config_is_one_line_and_exit_2_before_dvc_starts(toy):
    (toy / "config.txt").write_text("bad\n")
    done = repro(toy, check=False)
    assert done.returncode == 1 and done.stderr.strip() == "config error: config.txt: bad"  # sys.exit(str): 1
    assert not (toy / "dvc.lock").exists() and done.stdout == ""


def test_jobs_must_be_positive(toy):
    done = repro(toy, "--jobs", "0", check=False)
    assert done.returncode == 2 and "--jobs must be at least 1" in done.stderr
