import uuid

u1 = uuid.uuid1()
u4 = uuid.uuid4()
print(u1.version, u4.version, u4.variant == uuid.RFC_4122, len(str(u4)), u1 != uuid.uuid1())
print(uuid.uuid3(uuid.NAMESPACE_DNS, "python.org"), uuid.uuid5(uuid.NAMESPACE_URL, "https://example.com/"))
u = uuid.UUID("{12345678-1234-5678-1234-567812345678}")
print(u, u.hex, u.int, u.urn, u.bytes.hex(), u.fields, u.version)
print(uuid.UUID(bytes=bytes(range(16))), uuid.UUID(int=0) == uuid.NIL if hasattr(uuid, "NIL") else True)
try:
    uuid.UUID("not-a-uuid")
except ValueError as e:
    print("ValueError:", e)
print(sorted([uuid.UUID(int=3), uuid.UUID(int=1)]))
