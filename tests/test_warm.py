"""The warm start (warm.py): a stage handed to a fork of a process that has imported the training stack runs
with the client's streams, folder and exit code, gives the same bytes as a cold run, and stops when its
client is stopped or killed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from tiny_models import build_tiny_models, write_pairs

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def warm_dir(tmp_path_factory):
    """A folder with a tiny params.yaml and a server listening for it (and for this environment)."""
    folder = tmp_path_factory.mktemp("warm")
    (folder / "params.yaml").write_text("profile: tiny\nseeds: [0]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    base = environment()
    done = subprocess.run([sys.executable, "-m", "dpo_vs_ppo.warm", "start", "--wait"], cwd=folder, env=base,
                          capture_output=True, text=True, timeout=180)
    assert done.stdout.strip().endswith(" listening"), done.stdout + done.stderr
    return WarmDir(folder, done.stdout.split()[0], base)


class WarmDir(type(Path())):
    """The folder, the socket of its server, and the environment it was started with (libraries set variables
    of the test process as they import, e.g. torch's TORCHINDUCTOR_CACHE_DIR: a stage started with another
    environment gets another server, so every stage here starts with this one)."""

    def __new__(cls, path, server, base):
        self = super().__new__(cls, path)
        self.server, self.base = server, base
        return self

    def env(self, **extra) -> dict:
        return {**self.base, **extra}


def environment() -> dict:
    """The tests' environment, less what pytest changes from test to test (the server is keyed by it)."""
    out = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    out["PYTHONPATH"] = os.pathsep.join([str(TESTS), out.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return out


def probe(folder, *args, **kw):
    return subprocess.Popen([sys.executable, "-m", "warm_probe", "--params", "params.yaml", *args], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_a_stage_runs_warm_with_the_clients_streams_folder_and_exit_code(warm_dir):
    client = probe(warm_dir, "--exit", "3", env=warm_dir.env())
    out, err = client.communicate(timeout=60)
    assert client.returncode == 3, err
    pid, torch = out.split()[1], out.split()[3]
    assert torch == "True" and int(pid) != client.pid, out  # a fork of the server: torch was there already
    assert out.split()[5] == str(warm_dir) and err.strip() == "to stderr"


def test_off_it_runs_cold(warm_dir):
    client = probe(warm_dir, env=warm_dir.env(DPO_VS_PPO_WARM="0"))
    out, _ = client.communicate(timeout=60)
    assert out.split()[1] == str(client.pid) and out.split()[3] == "False", out


def gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_killed_client_takes_its_worker_with_it(warm_dir):
    client = probe(warm_dir, "--sleep", "120", env=warm_dir.env())
    worker = int(client.stdout.readline().split()[1])
    assert worker != client.pid
    client.kill()  # kill -9: nothing forwards a signal; the supervisor sees the socket close
    client.wait()
    assert gone(worker, 15), "the worker outlived its killed client"


def test_sigterm_to_the_client_stops_the_worker(warm_dir):
    client = probe(warm_dir, "--sleep", "120", env=warm_dir.env())
    worker = int(client.stdout.readline().split()[1])
    client.send_signal(signal.SIGTERM)
    assert client.wait(timeout=15) == 128 + signal.SIGTERM
    assert gone(worker, 5)


def run_reward(folder: Path, out: str, **extra) -> dict[str, bytes]:
    args = ["--params", "params.yaml", "--experiment", str(REPO / "experiments" / "reward_dialogue.yaml"),
            "--train", "pairs.jsonl", "--test", "pairs.jsonl", "--models", "models", "--out", f"{out}/ck",
            "--steps", f"{out}/steps.csv", "--metrics", f"{out}/metrics.json", "--run-info", f"{out}/run.json"]
    done = subprocess.run([sys.executable, "-m", "dpo_vs_ppo.stages.reward", *args], cwd=folder, env=folder.env(**extra),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    files = sorted(p for p in (folder / out).rglob("*") if p.is_file() and p.name != "run.json")
    return {p.relative_to(folder / out).as_posix(): p.read_bytes() for p in files}


def test_a_training_stage_writes_the_same_bytes_warm_and_cold(warm_dir):
    build_tiny_models(warm_dir / "models")
    write_pairs(warm_dir / "pairs.jsonl", copies=2)
    log = Path(warm_dir.server.removesuffix(".sock") + ".log")
    before = log.read_text().count("connection from")
    warm = run_reward(warm_dir, "warm")
    assert log.read_text().count("connection from") == before + 1  # it did run warm
    cold = run_reward(warm_dir, "cold", DPO_VS_PPO_WARM="0")
    assert "metrics.json" in warm and "steps.csv" in warm and any(k.startswith("ck/") for k in warm)
    assert warm == cold
