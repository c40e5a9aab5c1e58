"""CodeContests problems (Codeforces style): several test cases per input, ``sys.stdin`` reading,
programs that must import what they use (the harness adds no import block), token-wise output and
floats within a tolerance."""

from . import problem

PROBLEMS = [
    problem("spread_per_case", "code_contests", [("2\n3\n1 5 3\n1\n7\n", "4\n0\n")], """\
import sys
input = sys.stdin.readline
for _ in range(int(input())):
    input()
    a = list(map(int, input().split()))
    print(max(a) - min(a))
""", """\
import sys
input = sys.stdin.readline
for _ in range(int(input())):
    input()
    print(max(map(int, input().split())))
"""),
    problem("circle_area", "code_contests", [("1\n", "3.141593\n"), ("2.5\n", "19.634954\n")], """\
import math
r = float(input())
print("%.9f" % (math.pi * r * r))
""", """\
r = float(input())
print("%.6f" % (3.14 * r * r))
""", accepted_variant="float tolerance (9 digits printed, 6 expected)"),
    problem("sorted_one_per_line", "code_contests", [("3\n3 1 2\n", "1 2 3\n")], """\
input()
for x in sorted(map(int, input().split())):
    print(x)
""", """\
input()
for x in sorted(map(int, input().split()), reverse=True):
    print(x)
""", accepted_variant="token-wise across lines (one number per line, one line expected)"),
    problem("dijkstra", "code_contests", [("3 3\n1 2 5\n2 3 1\n1 3 10\n", "6\n"), ("2 0\n", "-1\n")], """\
import heapq, sys
data = sys.stdin.read().split()
n, m = int(data[0]), int(data[1])
adj = [[] for _ in range(n + 1)]
for i in range(m):
    u, v, w = map(int, data[2 + 3 * i: 5 + 3 * i])
    adj[u].append((v, w))
    adj[v].append((u, w))
dist = [None] * (n + 1)
heap = [(0, 1)]
while heap:
    d, u = heapq.heappop(heap)
    if dist[u] is not None:
        continue
    dist[u] = d
    for v, w in adj[u]:
        if dist[v] is None:
            heapq.heappush(heap, (d + w, v))
print(-1 if dist[n] is None else dist[n])
""", """\
import sys
from collections import deque
data = sys.stdin.read().split()
n, m = int(data[0]), int(data[1])
adj = [[] for _ in range(n + 1)]
for i in range(m):
    u, v, w = map(int, data[2 + 3 * i: 5 + 3 * i])
    adj[u].append((v, w))
    adj[v].append((u, w))
dist = [None] * (n + 1)
dist[1] = 0
queue = deque([1])
while queue:
    u = queue.popleft()
    for v, w in adj[u]:
        if dist[v] is None:
            dist[v] = dist[u] + w
            queue.append(v)
print(-1 if dist[n] is None else dist[n])
"""),
    problem("gcd_needs_its_import", "code_contests", [("12 18\n", "6\n")], """\
from math import gcd
a, b = map(int, input().split())
print(gcd(a, b))
""", """\
a, b = map(int, input().split())
print(gcd(a, b))
""", accepted_variant="the wrong twin relies on APPS' import block, which CodeContests does not add"),
    problem("anagram_groups", "code_contests", [("5\neat tea tan ate nat\n", "ate eat tea\nnat tan\n")], """\
from collections import defaultdict
input()
groups = defaultdict(list)
for w in input().split():
    groups[''.join(sorted(w))].append(w)
for g in sorted(sorted(v) for v in groups.values()):
    print(*g)
""", """\
from collections import defaultdict
input()
groups = defaultdict(list)
for w in input().split():
    groups[''.join(sorted(w))].append(w)
for g in groups.values():
    print(*g)
"""),
    problem("sqrt2_digits", "code_contests", [("30\n", "141421356237309504880168872420\n")], """\
from decimal import Decimal, getcontext
n = int(input())
getcontext().prec = n + 10
print(str(Decimal(2).sqrt()).replace('.', '')[:n])
""", """\
import math
n = int(input())
print(str(math.sqrt(2)).replace('.', '')[:n])
"""),
]
