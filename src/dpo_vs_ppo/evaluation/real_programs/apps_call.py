"""APPS call-based problems: tests are JSON argument lists, expected values wrapped in a one-element list
as APPS stores them. Several solutions use ``List``, ``Counter``, ``heapq``, ``lru_cache`` or ``np``
without importing them, as real LeetCode-style submissions do: APPS' import block provides them."""

from . import problem

PROBLEMS = [
    problem("two_sum", "apps", [("[[2, 7, 11, 15], 9]", "[[0, 1]]"), ("[[3, 2, 4], 6]", "[[1, 2]]")], """\
class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen = {}
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i
        return []
""", """\
class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen = set()
        for x in nums:
            if target - x in seen:
                return [target - x, x]
            seen.add(x)
        return []
""", fn_name="twoSum"),
    problem("top_k_frequent", "apps", [("[[1, 1, 1, 2, 2, 3], 2]", "[[1, 2]]"), ("[[4, 4, 5, 6, 6, 6], 1]", "[[6]]")], """\
class Solution:
    def topKFrequent(self, nums: List[int], k: int) -> List[int]:
        counts = Counter(nums)
        return [x for x, _ in heapq.nlargest(k, counts.items(), key=lambda kv: kv[1])]
""", """\
class Solution:
    def topKFrequent(self, nums: List[int], k: int) -> List[int]:
        counts = Counter(nums)
        return [x for x, _ in heapq.nsmallest(k, counts.items(), key=lambda kv: kv[1])]
""", fn_name="topKFrequent"),
    problem("merge_intervals", "apps", [("[[[1, 3], [8, 10], [2, 6]]]", "[[[1, 6], [8, 10]]]"),
                                        ("[[[1, 4], [4, 5]]]", "[[[1, 5]]]")], """\
class Solution:
    def merge(self, intervals: List[List[int]]) -> List[List[int]]:
        merged: List[List[int]] = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return merged
""", """\
class Solution:
    def merge(self, intervals: List[List[int]]) -> List[List[int]]:
        merged = []
        for start, end in intervals:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return merged
""", fn_name="merge"),
    problem("longest_increasing", "apps", [("[[10, 9, 2, 5, 3, 7, 101, 18]]", "[4]"), ("[[7, 7, 7, 7]]", "[1]")], """\
import bisect
class Solution:
    def lengthOfLIS(self, nums: List[int]) -> int:
        tails: List[int] = []
        for x in nums:
            i = bisect.bisect_left(tails, x)
            tails[i:i + 1] = [x]
        return len(tails)
""", """\
import bisect
class Solution:
    def lengthOfLIS(self, nums: List[int]) -> int:
        tails = []
        for x in nums:
            i = bisect.bisect_right(tails, x)
            tails[i:i + 1] = [x]
        return len(tails)
""", fn_name="lengthOfLIS"),
    problem("min_max_tuple", "apps", [("[[3, 1, 9, 4]]", "[[1, 9]]"), ("[[5]]", "[[5, 5]]")], """\
def min_max(arr):
    return min(arr), max(arr)
""", """\
def min_max(arr):
    return max(arr), min(arr)
""", fn_name="min_max", accepted_variant="a returned tuple counts as a list"),
    problem("add_fractions", "apps", [("[\"1/2\", \"1/3\"]", "[\"5/6\"]"), ("[\"1/6\", \"1/3\"]", "[\"1/2\"]")], """\
class Solution:
    def fractionAddition(self, a: str, b: str) -> str:
        total = fractions.Fraction(a) + fractions.Fraction(b)  # the block imports the module, not the name
        return f"{total.numerator}/{total.denominator}"
""", """\
class Solution:
    def fractionAddition(self, a: str, b: str) -> str:
        (p, q), (r, s) = (map(int, x.split('/')) for x in (a, b))
        return f"{p * s + r * q}/{q * s}"
""", fn_name="fractionAddition"),
    problem("day_of_week", "apps", [("[31, 8, 2019]", "[\"Saturday\"]"), ("[15, 8, 1993]", "[\"Sunday\"]")], """\
import datetime
class Solution:
    def dayOfTheWeek(self, day: int, month: int, year: int) -> str:
        return datetime.date(year, month, day).strftime("%A")
""", """\
import datetime
class Solution:
    def dayOfTheWeek(self, day: int, month: int, year: int) -> str:
        names = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        return names[datetime.date(year, month, day).weekday()]
""", fn_name="dayOfTheWeek"),
    problem("regex_match", "apps", [("[\"aa\", \"a*\"]", "[true]"), ("[\"ab\", \"a\"]", "[false]"),
                                    ("[\"mississippi\", \"mis*is*p*.\"]", "[false]")], """\
import re
class Solution:
    def isMatch(self, s: str, p: str) -> bool:
        return re.fullmatch(p, s) is not None
""", """\
import re
class Solution:
    def isMatch(self, s: str, p: str) -> bool:
        return re.match(p, s) is not None
""", fn_name="isMatch"),
    problem("coin_change", "apps", [("[[1, 3, 4], 6]", "[2]"), ("[[2], 3]", "[-1]")], """\
class Solution:
    def coinChange(self, coins: List[int], amount: int) -> int:
        @lru_cache(maxsize=None)
        def best(left: int) -> float:
            if left == 0:
                return 0
            return min((best(left - c) + 1 for c in coins if c <= left), default=math.inf)
        answer = best(amount)
        return -1 if answer == math.inf else answer
""", """\
class Solution:
    def coinChange(self, coins: List[int], amount: int) -> int:
        count = 0
        for c in sorted(coins, reverse=True):
            count += amount // c
            amount %= c
        return count if amount == 0 else -1
""", fn_name="coinChange"),
    problem("matrix_trace", "apps", [("[[[1, 2], [3, 4]]]", "[5]"), ("[[[7]]]", "[7]")], """\
class Solution:
    def trace(self, m: List[List[int]]) -> int:
        return int(np.trace(np.array(m)))
""", """\
class Solution:
    def trace(self, m: List[List[int]]) -> int:
        return int(np.sum(np.array(m)))
""", fn_name="trace"),
    problem("pangram", "apps", [("[\"The quick brown fox jumps over the lazy dog\"]", "[true]"),
                                ("[\"abcdefghijklmnopqrstuvwxy\"]", "[false]")], """\
import string
class Solution:
    def checkIfPangram(self, sentence: str) -> bool:
        return set(string.ascii_lowercase) <= set(sentence.lower())
""", """\
import string
class Solution:
    def checkIfPangram(self, sentence: str) -> bool:
        return set(string.ascii_lowercase[:-1]) <= set(sentence.lower())
""", fn_name="checkIfPangram"),
    problem("all_subsets", "apps", [("[[1, 2]]", "[[[], [1], [2], [1, 2]]]")], """\
from itertools import combinations
class Solution:
    def subsets(self, nums: List[int]) -> List[List[int]]:
        return [list(c) for r in range(len(nums) + 1) for c in combinations(nums, r)]
""", """\
from itertools import combinations
class Solution:
    def subsets(self, nums: List[int]) -> List[List[int]]:
        return [list(c) for r in range(1, len(nums) + 1) for c in combinations(nums, r)]
""", fn_name="subsets"),
]
