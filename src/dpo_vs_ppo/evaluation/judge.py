"""Pairwise judging with the paper's protocol (PAPER: Sec. 6, Table 5, App. B).

Each (query, policy response, baseline response) is judged twice, the policy's response first as
"Response A" and then as "Response B"; the policy *wins* if both verdicts prefer it, *loses* if both
prefer the baseline, and the pair is a *tie* if they disagree (which also cancels a judge's position
bias). A verdict that cannot be parsed makes the pair *invalid*, and a request that fails after its
retries makes it an *error*: both are counted and reported apart, never silently turned into ties,
and every finished pair is kept.

Judges are callables ``judge(query, response_a, response_b) -> reply_text`` in the paper's reply
format, so every judge's reply goes through the same parser:

* :class:`ScorerJudge` (tiny): answers in the paper's format, preferring the higher score of a reward
  scorer (gold helpfulness by default); on equal scores it says "A", a pure position bias that the
  swap turns into a tie.
* :class:`HTTPJudge` (paper scale, GPT-4 in the paper): sends the paper's prompt (App. B, the DPO
  paper's helpfulness prompt) to an OpenAI-compatible ``/chat/completions`` endpoint; base URL, model
  and key come from the environment, and the key is never written anywhere.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: PAPER: App. B (Rafailov et al. 2023's GPT-4 helpfulness prompt), with the query and responses filled in.
PAPER_PROMPT = """For the following query to a chatbot, which response is more helpful?

Query: {query}

Response A:
{response_a}

Response B:
{response_b}

FIRST provide a one-sentence comparison of the two responses and explain which you feel is more helpful. SECOND, on a new line, state only "A" or "B" to indicate which response is more helpful. Your response should use the format:
Comparison: <one-sentence comparison and explanation>
More helpful: <"A" or "B">"""

_VERDICT = re.compile(r"^\s*More helpful:\s*[\"'<]*\s*([AB])\s*[\"'>]*\s*\.?\s*$", re.MULTILINE)
OUTCOMES = ("win", "tie", "lose", "invalid", "error")


def judge_prompt(query: str, response_a: str, response_b: str) -> str:
    return PAPER_PROMPT.format(query=query.strip(), response_a=response_a.strip(), response_b=response_b.strip())


def parse_verdict(reply: str) -> str | None:
    """'A' or 'B' from a reply in the paper's format (its last 'More helpful:' line), else None."""
    found = _VERDICT.findall(reply or "")
    return found[-1] if found else None


@dataclass(frozen=True)
class PairJudgement:
    """One pair, judged twice."""

    index: int
    policy_first: str | None
    """Verdict with the policy's response as A."""
    policy_second: str | None
    """Verdict with the policy's response as B."""
    outcome: str
    """win / tie / lose for the policy; invalid (unparseable verdict) or error (request failed)."""
    detail: str = ""


def outcome_of(policy_first: str | None, policy_second: str | None) -> str:
    """The swap rule: both verdicts for the policy = win, both against = lose, disagreement = tie."""
    if policy_first is None or policy_second is None:
        return "invalid"
    prefers = (policy_first == "A", policy_second == "B")
    return "win" if all(prefers) else "lose" if not any(prefers) else "tie"


def judge_pairs(judge: Callable[[str, str, str], str], queries: Sequence[str], policy: Sequence[str],
                baseline: Sequence[str], on_pair: Callable[[PairJudgement], None] | None = None) -> list[PairJudgement]:
    """Judge every (query, policy, baseline) triple twice with positions swapped."""
    if not len(queries) == len(policy) == len(baseline):
        raise ValueError("queries, policy and baseline responses must be aligned")
    results = []
    for i, (query, mine, theirs) in enumerate(zip(queries, policy, baseline)):
        try:
            first = parse_verdict(judge(query, mine, theirs))
            second = parse_verdict(judge(query, theirs, mine))
            result = PairJudgement(i, first, second, outcome_of(first, second))
        except JudgeError as err:
            result = PairJudgement(i, None, None, "error", str(err))
        results.append(result)
        if on_pair is not None:
            on_pair(result)
    return results


def summarise(results: Sequence[PairJudgement]) -> dict:
    """Counts of each outcome, win/tie/lose as percentages of the validly judged pairs (the paper's
    win/tie/lose are out of its 100 pairs), and win minus lose."""
    counts = Counter(r.outcome for r in results)
    judged = sum(counts[o] for o in ("win", "tie", "lose"))
    out = {"pairs": len(results), **{o: counts[o] for o in OUTCOMES}}
    out.update({f"{o}_pct": (100.0 * counts[o] / judged if judged else float("nan")) for o in ("win", "tie", "lose")})
    out["net_win_pct"] = out["win_pct"] - out["lose_pct"]  # what "A beats B" claims are judged on
    return out


class JudgeError(RuntimeError):
    """A judge request failed for good (after its retries)."""


class ScorerJudge:
    """Offline judge: prefers the response a reward scorer rates higher, answering in the paper's format."""

    def __init__(self, scorer: Callable[[Sequence[str], Sequence[str]], list[float]]):
        self.scorer = scorer

    def __call__(self, query: str, a: str, b: str) -> str:
        score_a, score_b = self.scorer([query, query], [a, b])
        choice = "B" if score_b > score_a else "A"
        return f"Comparison: Response A scores {score_a:.3f} and Response B {score_b:.3f}.\nMore helpful: {choice}"


class HTTPJudge:
    """An OpenAI-compatible chat-completions judge (deterministic decoding: temperature 0)."""

    def __init__(self, base_url: str, model: str, api_key: str, timeout_s: float = 60.0, retries: int = 3,
                 max_tokens: int = 256):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.timeout_s, self.retries, self.max_tokens = model, timeout_s, retries, max_tokens
        self._headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}

    def __repr__(self) -> str:  # never show the key
        return f"HTTPJudge(url={self.url!r}, model={self.model!r})"

    def __call__(self, query: str, response_a: str, response_b: str) -> str:
        prompt_text = judge_prompt(query, response_a, response_b)
        body = json.dumps({"model": self.model, "temperature": 0, "max_tokens": self.max_tokens,
                           "messages": [{"role": "user", "content": prompt_text}]}).encode()
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(30.0, 0.5 * 2 ** (attempt - 1)))
            try:
                request = urllib.request.Request(self.url, data=body, headers=self._headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return _reply_text(json.loads(response.read().decode("utf-8")))
            except urllib.error.HTTPError as err:
                last = f"HTTP {err.code} from {self.url}"
                if err.code not in (408, 409, 429) and err.code < 500:
                    break  # a client error will not fix itself
            except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
                last = f"{type(err).__name__} contacting {self.url}: {getattr(err, 'reason', err)}"
            except (ValueError, KeyError, IndexError, TypeError) as err:
                last = f"malformed response from {self.url}: {type(err).__name__}"
        raise JudgeError(last)


def _reply_text(payload: dict) -> str:
    content = payload["choices"][0]["message"]["content"]
    if not isinstance(content, str):
        raise TypeError("message content is not text")
    return content
