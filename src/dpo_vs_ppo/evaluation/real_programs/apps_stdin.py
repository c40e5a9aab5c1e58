"""APPS standard-input problems: a correct solution and a wrong twin each (see the package docstring)."""

from . import problem

PROBLEMS = [
    problem("huffman_cost", "apps", [("4\n1 2 3 4\n", "19\n"), ("3\n5 5 5\n", "25\n")], """\
import heapq
n = int(input())
a = list(map(int, input().split()))
heapq.heapify(a)
total = 0
while len(a) > 1:
    x = heapq.heappop(a) + heapq.heappop(a)
    total += x
    heapq.heappush(a, x)
print(total)
""", """\
n = int(input())
a = sorted(map(int, input().split()))
total = 0
while len(a) > 1:
    x = a.pop() + a.pop()
    total += x
    a.append(x)
    a.sort()
print(total)
"""),
    problem("count_at_most", "apps", [("5 3\n1 2 2 4 7\n2\n0\n7\n", "3\n0\n5\n")], """\
from bisect import bisect_right
n, q = map(int, input().split())
a = sorted(map(int, input().split()))
for _ in range(q):
    print(bisect_right(a, int(input())))
""", """\
from bisect import bisect_left
n, q = map(int, input().split())
a = sorted(map(int, input().split()))
for _ in range(q):
    print(bisect_left(a, int(input())))
"""),
    problem("most_common_word", "apps", [("pear apple pear apple fig\n", "apple 2\n"), ("a b c\n", "a 1\n")], """\
from collections import Counter
words = Counter(input().split())
best = min(words.items(), key=lambda kv: (-kv[1], kv[0]))
print(best[0], best[1])
""", """\
from collections import Counter
word, count = Counter(input().split()).most_common(1)[0]
print(word, count)
"""),
    problem("distinct_permutations", "apps", [("aba\n", "aab\naba\nbaa\n"), ("xy\n", "xy\nyx\n")], """\
from itertools import permutations
for p in sorted(set(permutations(input().strip()))):
    print(''.join(p))
""", """\
from itertools import permutations
for p in sorted(permutations(input().strip())):
    print(''.join(p))
"""),
    problem("stairs_1_2_3", "apps", [("4\n", "7\n"), ("30\n", "53798080\n")], """\
import sys
from functools import lru_cache
sys.setrecursionlimit(10000)
MOD = 10**9 + 7
@lru_cache(maxsize=None)
def ways(n: int) -> int:
    if n < 0:
        return 0
    if n == 0:
        return 1
    return (ways(n - 1) + ways(n - 2) + ways(n - 3)) % MOD
print(ways(int(input())))
""", """\
from functools import lru_cache
@lru_cache(maxsize=None)
def ways(n):
    return 1 if n <= 1 else ways(n - 1) + ways(n - 2)
print(ways(int(input())))
"""),
    problem("lcm_of_list", "apps", [("3\n4 6 8\n", "24\n"), ("2\n7 5\n", "35\n")], """\
import math
from functools import reduce
input()
nums = list(map(int, input().split()))
print(reduce(lambda a, b: a * b // math.gcd(a, b), nums))
""", """\
from functools import reduce
input()
print(reduce(lambda a, b: a * b, map(int, input().split())))
"""),
    problem("fraction_sum", "apps", [("1/2 1/3\n", "5/6\n"), ("1/4 3/4\n", "1\n")], """\
from fractions import Fraction
print(sum(map(Fraction, input().split())))
""", """\
print(round(sum(eval(x) for x in input().split()), 4))
"""),
    problem("round_half_up", "apps", [("2.675\n", "2.68\n"), ("1.005\n", "1.01\n")], """\
from decimal import Decimal, ROUND_HALF_UP
print(Decimal(input().strip()).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP))
""", """\
print(f"{round(float(input()), 2):.2f}")
"""),
    problem("days_between", "apps", [("2020-02-28 2020-03-01\n", "2\n"), ("2019-12-31 2021-01-01\n", "367\n")], """\
from datetime import date
a, b = (date.fromisoformat(s) for s in input().split())
print(abs((b - a).days))
""", """\
def days(s):
    y, m, d = map(int, s.split('-'))
    return y * 365 + m * 30 + d
a, b = input().split()
print(abs(days(b) - days(a)))
"""),
    problem("sum_of_integers_in_text", "apps", [("a-3b10c+2\n", "9\n"), ("x 5 y -5 z 7\n", "7\n")], """\
import re
print(sum(int(x) for x in re.findall(r'[+-]?\\d+', input())))
""", """\
import re
print(sum(int(x) for x in re.findall(r'\\d+', input())))
"""),
    problem("caesar", "apps", [("3\nxyz abc\n", "abc def\n")], """\
import string
k = int(input())
low = string.ascii_lowercase
print(input().translate(str.maketrans(low, low[k:] + low[:k])))
""", """\
k = int(input())
print(''.join(chr(ord(c) + k) if c.isalpha() else c for c in input()))
"""),
    problem("deep_tree_height", "apps", [("5\n1 2\n2 3\n3 4\n1 5\n", "3\n"),
                                         ("20000\n" + "".join(f"{i} {i + 1}\n" for i in range(1, 20000)), "19999\n")], """\
import sys, threading
def main():
    n = int(sys.stdin.readline())
    children = [[] for _ in range(n + 1)]
    for _ in range(n - 1):
        u, v = map(int, sys.stdin.readline().split())
        children[u].append(v)
    def height(u):
        return max((height(v) + 1 for v in children[u]), default=0)
    print(height(1))
sys.setrecursionlimit(1 << 25)
threading.stack_size(1 << 26)
threading.Thread(target=main).start()
""", """\
import sys, threading
def main():
    n = int(sys.stdin.readline())
    children = [[] for _ in range(n + 1)]
    for _ in range(n - 1):
        u, v = map(int, sys.stdin.readline().split())
        children[u].append(v)
    def size(u):
        return 1 + sum(size(v) for v in children[u])
    print(size(1) - 1)
sys.setrecursionlimit(1 << 25)
threading.stack_size(1 << 26)
threading.Thread(target=main).start()
"""),
    problem("numpy_determinant", "apps", [("2\n1 2\n3 4\n", "-2.0\n"), ("3\n2 0 0\n0 3 0\n0 0 4\n", "24.0\n")], """\
import numpy as np
n = int(input())
m = np.array([list(map(float, input().split())) for _ in range(n)])
print(np.linalg.det(m))
""", """\
import numpy as np
n = int(input())
m = np.array([list(map(float, input().split())) for _ in range(n)])
print(np.trace(m))
""", accepted_variant="float tolerance (numpy prints -2.0000000000000004)"),
    problem("prefix_sums_spaced", "apps", [("4\n1 2 3 4\n", "1 3 6 10\n")], """\
from itertools import accumulate
input()
print(*accumulate(map(int, input().split())), sep='  ', end='  \\n')
""", """\
from itertools import accumulate
input()
print(*accumulate(map(int, input().split()), initial=0), sep=' ')
""", accepted_variant="token-wise (two spaces between numbers, trailing spaces)"),
    problem("mean_to_more_digits", "apps", [("3\n1 2 7\n", "3.333333\n"), ("2\n1 2\n", "1.5\n")], """\
from typing import List
def mean(xs: List[int]) -> float:
    return sum(xs) / len(xs)
input()
print('%.10f' % mean(list(map(int, input().split()))))
""", """\
input()
xs = list(map(int, input().split()))
print(sum(xs) // len(xs))
""", accepted_variant="float tolerance (10 digits printed, 6 expected)"),
    problem("transpose_grid", "apps", [("2 3\nabc\ndef\n", "ad\nbe\ncf\n")], """\
r, c = map(int, input().split())
rows = [input().strip() for _ in range(r)]
print()
for j in range(c):
    print('  ' + ''.join(row[j] for row in rows) + '  ')
print()
""", """\
r, c = map(int, input().split())
for _ in range(r):
    print(input().strip())
""", accepted_variant="stripped lines (blank lines and padding)"),
    problem("binomial_mod", "apps", [("5 2\n", "10\n"), ("100 50\n", "538992043\n")], """\
from math import comb
n, k = map(int, input().split())
print(comb(n, k) % (10**9 + 7))
""", """\
from math import comb
n, k = map(int, input().split())
print(comb(n, k) % (10**9 + 9))
"""),
    problem("grid_shortest_path", "apps", [("3 4\n....\n.##.\n....\n", "5\n"), ("5 3\n...\n##.\n...\n.##\n...\n", "10\n"),
                                             ("2 2\n.#\n#.\n", "-1\n")], """\
from collections import deque
h, w = map(int, input().split())
g = [input() for _ in range(h)]
dist = {(0, 0): 0}
queue = deque([(0, 0)])
while queue:
    y, x = queue.popleft()
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        ny, nx = y + dy, x + dx
        if 0 <= ny < h and 0 <= nx < w and g[ny][nx] == '.' and (ny, nx) not in dist:
            dist[ny, nx] = dist[y, x] + 1
            queue.append((ny, nx))
print(dist.get((h - 1, w - 1), -1))
""", """\
h, w = map(int, input().split())
g = [input() for _ in range(h)]
print(h + w - 2 if g[h - 1][w - 1] == '.' else -1)
"""),
]
