import json

data = {
    "name": "pyworkerd",
    "numbers": [1, 2.5, -3, 10**20],
    "nested": {"ok": True, "none": None, "unicode": "héllo ✓"},
    "empty": [],
}
text = json.dumps(data, sort_keys=True)
print(text)
print(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
back = json.loads(text)
print(back == data, type(back["numbers"][3]).__name__)
print(json.dumps([float("inf"), float("-inf")]))
print(json.loads('{"a": NaN}')["a"] != json.loads('{"a": NaN}')["a"])
print(json.dumps("\u2028 \x00 \"q\""))
try:
    json.loads('{"a": 1,}')
except json.JSONDecodeError as e:
    print("JSONDecodeError:", e.msg, e.lineno, e.colno, e.pos)
try:
    json.dumps({1j: 2})
except TypeError as e:
    print("TypeError:", e)
try:
    json.dumps(object())
except TypeError as e:
    print("TypeError:", e)
print(json.dumps({"b": 1, "a": 2}, separators=(",", ":")))
decoder = json.JSONDecoder(object_pairs_hook=list)
print(decoder.decode('{"x": 1, "y": [2, 3]}'))
