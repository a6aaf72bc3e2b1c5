import string

print(string.ascii_letters, string.digits, string.punctuation, repr(string.whitespace))
print(string.capwords("hello   wide world"), string.octdigits, string.hexdigits)
t = string.Template("$who likes ${what}; $$5")
print(t.substitute(who="Tim", what="kung pao"), t.safe_substitute(who="Ann"))
try:
    t.substitute(who="x")
except KeyError as e:
    print("KeyError:", e)
print(t.get_identifiers(), t.is_valid())
f = string.Formatter()
print(f.format("{0}-{name:>5}-{1:.2f}", "a", 2.0, name="n"), list(f.parse("a{b}c{d!r:>3}")))
print("{:_^11}".format("mid"), "{:+08.3f}".format(-3.14159), "{:,}".format(10**9), "{:#x} {:#o} {:#b}".format(255, 8, 5))
print(f"{'nested':{'>'}{10}}", f"{3.5:e}", f"{1/3:.3%}", f"{12345.678:_.1f}", f"{42!r:>5}")
print("{0[1]} {1[k]} {2.real}".format([1, 2], {"k": "v"}, 3j))
print("snake_case_words".title(), "ΣΑΣ".lower(), "straße".upper(), "ﬁ".casefold(), "Hello".swapcase())
print("a,b,,c".split(","), "  pad ".strip(), "x".zfill(4), "-12".zfill(5), "tab\tx".expandtabs(4))
print("hello world".partition(" "), "a.b.c".rpartition("."), "abc".removeprefix("a"), "abc".removesuffix("c"))
print("Ünicode".isalpha(), "½".isnumeric(), "²".isdigit(), "²".isdecimal(), "x1".isidentifier(), " ".isspace())
print(str.maketrans("abc", "xyz"), "aabbcc".translate(str.maketrans("abc", "xyz", "c")))
