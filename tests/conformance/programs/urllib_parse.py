from urllib.parse import parse_qs, parse_qsl, quote, quote_plus, unquote, unquote_plus, urldefrag, urlencode, urljoin, urlparse, urlsplit, urlunparse

u = urlparse("https://user:pw@Example.COM:8443/a/b;p?q=1&q=2&x=%20y#frag")
print(u)
print(u.hostname, u.port, u.username, u.password, u.geturl())
print(urlsplit("//host/path?x"), urlsplit("mailto:me@example.com"))
print(parse_qs(u.query), parse_qsl("a=1&b=&c", keep_blank_values=True))
print(urlencode({"k": "v w", "list": [1, 2], "ü": "é"}, doseq=True))
print(quote("a b/c?d=é"), quote("/x y", safe=""), quote_plus("a b+c"), unquote("%E2%9C%93"), unquote_plus("a+b%2B"))
for rel in ["../d", "/root", "g?y", "#s", "//other/x", "https://abs/"]:
    print(rel, "->", urljoin("http://a/b/c/d;p?q", rel))
print(urlunparse(("http", "h", "/p", "", "a=1", "f")), urldefrag("http://x/y#z"))
try:
    urlparse("http://[::1").hostname
except ValueError as e:
    print("ValueError:", e)
print(urlparse("http://[::1]:80/").hostname, urlparse("HTTP://h").scheme)
