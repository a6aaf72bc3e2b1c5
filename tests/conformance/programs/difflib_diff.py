import difflib

a = "one\ntwo\nthree\nfour\nfive\n".splitlines(keepends=True)
b = "one\nTWO\nthree\nfive\nsix\n".splitlines(keepends=True)
print("".join(difflib.unified_diff(a, b, "a.txt", "b.txt", "2020-01-01", "2020-01-02")), end="")
print("".join(difflib.context_diff(a, b, "a", "b")), end="")
print("".join(difflib.ndiff(["hello world\n"], ["hello there world\n"])), end="")
sm = difflib.SequenceMatcher(None, "abcdefgh", "abxdefzh")
print(round(sm.ratio(), 6), sm.get_matching_blocks(), sm.get_opcodes())
print(difflib.get_close_matches("appel", ["ape", "apple", "peach", "puppy"]))
print(difflib.SequenceMatcher(lambda c: c == " ", "a b c", "a  b c").quick_ratio())
html = difflib.HtmlDiff().make_table(["x"], ["y"])
print(html.count("<tr>"), "diff_header" in html)
