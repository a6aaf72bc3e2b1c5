"""fannkuch: for every permutation of 0..n-1, count the prefix reversals
("pancake flips") until 0 comes first; report the maximum and a checksum.
List slicing and index arithmetic.

Prints `fannkuch <seconds>` for the timed loop only.
"""

import time

N = 9
# The result on native CPython; every runtime must reproduce it.
EXPECTED = (30, 8629)


def fannkuch(n):
    permutation = list(range(n))
    counters = [0] * n
    max_flips = 0
    checksum = 0
    sign = 1
    while True:
        first = permutation[0]
        if first:
            flipped = permutation[:]
            flips = 0
            while first:
                flipped[: first + 1] = flipped[first::-1]
                flips += 1
                first = flipped[0]
            if flips > max_flips:
                max_flips = flips
            checksum += flips * sign
        # Next permutation in the order of a mixed-radix counter (Heap-like
        # rotations), alternating the checksum's sign.
        sign = -sign
        position = 1
        while True:
            if position == n:
                return max_flips, checksum
            head = permutation[0]
            permutation[:position] = permutation[1 : position + 1]
            permutation[position] = head
            counters[position] += 1
            if counters[position] <= position:
                break
            counters[position] = 0
            position += 1


def main():
    start = time.perf_counter()
    result = fannkuch(N)
    elapsed = time.perf_counter() - start
    if result != EXPECTED:
        raise SystemExit(f"fannkuch: wrong result {result}, expected {EXPECTED}")
    print(f"fannkuch {elapsed:.6f}")


if __name__ == "__main__":
    main()
