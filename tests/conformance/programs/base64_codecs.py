import base64

data = bytes(range(0, 256, 7))
for enc, dec in [
    (base64.b64encode, base64.b64decode),
    (base64.urlsafe_b64encode, base64.urlsafe_b64decode),
    (base64.b32encode, base64.b32decode),
    (base64.b32hexencode, base64.b32hexdecode),
    (base64.b16encode, base64.b16decode),
    (base64.a85encode, base64.a85decode),
    (base64.b85encode, base64.b85decode),
]:
    e = enc(data)
    print(enc.__name__, e.decode(), dec(e) == data)
print(base64.b64encode(b"hello", altchars=b"-_"), base64.standard_b64decode("aGVsbG8="))
print(base64.encodebytes(b"x" * 60))
try:
    base64.b64decode("abc", validate=True)
except Exception as e:
    print(type(e).__name__, e)
print(base64.b64decode("YWJj\n ZGVm"))
