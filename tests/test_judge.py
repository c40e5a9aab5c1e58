"""The pairwise judge: the swap protocol, the verdict parser, the offline judge, and the HTTP judge end to
end against a small OpenAI-compatible server on 127.0.0.1 (the key must reach the server and nothing else)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dpo_vs_ppo.evaluation.judge import (
    PAPER_PROMPT,
    HTTPJudge,
    JudgeError,
    ScorerJudge,
    judge_pairs,
    judge_prompt,
    outcome_of,
    parse_verdict,
    summarise,
)
from dpo_vs_ppo.evaluation.scorers import make_scorer
from dpo_vs_ppo.stages import judge as judge_stage

KEY = "sk-test-0123456789-never-write-me"
QUERY = "\n\nHuman: how do i bake bread ?\n\nAssistant:"
GREAT = " mix the flour and water . knead the dough . let the dough rise . bake it in a hot oven ."
POOR = " knead the dough ."


@pytest.mark.parametrize("first, second, outcome", [
    ("A", "B", "win"), ("B", "A", "lose"), ("A", "A", "tie"), ("B", "B", "tie"), (None, "B", "invalid"), ("A", None, "invalid"),
])
def test_swap_rule(first, second, outcome):
    assert outcome_of(first, second) == outcome


@pytest.mark.parametrize("reply, verdict", [
    ("Comparison: A lists every step.\nMore helpful: A", "A"),
    ('Comparison: B is clearer.\nMore helpful: "B"', "B"),
    ("Comparison: x\nMore helpful: <B>\n", "B"),
    ("More helpful: A\nMore helpful: B", "B"),  # the last verdict line counts
    ("Comparison: both fine.\nMore helpful: neither", None),
    ("I think A is better.", None),
    ("", None),
    ("More helpful: AB", None),
])
def test_parse_verdict(reply, verdict):
    assert parse_verdict(reply) == verdict


def test_prompt_is_the_papers_with_the_texts_filled_in():
    text = judge_prompt(QUERY, GREAT, POOR)
    assert text.startswith("For the following query to a chatbot, which response is more helpful?")
    assert text.endswith('Comparison: <one-sentence comparison and explanation>\nMore helpful: <"A" or "B">')
    assert f"Response A:\n{GREAT.strip()}\n\nResponse B:\n{POOR.strip()}" in text
    assert PAPER_PROMPT.count("{") == 3


def test_offline_gold_judge_prefers_the_more_helpful_answer_and_ties_equal_ones():
    judge = ScorerJudge(make_scorer("gold_helpfulness"))
    results = judge_pairs(judge, [QUERY] * 3, [GREAT, POOR, POOR], [POOR, GREAT, POOR])
    assert [r.outcome for r in results] == ["win", "lose", "tie"]  # equal scores: the judge says "A" both times
    assert summarise(results) == {"pairs": 3, "win": 1, "tie": 1, "lose": 1, "invalid": 0, "error": 0,
                                  "win_pct": pytest.approx(100 / 3), "tie_pct": pytest.approx(100 / 3),
                                  "lose_pct": pytest.approx(100 / 3), "net_win_pct": pytest.approx(0.0)}


class FakeJudgeServer:
    """An OpenAI-compatible /v1/chat/completions that prefers the longer response, answers garbage for
    queries containing 'garbage', fails once with 503 for queries containing 'flaky', and records requests."""

    def __init__(self):
        self.requests, self.flaky_failures = [], 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                prompt = body["messages"][0]["content"]
                if "flaky" in prompt and outer.flaky_failures == 0:
                    outer.flaky_failures += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                if "broken" in prompt:
                    self.send_response(401)
                    self.end_headers()
                    return
                a = prompt.split("Response A:\n")[1].split("\n\nResponse B:")[0]
                b = prompt.split("Response B:\n")[1].split("\n\nFIRST")[0]
                content = ("I refuse to follow the format." if "garbage" in prompt else
                           f"Comparison: one is longer.\nMore helpful: {'A' if len(a) >= len(b) else 'B'}")
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    fake = FakeJudgeServer()
    yield fake
    fake.close()


def test_http_judge_sends_the_papers_prompt_twice_with_positions_swapped(server):
    judge = HTTPJudge(server.url, "gpt-4", KEY, timeout_s=5, retries=2)
    results = judge_pairs(judge, [QUERY, QUERY + " flaky", QUERY + " garbage"], [GREAT, POOR, GREAT], [POOR, GREAT, POOR])
    assert [r.outcome for r in results] == ["win", "lose", "invalid"]
    assert server.flaky_failures == 1  # the 503 was retried
    first, second = server.requests[0]["body"], server.requests[1]["body"]
    assert first["model"] == "gpt-4" and first["temperature"] == 0
    assert first["messages"][0]["content"] == judge_prompt(QUERY, GREAT, POOR)
    assert second["messages"][0]["content"] == judge_prompt(QUERY, POOR, GREAT)
    assert {r["path"] for r in server.requests} == {"/v1/chat/completions"}
    assert {r["auth"] for r in server.requests} == {f"Bearer {KEY}"}
    assert KEY not in repr(judge)


def test_http_judge_failures_are_counted_and_finished_pairs_kept(server):
    judge = HTTPJudge(server.url, "gpt-4", KEY, timeout_s=5, retries=1)
    results = judge_pairs(judge, [QUERY, QUERY + " broken", QUERY], [GREAT, GREAT, POOR], [POOR, POOR, GREAT])
    assert [r.outcome for r in results] == ["win", "error", "lose"]
    assert "HTTP 401" in results[1].detail and KEY not in results[1].detail
    dead = HTTPJudge("http://127.0.0.1:9/v1", "gpt-4", KEY, timeout_s=1, retries=0)
    with pytest.raises(JudgeError, match="contacting") as err:
        dead(QUERY, GREAT, POOR)
    assert KEY not in str(err.value)


def test_judge_stage_over_http_writes_results_and_never_the_key(server, tmp_path, monkeypatch, capsys):
    rows = [{"prompt_id": f"q{i}", "prompt": QUERY + (" garbage" if i == 2 else ""), "responses": [r]}
            for i, r in enumerate([GREAT, POOR, GREAT])]
    base = [{"prompt_id": f"q{i}", "prompt": QUERY, "responses": [r]} for i, r in enumerate([POOR, GREAT, POOR])]
    (tmp_path / "policy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "base.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reversed(base)))  # order may differ
    (tmp_path / "params.yaml").write_text("profile: paper\nseeds: [0]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    monkeypatch.setenv("JUDGE_BASE_URL", server.url)
    monkeypatch.setenv("JUDGE_MODEL", "gpt-4")
    monkeypatch.setenv("JUDGE_API_KEY", KEY)
    judge_stage.main(["--params", str(tmp_path / "params.yaml"), "--experiment", "experiments/judge_dialogue.yaml",
                      "--samples", str(tmp_path / "policy.jsonl"), "--baseline-samples", str(tmp_path / "base.jsonl"),
                      "--judgements", str(tmp_path / "out" / "judgements.jsonl"),
                      "--metrics", str(tmp_path / "out" / "metrics.json"), "--run-info", str(tmp_path / "out" / "run.json")])
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert (metrics["win"], metrics["lose"], metrics["invalid"], metrics["win_pct"]) == (1, 1, 1, 50.0)
    assert [json.loads(line)["prompt_id"] for line in (tmp_path / "out" / "judgements.jsonl").open()] == ["q0", "q1", "q2"]
    written = "".join(p.read_text() for p in (tmp_path / "out").iterdir()) + capsys.readouterr().out
    assert KEY not in written and "JUDGE_API_KEY" in (tmp_path / "out" / "run.json").read_text()


def test_http_judge_without_its_environment_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv("JUDGE_BASE_URL", raising=False)
    (tmp_path / "params.yaml").write_text("profile: paper\nseeds: [0]\nablation_seeds: [0]\nconfidence_level: 0.95\n")
    with pytest.raises(SystemExit) as stop:
        from dpo_vs_ppo.stages._cli import main_with_config_errors
        main_with_config_errors(judge_stage.main, ["--params", str(tmp_path / "params.yaml"), "--experiment",
                                                   "experiments/judge_dialogue.yaml", "--samples", "x", "--baseline-samples",
                                                   "y", "--judgements", "z", "--metrics", "m", "--run-info", "r"])
    assert stop.value.code == 2
