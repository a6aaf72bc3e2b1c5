import hashlib

data = b"The quick brown fox jumps over the lazy dog"
for name in ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256", "sha3_512", "blake2b", "blake2s"]:
    print(name, hashlib.new(name, data).hexdigest())
h = hashlib.sha256()
for chunk in (data[:10], data[10:]):
    h.update(chunk)
print(h.hexdigest() == hashlib.sha256(data).hexdigest(), h.digest_size, h.block_size, h.name)
print(hashlib.shake_128(data).hexdigest(16), hashlib.shake_256(b"").hexdigest(8))
print(hashlib.blake2b(data, digest_size=16, key=b"key", salt=b"salt").hexdigest())
if hasattr(hashlib, "pbkdf2_hmac"):
    print(hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 1000).hex())
else:
    print("no pbkdf2_hmac (no OpenSSL)")
print(sorted(a for a in hashlib.algorithms_guaranteed))
c = h.copy()
c.update(b"more")
print(c.hexdigest() != h.hexdigest())
print(hashlib.file_digest(__import__("io").BytesIO(data), "sha1").hexdigest())
try:
    hashlib.new("nope")
except ValueError as e:
    print("ValueError:", e)
