import hashlib
import hmac

key = b"secret-key"
msg = b"message to authenticate"
mac = hmac.new(key, msg, hashlib.sha256)
print(mac.hexdigest(), mac.name, mac.digest_size)
print(hmac.new(key, msg, "md5").hexdigest())
print(hmac.digest(key, msg, "sha512").hex())
m2 = hmac.new(key, digestmod="sha256")
m2.update(msg[:5])
m2.update(msg[5:])
print(hmac.compare_digest(m2.digest(), mac.digest()))
print(hmac.compare_digest("abc", "abd"))
print(hmac.new(b"", b"", "sha1").hexdigest())
try:
    hmac.new(key, msg)
except TypeError as e:
    print("TypeError:", e)
