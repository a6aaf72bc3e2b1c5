"""regex_scan: scan a generated server log with compiled regular
expressions — findall of addresses and e-mails, match with groups,
substitution with a callback, split — the `re` engine's common paths.

Prints `regex_scan <seconds>` for the timed loop only.
"""

import re
import time

ROUNDS = 8
LINES = 2_000
# The result on native CPython; every runtime must reproduce it.
EXPECTED = 396285568

WORDS = ["alpha", "beta", "gamma", "delta", "Epsilon", "zeta", "ETA", "theta", "iota", "kappa"]
METHODS = ["GET", "POST", "PUT", "DELETE"]

LINE = re.compile(
    r"^(?P<ip>\d{1,3}(?:\.\d{1,3}){3}) - (?P<user>\S+) \[(?P<date>\d{4}-\d\d-\d\d)T"
    r"(?P<time>[\d:]+)\] \"(?P<method>[A-Z]+) (?P<path>/\S*) HTTP/1\.[01]\" (?P<status>\d{3}) (?P<size>\d+)"
)
IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
WORD = re.compile(r"\b[a-z]{4,6}\b", re.IGNORECASE)
SEPARATORS = re.compile(r"[\s/\"\[\]]+")


def make_log(lines):
    seed = 2024
    out = []
    for i in range(lines):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        ip = f"{seed % 256}.{(seed >> 8) % 256}.{(seed >> 16) % 256}.{i % 256}"
        user = f"{WORDS[seed % 10]}.{WORDS[(seed >> 4) % 10]}@example{seed % 7}.org"
        date = f"2024-{1 + seed % 12:02d}-{1 + (seed >> 3) % 28:02d}"
        clock = f"{seed % 24:02d}:{(seed >> 5) % 60:02d}:{(seed >> 9) % 60:02d}"
        path = "/" + "/".join(WORDS[(seed >> k) % 10] for k in range(0, 9, 3))
        out.append(
            f'{ip} - {user} [{date}T{clock}] "{METHODS[seed % 4]} {path} HTTP/1.1" '
            f"{200 + (seed % 5) * 100} {seed % 50_000}"
        )
    return "\n".join(out)


def run(log, rounds):
    summary = 0
    for _ in range(rounds):
        statuses = {}
        for line in log.splitlines():
            match = LINE.match(line)
            if match:
                status = match["status"]
                statuses[status] = statuses.get(status, 0) + int(match["size"])
        addresses = IPV4.findall(log)
        emails = EMAIL.findall(log)
        rewritten = DATE.sub(lambda m: f"{m[3]}/{m[2]}/{m[1]}", log)
        words = WORD.findall(log)
        pieces = SEPARATORS.split(log)
        summary += (
            sum(statuses.values()) + len(addresses) + len(emails) + len(rewritten)
            + len(words) + len(pieces)
        )
    return summary


def main():
    log = make_log(LINES)
    start = time.perf_counter()
    result = run(log, ROUNDS)
    elapsed = time.perf_counter() - start
    if result != EXPECTED:
        raise SystemExit(f"regex_scan: wrong result {result}, expected {EXPECTED}")
    print(f"regex_scan {elapsed:.6f}")


if __name__ == "__main__":
    main()
