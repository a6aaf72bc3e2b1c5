"""dict_str: everyday dictionary and string work — count words, group them
by prefix, build and split lines, format records, case changes, sorting,
set operations.

Prints `dict_str <seconds>` for the timed loop only.
"""

import time

ROUNDS = 30
WORD_COUNT = 20_000
# The result on native CPython; every runtime must reproduce it.
EXPECTED = 961110

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "xe", "zu", "an", "ell"]


def make_words(count):
    seed = 7
    words = []
    for _ in range(count):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        length = 1 + seed % 4
        words.append("".join(SYLLABLES[(seed >> (3 * k)) % 12] for k in range(length)))
    return words


def run(words, rounds):
    checksum = 0
    for round_number in range(rounds):
        counts = {}
        for word in words:
            counts[word] = counts.get(word, 0) + 1
        by_prefix = {}
        for word, count in counts.items():
            by_prefix.setdefault(word[:2], []).append((count, word))
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:50]
        lines = [f"{word.upper():>12}|{count:6d}|{word[::-1]}" for word, count in top]
        text = "\n".join(
            " ".join(words[i : i + 12]) for i in range(0, len(words), 12)
        )
        tokens = text.replace("ka", "KA").split()
        capitals = sum(1 for token in tokens if token.startswith("KA"))
        found = text.find("zuzuzu") + text.count("ell")
        vowels = {ch for ch in text if ch in "aeiou"}
        shifted = {word: word.title() + str(round_number) for word in counts if len(word) > 6}
        common = set(by_prefix) & {syllable for syllable in SYLLABLES}
        checksum += (
            len(counts) + sum(len(group) for group in by_prefix.values())
            + sum(len(line) for line in lines) + len(tokens) + capitals + found
            + len(vowels) + len(shifted) + len(common)
        )
    return checksum


def main():
    words = make_words(WORD_COUNT)
    start = time.perf_counter()
    result = run(words, ROUNDS)
    elapsed = time.perf_counter() - start
    if result != EXPECTED:
        raise SystemExit(f"dict_str: wrong result {result}, expected {EXPECTED}")
    print(f"dict_str {elapsed:.6f}")


if __name__ == "__main__":
    main()
