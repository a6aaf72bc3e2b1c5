"""binary_trees: allocate and walk many complete binary trees of tuples,
alongside one long-lived tree: allocation, recursion and garbage
collection.

Prints `binary_trees <seconds>` for the timed loop only.
"""

import time

MAX_DEPTH = 14
MIN_DEPTH = 4
# The result on native CPython; every runtime must reproduce it.
EXPECTED = [65535, 507904, 520192, 523264, 524032, 524224, 524272, 32767]


def make(depth):
    if depth == 0:
        return (None, None)
    depth -= 1
    return (make(depth), make(depth))


def check(node):
    left, right = node
    if left is None:
        return 1
    return 1 + check(left) + check(right)


def run(max_depth):
    checks = [check(make(max_depth + 1))]
    long_lived = make(max_depth)
    for depth in range(MIN_DEPTH, max_depth + 1, 2):
        iterations = 2 ** (max_depth - depth + MIN_DEPTH)
        total = 0
        for _ in range(iterations):
            total += check(make(depth))
        checks.append(total)
    checks.append(check(long_lived))
    return checks


def main():
    start = time.perf_counter()
    result = run(MAX_DEPTH)
    elapsed = time.perf_counter() - start
    if result != EXPECTED:
        raise SystemExit(f"binary_trees: wrong result {result}, expected {EXPECTED}")
    print(f"binary_trees {elapsed:.6f}")


if __name__ == "__main__":
    main()
