import shlex

print(shlex.split("ls -la 'my file.txt' \"double q\" esc\\ aped # comment", comments=True))
print(shlex.quote("it's here"), shlex.quote("safe"), shlex.join(["echo", "a b", "$x"]))
lex = shlex.shlex("a=1; b='two words'", posix=True, punctuation_chars=True)
print(list(lex))
try:
    shlex.split("unterminated 'quote")
except ValueError as e:
    print("ValueError:", e)
