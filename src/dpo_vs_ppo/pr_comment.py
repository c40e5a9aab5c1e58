"""The pull-request review comment: the report's summary and figures, with DVC's metric and param diffs.

    python -m dpo_vs_ppo.pr_comment --base origin/main --head HEAD --out comment.md
    python -m dpo_vs_ppo.pr_comment --base "$BASE_SHA" --head "$HEAD_SHA" --post   # in GitHub Actions

Everything comes from git: the committed ``reports/README.md`` at ``--head``, and ``dvc metrics diff`` /
``dvc params diff`` between the two commits (our metrics are ``cache: false``, so they are in git and the
diff needs no DVC remote). ``--post`` keeps ONE comment per pull request: it finds its own earlier
comment by a hidden marker and edits it. When it cannot post (no token, a fork's read-only token, no
network) it writes the body to the Actions job summary instead and says why, so a review never silently
loses its report. The workflow is ``.github/workflows/pr-report.yml``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

#: Hidden first line by which the comment finds itself again (edit, don't pile up comments).
MARKER = "<!-- dpo-vs-ppo:report-comment -->"
#: GitHub rejects issue comments over 65,536 characters: each diff gets a share, the folded report the rest.
COMMENT_LIMIT = 65_000
DIFF_SHARE = {"metrics": 24_000, "params": 8_000}
SUMMARY_SHARE = 16_000
DIFF_TITLE = {"metrics": "Metrics", "params": "Parameters"}
REPORT = "reports/README.md"


def git_show(repo: Path, rev: str, path: str) -> str | None:
    """``path`` as committed at ``rev``; None where it does not exist there."""
    out = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=repo, capture_output=True, text=True, check=False)
    return out.stdout if out.returncode == 0 else None


def short_sha(repo: Path, rev: str) -> str:
    """``rev`` as a short commit hash (the name itself if git cannot resolve it)."""
    out = subprocess.run(["git", "rev-parse", "--short", rev], cwd=repo, capture_output=True, text=True, check=False)
    return out.stdout.strip() if out.returncode == 0 else rev


def dvc_diff(repo: Path, kind: str, base: str, head: str) -> str:
    """``dvc <kind> diff --md base head`` (kind: metrics | params); the error text if DVC fails."""
    cmd = [sys.executable, "-m", "dvc", kind, "diff", "--md", base, head]
    if kind == "metrics":
        cmd.insert(-2, "--precision=4")
    out = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=False)
    if out.returncode:
        return f"`dvc {kind} diff` failed: {(out.stderr or out.stdout).strip()[-500:]}"
    table = out.stdout.strip()
    return table if len(table.splitlines()) > 2 else f"No {DIFF_TITLE[kind].lower()} changed."  # header only


def cut_lines(text: str, limit: int, whole: str) -> str:
    """``text`` cut at a line boundary to at most ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    kept, size = [], 0
    lines = text.splitlines()
    for line in lines:
        if size + len(line) + 1 > limit - 120:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept) + f"\n\n… {len(lines) - len(kept)} more lines left out to fit a comment: {whole}"


def summary_section(report: str) -> str:
    """The report's header lines and its ``## Summary`` section (up to the next ``## ``), cut to its share."""
    head = report.split("\n## ", 1)[0]  # the title and the lines under it, before any section
    intro = "\n".join(line for line in head.splitlines()[1:] if line and not line.startswith(">"))
    _, found, rest = report.partition("\n## Summary")
    summary = rest.split("\n## ", 1)[0] if found else "\n\nThe report has no `## Summary` section."
    return cut_lines(f"{intro}\n\n### Summary{summary}".strip(), SUMMARY_SHARE, f"see `{REPORT}`.")


def absolute_images(markdown: str, image_base: str | None) -> str:
    """Point the report's relative ``![..](x.png)`` links at ``image_base`` (a comment has no folder)."""
    if not image_base:
        return markdown
    return re.sub(r"!\[([^\]]*)\]\((?!https?://)([^)]+)\)",
                  lambda m: f"![{m.group(1)}]({image_base.rstrip('/')}/{m.group(2)})", markdown)


