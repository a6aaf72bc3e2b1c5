"""pystone-like: a Dhrystone-style synthetic mix of small procedure calls,
record copies, integer arithmetic, character and string comparisons and
array indexing, written for this suite.

Prints `pystone <seconds>` for the timed loop only.
"""

import time

LOOPS = 200_000
# The result on native CPython; every runtime must reproduce it.
EXPECTED = 14600010

IDENT1, IDENT2, IDENT3, IDENT4, IDENT5 = range(5)


class Record:
    __slots__ = ("link", "kind", "int_comp", "enum_comp", "str_comp")

    def __init__(self, link=None, kind=IDENT1, int_comp=0, enum_comp=IDENT1, str_comp=""):
        self.link = link
        self.kind = kind
        self.int_comp = int_comp
        self.enum_comp = enum_comp
        self.str_comp = str_comp

    def copy(self):
        return Record(self.link, self.kind, self.int_comp, self.enum_comp, self.str_comp)


class State:
    def __init__(self):
        self.int_glob = 0
        self.bool_glob = False
        self.char1 = "\0"
        self.char2 = "\0"
        self.array1 = [0] * 51
        self.array2 = [[0] * 51 for _ in range(51)]
        self.record = None


def compare_chars(a, b):
    first = a
    second = first
    return IDENT1 if second != b else IDENT2


def compare_strings(s1, s2):
    index = 1
    ch = "\0"
    while index <= 1:
        if compare_chars(s1[index], s2[index + 1]) == IDENT1:
            ch = "A"
            index += 1
    if "W" <= ch <= "Z":
        index = 7
    if ch == "X":
        return True
    return s1 > s2


def choose(value):
    if value == IDENT1:
        return IDENT1
    if value == IDENT2:
        return IDENT4
    if value == IDENT3:
        return IDENT2
    if value == IDENT4:
        return IDENT3
    return IDENT5


def add_seven(a, b):
    return a + b + 7


def set_char_state(state):
    state.char1 = "A"
    state.bool_glob = False


def set_second_char(state):
    flag = state.char1 == "A"
    state.bool_glob = flag or state.bool_glob
    state.char2 = "B"


def fill_arrays(state, array1, array2, first, second):
    loc = first + 5
    array1[loc] = second
    array1[loc + 1] = array1[loc]
    array1[loc + 30] = loc
    for column in range(loc, loc + 2):
        array2[loc][column] = loc
    array2[loc][loc - 1] += 1
    array2[loc + 20][loc] = array1[loc]
    state.int_glob = 5


def adjust(value, state):
    loc = value + 10
    while True:
        if state.char1 == "A":
            loc -= 1
            return loc - state.int_glob


def update_record(state, record):
    following = record.link
    following.kind = record.kind
    following.int_comp = 5
    following.enum_comp = record.enum_comp
    following.str_comp = record.str_comp
    record.int_comp = 5
    if following.kind == IDENT1:
        following.int_comp = add_seven(following.int_comp, 10) - state.int_glob
        following.enum_comp = choose(record.enum_comp)
        return record
    return following.copy()


def run(loops):
    state = State()
    state.record = Record(Record(), IDENT1, 40, IDENT3, "DHRYSTONE PROGRAM, SOME STRING")
    s1 = "DHRYSTONE PROGRAM, 1'ST STRING"
    state.array2[8][7] = 10
    total = 0
    for _ in range(loops):
        set_char_state(state)
        set_second_char(state)
        a, b = 2, 3
        s2 = "DHRYSTONE PROGRAM, 2'ND STRING"
        enum_value = IDENT2
        state.bool_glob = not compare_strings(s1, s2)
        c = 0
        while a < b:
            c = 5 * a - b
            c = add_seven(a, c)
            a += 1
        fill_arrays(state, state.array1, state.array2, a, c)
        state.record = update_record(state, state.record)
        ch = "A"
        while ch <= state.char2:
            if enum_value == compare_chars(ch, "C"):
                enum_value = choose(IDENT1)
            ch = chr(ord(ch) + 1)
        c = b * a
        b = c // a
        b = 7 * (c - b) - a
        a = adjust(a, state)
        total += a + b + c + state.record.link.int_comp
    return total + state.array2[8][7]


def main():
    start = time.perf_counter()
    result = run(LOOPS)
    elapsed = time.perf_counter() - start
    if result != EXPECTED:
        raise SystemExit(f"pystone: wrong result {result}, expected {EXPECTED}")
    print(f"pystone {elapsed:.6f}")


if __name__ == "__main__":
    main()
