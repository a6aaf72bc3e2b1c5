import socket

print(socket.AF_INET, socket.SOCK_STREAM, socket.has_ipv6)
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    print("socket created")
    try:
        s.settimeout(1)
        s.connect(("127.0.0.1", 9))
        print("connected")
    except Exception as e:
        print("connect:", type(e).__name__, e)
    finally:
        s.close()
except Exception as e:
    print("socket:", type(e).__name__, e)
try:
    socket.create_connection(("example.com", 80), timeout=1)
except Exception as e:
    print("create_connection:", type(e).__name__, e)
try:
    print(socket.gethostbyname("example.com"))
except Exception as e:
    print("gethostbyname:", type(e).__name__, e)
try:
    print(socket.getaddrinfo("localhost", 80)[0][:3])
except Exception as e:
    print("getaddrinfo:", type(e).__name__, e)
for family in (socket.AF_INET6,):
    try:
        socket.socket(family, socket.SOCK_STREAM)
    except OSError as e:
        print("socket AF_INET6:", type(e).__name__, e)
with socket.socket() as t:
    t.bind(("127.0.0.1", 8000))
    print("bound", t.getsockname())
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
    try:
        u.sendto(b"ping", ("10.0.0.1", 53))
    except OSError as e:
        print("sendto:", type(e).__name__, e)
    u.setblocking(False)
    try:
        u.recvfrom(16)
    except OSError as e:
        print("recvfrom:", type(e).__name__, e.errno)
print(socket.getnameinfo(("127.0.0.1", 8080), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV))
print(socket.getaddrinfo("10.0.0.7", "443", type=socket.SOCK_STREAM)[0][4])
print(socket.inet_aton("10.1.2.3").hex(), socket.inet_ntoa(b"\x7f\x00\x00\x01"), socket.htons(1), socket.ntohl(0x01020304))
try:
    print(socket.inet_pton(socket.AF_INET6, "::1").hex())
except OSError as e:
    print("inet_pton:", type(e).__name__, e)
try:
    import urllib.request
    urllib.request.urlopen("http://example.com/", timeout=1)
except Exception as e:
    print("urlopen:", type(e).__name__)
