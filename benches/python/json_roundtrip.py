"""json_roundtrip: serialise a nested document of records (strings with
non-ASCII text and escapes, ints, floats, booleans, nulls, lists) with
`json.dumps`, parse it back with `json.loads`, and compare.

Prints `json_roundtrip <seconds>` for the timed loop only.
"""

import json
import time

ROUNDS = 30
RECORDS = 400
# The result on native CPython; every runtime must reproduce it.
EXPECTED = 7152660


def make_document(records):
    seed = 12345
    items = []
    for i in range(records):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        items.append(
            {
                "id": i,
                "name": f"item-{i:05d}",
                "title": "Ünïcödé «text» \"quoted\" \\ tab\t#" + str(seed % 997),
                "price": (seed % 100_000) / 100,
                "ratio": seed / 0x7FFFFFFF,
                "active": seed % 3 == 0,
                "parent": None if i % 5 else i // 5,
                "tags": [f"t{(seed >> k) % 50}" for k in range(0, 12, 3)],
                "dimensions": {"w": seed % 640, "h": seed % 480, "unit": "px"},
                "history": [[j, (seed >> j) % 1000, j % 2 == 0] for j in range(6)],
            }
        )
    return {"version": 3, "generator": "bench", "items": items}


def run(document, rounds):
    length = 0
    for round_number in range(rounds):
        if round_number % 2:
            text = json.dumps(document, sort_keys=True, indent=2)
        else:
            text = json.dumps(document, ensure_ascii=False)
        parsed = json.loads(text)
        if parsed != document:
            raise SystemExit("json_roundtrip: document changed in a round trip")
        length += len(text)
    return length


def main():
    document = make_document(RECORDS)
    start = time.perf_counter()
    result = run(document, ROUNDS)
    elapsed = time.perf_counter() - start
    if result != EXPECTED:
        raise SystemExit(f"json_roundtrip: wrong total length {result}, expected {EXPECTED}")
    print(f"json_roundtrip {elapsed:.6f}")


if __name__ == "__main__":
    main()
