"""The pull-request comment: built from two real commits, kept to one comment, and never lost."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from dpo_vs_ppo import pr_comment

REPORT = """# Study, rerun

> Written by the report stage.

Profile **tiny** · seeds 0, 1, 2

## Summary

{n} reproduced, 0 not reproduced.

![heatmaps](figure1_heatmaps.png)

## Table 2

the table
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


def commit_study(repo: Path, beta: float, help_delta: float, reproduced: int) -> None:
    (repo / "params.yaml").write_text(f"beta: {beta}\n")
    (repo / "results" / "m.json").write_text(json.dumps({"mean": {"delta_help": help_delta}, "runs": 3}))
    (repo / "reports" / "README.md").write_text(REPORT.format(n=reproduced))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"beta {beta}")


@pytest.fixture(scope="module")
def two_commits(tmp_path_factory) -> Path:
    """A git + DVC repository with one stage's params and metrics, committed twice with different values."""
    repo = tmp_path_factory.mktemp("pr")
    git(repo, "init", "-q")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=repo, check=True)
    (repo / "results").mkdir()
    (repo / "reports").mkdir()
    (repo / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: 'true'\n    params: [beta]\n    metrics:\n"
        "      - results/m.json: {cache: false}\n")
    commit_study(repo, beta=0.1, help_delta=1.25, reproduced=27)
    commit_study(repo, beta=0.2, help_delta=-0.5, reproduced=26)
    return repo


def test_the_body_from_two_commits_has_the_summary_and_both_diffs(two_commits):
    body = pr_comment.build_comment(two_commits, "HEAD~1", "HEAD", image_base="https://img/sha/reports")
    assert body.startswith(pr_comment.MARKER)
    assert "report changed" in body
    summary = body.split("### Metrics changed")[0]
    assert "26 reproduced" in summary and "27 reproduced" not in summary  # the head's report, not the base's
    assert "![heatmaps](https://img/sha/reports/figure1_heatmaps.png)" in summary
    metrics = body.split("### Metrics changed")[1].split("### Parameters changed")[0]
    row = next(line for line in metrics.splitlines() if "mean.delta_help" in line)
    assert [cell.strip() for cell in row.strip("|").split("|")][1:] == ["mean.delta_help", "1.25", "-0.5", "-1.75"]
    assert "runs" not in metrics  # unchanged metrics are not listed
    params = body.split("### Parameters changed")[1].split("<details>")[0]
    row = next(line for line in params.splitlines() if "beta" in line)
    assert [cell.strip() for cell in row.strip("|").split("|")][1:] == ["beta", "0.1", "0.2"]
    assert "<details><summary>The whole report</summary>" in body and "## Table 2" in body


def test_a_report_without_a_summary_still_makes_a_comment():
    text = pr_comment.summary_section("# Title\n\nProfile tiny\n\n## Table 2\n" + "x" * 100_000)
    assert "Profile tiny" in text and "no `## Summary` section" in text and len(text) < 1000


def test_the_same_commit_twice_says_nothing_changed(two_commits):
    body = pr_comment.build_comment(two_commits, "HEAD", "HEAD")
    assert "report unchanged" in body
    assert "No metrics changed." in body and "No parameters changed." in body


def test_a_huge_diff_is_cut_to_fit_one_github_comment(two_commits, monkeypatch):
    big = "\n".join(f"| results/m.json | metric_{i} | 0 | 1 | 1 |" for i in range(5000))
    monkeypatch.setattr(pr_comment, "dvc_diff", lambda repo, kind, base, head: big)
    body = pr_comment.build_comment(two_commits, "HEAD~1", "HEAD")
    assert len(body) <= 65_536
    assert body.count("more lines left out to fit a comment: run `dvc ") == 2


class FakeGitHub(BaseHTTPRequestHandler):
    """Just enough of the issue-comments REST API: list (paginated), create, edit."""
    comments: list[dict] = []

    def _reply(self, payload) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        assert self.headers["Authorization"] == "Bearer t0ken"
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self):  # noqa: N802 - http.server's naming
        query = parse_qs(urlparse(self.path).query)
        per_page, page = int(query["per_page"][0]), int(query["page"][0])
        self._reply(self.comments[(page - 1) * per_page:page * per_page])

    def do_POST(self):  # noqa: N802
        self.comments.append({"id": len(self.comments) + 1, "body": self._body()["body"], "user": {"type": "Bot"}})
        self._reply(self.comments[-1])

    def do_PATCH(self):  # noqa: N802
        comment_id = int(self.path.rsplit("/", 1)[1])
        self.comments[comment_id - 1]["body"] = self._body()["body"]
        self._reply(self.comments[comment_id - 1])

    def log_message(self, *args):
        pass


def test_posting_twice_edits_the_one_comment_it_made(tmp_path):
    # 150 reviewers' comments first (so ours is on the second page), one of them quoting our marker
    FakeGitHub.comments = [{"id": i + 1, "body": "looks good", "user": {"type": "User"}} for i in range(150)]
    FakeGitHub.comments[3]["body"] = f"quoting the bot: {pr_comment.MARKER}"
    server = HTTPServer(("127.0.0.1", 0), FakeGitHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    env = {"GITHUB_TOKEN": "t0ken", "GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_API_URL": f"http://127.0.0.1:{server.server_port}"}
    try:
        first = pr_comment.post_or_summarise(f"{pr_comment.MARKER}\nfirst", env)
        second = pr_comment.post_or_summarise(f"{pr_comment.MARKER}\nsecond", env)
    finally:
        server.shutdown()
    assert first == "created comment 151 on #7" and second == "updated comment 151 on #7"
    assert len(FakeGitHub.comments) == 151 and FakeGitHub.comments[-1]["body"] == f"{pr_comment.MARKER}\nsecond"
    assert FakeGitHub.comments[3]["body"] == f"quoting the bot: {pr_comment.MARKER}"  # a person's comment is never edited


def test_without_a_token_the_body_goes_to_the_job_summary(tmp_path):
    summary = tmp_path / "summary.md"
    said = pr_comment.post_or_summarise("the body", {"GITHUB_STEP_SUMMARY": str(summary)})
    assert summary.read_text() == "the body"
    assert said.startswith("could not post the comment (RuntimeError: no GITHUB_TOKEN")


def test_the_comment_module_runs_without_the_training_stack(repo):
    """The workflow installs DVC only, so the module must import nothing of ours that needs torch."""
    code = "import sys, dpo_vs_ppo.pr_comment; sys.exit(bool({'torch', 'trl', 'transformers'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], cwd=repo).returncode == 0


def test_the_workflow_runs_on_pull_requests_and_posts_with_the_fallback(repo):
    workflow = yaml.safe_load((repo / ".github/workflows/pr-report.yml").read_text())
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as True
    job = next(iter(workflow["jobs"].values()))
    assert job["permissions"]["pull-requests"] == "write"
    steps = " ".join(str(step.get("run", "")) + str(step.get("with", "")) for step in job["steps"])
    assert "'fetch-depth': 0" in steps  # the base commit must be in the clone for the diffs
    assert 'pip install "dvc==' in steps and "torch" not in steps  # the comment needs DVC, not the stack
    assert "PYTHONPATH=src python -m dpo_vs_ppo.pr_comment" in steps and "--post" in steps
    assert "dvc plots diff" in steps
