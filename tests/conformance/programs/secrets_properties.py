import secrets
import string

token = secrets.token_hex(16)
print(len(token), all(c in string.hexdigits for c in token))
print(len(secrets.token_bytes(32)), type(secrets.token_bytes()).__name__)
url = secrets.token_urlsafe(24)
print(len(url), all(c.isalnum() or c in "-_" for c in url))
n = secrets.randbelow(10)
print(0 <= n < 10, secrets.randbits(8) < 256)
print(secrets.choice("abc") in "abc")
print(secrets.compare_digest(b"abc", b"abc"), secrets.compare_digest("abc", "abd"))
tokens = {secrets.token_hex(8) for _ in range(50)}
print("distinct tokens:", len(tokens))
import os
a, b = os.urandom(16), os.urandom(16)
print(len(a), a != b)
