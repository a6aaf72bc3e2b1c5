import csv
import io

rows = [["name", "quote", "n"], ["Ann", 'said "hi"', 1], ["Bo, Jr.", "multi\nline", 2.5], ["", None, -3]]
buf = io.StringIO()
w = csv.writer(buf)
w.writerows(rows)
print(repr(buf.getvalue()))
buf.seek(0)
print(list(csv.reader(buf)))
out = io.StringIO()
dw = csv.DictWriter(out, fieldnames=["a", "b"], quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
dw.writeheader()
dw.writerow({"a": 1, "b": "x"})
dw.writerow({"a": 2.5, "b": None})
print(out.getvalue(), end="")
text = "id;label\n1;'one; uno'\n2;two\n"
for row in csv.DictReader(io.StringIO(text), delimiter=";", quotechar="'"):
    print(dict(row))
print(csv.Sniffer().sniff("a|b|c\n1|2|3\n").delimiter)
print(sorted(csv.list_dialects()))
with open("/tmp/conf.csv", "w", newline="") as f:
    csv.writer(f, dialect="excel-tab").writerow(["x", "y z", "t\tab"])
with open("/tmp/conf.csv", "rb") as f:
    print(f.read())
try:
    list(csv.reader(['a,"b'], strict=True))
except csv.Error as e:
    print("csv.Error:", e)