def build_comment(repo: Path, base: str, head: str, image_base: str | None = None) -> str:
    """The comment body for ``base..head``: summary, metric diff, param diff, then the whole report folded."""
    report = git_show(repo, head, REPORT)
    if report is None:
        return f"{MARKER}\n## Study report\n\n`{REPORT}` is not committed at `{head}`; run `dvc repro`."
    changed = "unchanged" if report == git_show(repo, base, REPORT) else "changed"
    base_sha, head_sha = short_sha(repo, base), short_sha(repo, head)
    parts = [MARKER, f"## Study report at `{head_sha}` (vs `{base_sha}`: report {changed})",
             absolute_images(summary_section(report), image_base),
             *[part for kind in ("metrics", "params") for part in (
                 f"### {DIFF_TITLE[kind]} changed (`dvc {kind} diff`)",
                 cut_lines(dvc_diff(repo, kind, base, head), DIFF_SHARE[kind],
                           f"run `dvc {kind} diff {base_sha} {head_sha}`."))]]
    body = "\n\n".join(parts)
    folded = absolute_images(report, image_base)
    room = COMMENT_LIMIT - len(body) - 200
    folded = cut_lines(folded, room, f"the whole report is `{REPORT}`.")
    return f"{body}\n\n<details><summary>The whole report</summary>\n\n{folded}\n\n</details>\n"


def _request(method: str, url: str, token: str, payload: dict | None = None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def _our_comment(api: str, repo: str, number: int, token: str) -> dict | None:
    """Our earlier comment on the PR: a bot's (the Actions token's) with the marker, over every page."""
    for page in range(1, 100):
        comments = _request("GET", f"{api}/repos/{repo}/issues/{number}/comments?per_page=100&page={page}", token)
        for comment in comments:
            if MARKER in (comment.get("body") or "") and (comment.get("user") or {}).get("type") == "Bot":
                return comment
        if len(comments) < 100:
            return None
    return None


def post(body: str, env: dict[str, str]) -> str:
    """Create or edit the marked comment on the pull request named by the Actions environment."""
    token, repo = env.get("GITHUB_TOKEN"), env.get("GITHUB_REPOSITORY")
    event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text()) if env.get("GITHUB_EVENT_PATH") else {}
    number = (event.get("pull_request") or {}).get("number") or env.get("PR_NUMBER")
    if not (token and repo and number):
        raise RuntimeError("no GITHUB_TOKEN, GITHUB_REPOSITORY or pull-request number in the environment")
    api = env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    mine = _our_comment(api, repo, number, token)
    if mine:
        _request("PATCH", f"{api}/repos/{repo}/issues/comments/{mine['id']}", token, {"body": body})
        return f"updated comment {mine['id']} on #{number}"
    made = _request("POST", f"{api}/repos/{repo}/issues/{number}/comments", token, {"body": body})
    return f"created comment {made['id']} on #{number}"


def post_or_summarise(body: str, env: dict[str, str]) -> str:
    """Post; on any failure, append the body to the job summary (or print it) and say why."""
    try:
        return post(body, env)
    except Exception as err:  # noqa: BLE001 - every failure has the same offline fallback
        why = f"could not post the comment ({type(err).__name__}: {err})"
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(body)
        return f"{why}; wrote it to the job summary"
    print(body)
    return f"{why}; printed it above"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="the commit to compare against (the PR's base)")
    p.add_argument("--head", default="HEAD", help="the commit whose report is shown (default HEAD)")
    p.add_argument("--repo", type=Path, default=Path("."), help="the git repository (default: here)")
    p.add_argument("--image-base", help="URL prefix for reports/ images, e.g. raw.githubusercontent.com/<o>/<r>/<sha>/reports")
    p.add_argument("--out", type=Path, help="write the comment body here")
    p.add_argument("--post", action="store_true", help="post it to the PR (GitHub Actions env), else job summary")
    args = p.parse_args(argv)
    body = build_comment(args.repo, args.base, args.head, args.image_base)
    if args.out:
        args.out.write_text(body, encoding="utf-8")
        print(f"pr_comment: wrote {args.out} ({len(body)} characters)")
    if args.post:
        print(f"pr_comment: {post_or_summarise(body, dict(os.environ))}")
    elif not args.out:
        print(body)


if __name__ == "__main__":
    main()
