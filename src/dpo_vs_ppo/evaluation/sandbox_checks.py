"""How a program's output is judged, per dataset harness (standard library only; the worker imports it).

Both harnesses are re-implemented here from their rules, not copied:

* **APPS** (hendrycks/apps, ``eval/testing_util.py``). Every program runs after a fixed import block
  (:data:`APPS_PREAMBLE`), so LeetCode-style solutions may use ``List[int]`` or ``heapq`` without
  importing them. Standard-input answers are accepted when they equal the expected text, or after
  stripping each line and dropping blank ones, or line by line token by token, or when the numbers
  agree within ``np.allclose``'s default tolerance (rtol 1e-5, atol 1e-8; the checker calls it with
  defaults) or after rounding to 3 decimals (its last try). Call-based answers: the returned value
  equals the expected one, tuples counting as lists, or equals the single element of a one-element
  expected list (APPS stores most expected values wrapped so). Time: ``timeout = 4`` seconds per test,
  a wall-clock ``signal.alarm``.
* **CodeContests** (google-deepmind/code_contests, ``execution/tester_sandboxer.cc``: ``OutputsMatch``
  and ``ValuesMatch``): the program runs as written; the output matches when its whitespace-separated
  tokens, lowercased, equal the expected ones, or there are as many and each pair matches: two words
  exactly, two numbers of which one is written as a real number within 1e-5 *absolute*, two integers
  exactly.
"""

import json
import re

#: hendrycks/apps eval/testing_util.py: the block it puts before every program, standard input and
#: call-based alike (same modules, same names, same order).
APPS_PREAMBLE = (
    "import sys\nimport time\nimport itertools\n"
    "from itertools import accumulate, product, permutations, combinations\n"
    "import collections\nfrom collections import Counter, OrderedDict, deque, defaultdict, ChainMap\n"
    "from functools import lru_cache\nimport math\n"
    "from math import sqrt, sin, cos, tan, ceil, fabs, floor, gcd, exp, log, log2\n"
    "import fractions\nfrom typing import List, Tuple\nimport numpy as np\n"
    "import random\nimport heapq\nfrom heapq import *\n"
)
APPS_RTOL, APPS_ATOL = 1e-5, 1e-8  # numpy.allclose's defaults, which APPS' checker uses
CONTESTS_TOLERANCE = 1e-5  # tester_sandboxer.cc, ValuesMatch: kDoublePrecision, |a - b| < 1e-5
HARNESSES = ("apps", "code_contests")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")


def apps_outputs_match(expected: str, got: str) -> bool:
    """APPS' standard-input rules, in its order (see the module docstring)."""
    if got == expected:
        return True
    want, have = _lines(expected), _lines(got)
    if want == have:
        return True
    # DEVIATION: APPS' last two tries compare the lines, and the tokens of each line, as *sets*, so it
    # also accepts answers in the wrong order (a reversed sort, say); we keep lines and tokens in order.
    return len(want) == len(have) and all(_tokens_match(w.split(), h.split(), _apps_close) for w, h in zip(want, have))


def contests_outputs_match(expected: str, got: str) -> bool:
    """CodeContests' rule: lowercased whitespace-separated tokens equal, numbers within a tolerance."""
    return _tokens_match(expected.lower().split(), got.lower().split(), _contests_close)


def json_outputs_match(expected: str, got: str) -> bool:
    """APPS' call-based rule on the JSON of the returned value (JSON makes tuples lists, as APPS does)."""
    # DEVIATION: APPS also accepts the first element of a longer expected list; we only unwrap a
    # one-element list (a longer one is a real list-valued answer, whose first element is not it).
    try:
        want, have = json.loads(expected), json.loads(got)
    except ValueError:
        return False
    return have == want or (isinstance(want, list) and len(want) == 1 and have == want[0])


def outputs_match(expected: str, got: str, harness: str = "apps") -> bool:
    """The standard-input check of ``harness`` ('apps' or 'code_contests')."""
    return (contests_outputs_match if harness == "code_contests" else apps_outputs_match)(expected, got)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _tokens_match(want: list[str], have: list[str], close) -> bool:
    return len(want) == len(have) and all(a == b or close(a, b) for a, b in zip(want, have))


def _as_floats(want: str, have: str):
    # DEVIATION (both harnesses): two integers compare exactly, where np.allclose would take 1000000002
    # for 1000000001; a tolerance applies only when one side is written as a real number (3 vs 3.0 is fine).
    if not (_NUMBER.fullmatch(want) and _NUMBER.fullmatch(have)) or (_INTEGER.fullmatch(want) and _INTEGER.fullmatch(have)):
        return None
    return float(want), float(have)


def _apps_close(want: str, have: str) -> bool:
    pair = _as_floats(want, have)
    if pair is None:
        return False
    w, h = pair
    return abs(h - w) <= APPS_ATOL + APPS_RTOL * abs(w) or round(w, 3) == round(h, 3)


def _contests_close(want: str, have: str) -> bool:
    pair = _as_floats(want, have)
    if pair is None:
        return False
    w, h = pair
    # DEVIATION: the tester parses integers as 32-bit (absl::SimpleAtoi), so two integers past 2**31 are
    # compared as doubles there (equal up to double precision); ours compare every pair of integers exactly.
    return abs(h - w) < CONTESTS_TOLERANCE
