import textwrap

text = ("The textwrap module provides some convenience functions, as well as TextWrapper, "
        "the class that does all the work. If you're just wrapping or filling one or two text strings, "
        "the convenience functions should be good enough.")
print(textwrap.fill(text, width=40))
print(textwrap.wrap(text, 30)[:3])
print(textwrap.shorten(text, width=50, placeholder=" [...]"))
print(repr(textwrap.dedent("""\
    indented
      more
    back
""")))
print(textwrap.indent("a\n\nb\n", "> "), end="")
print(textwrap.indent("a\n\nb\n", "+ ", lambda line: True), end="")
w = textwrap.TextWrapper(width=20, initial_indent="* ", subsequent_indent="  ", break_long_words=True)
print(w.fill("supercalifragilisticexpialidocious is a long word indeed"))
print(textwrap.fill("tabs\there\tand\tthere", 12, expand_tabs=True, tabsize=4))
print("café".center(10, "*"), "x".rjust(3, "0"), "abc".ljust(5) + "|", "%-6s|%6.2f|%03d" % ("ab", 3.14159, 7))
