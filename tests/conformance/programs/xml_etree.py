import xml.etree.ElementTree as ET
from xml.dom import minidom

root = ET.Element("catalog", {"version": "1"})
for i, (title, price) in enumerate([("Book A", "9.99"), ("Bük B", "15.00")]):
    item = ET.SubElement(root, "book", id=str(i))
    ET.SubElement(item, "title").text = title
    ET.SubElement(item, "price", currency="EUR").text = price
ET.indent(root)
text = ET.tostring(root, encoding="unicode")
print(text)
print(ET.tostring(root, encoding="utf-8", xml_declaration=True)[:60])
parsed = ET.fromstring(text)
print([b.findtext("title") for b in parsed.iter("book")], parsed.find("book[@id='1']/price").attrib)
print([e.tag for e in parsed.findall(".//price")], sum(float(p.text) for p in parsed.iterfind(".//price")))
ns = ET.fromstring('<r xmlns:x="urn:x"><x:a>1</x:a><x:a>2</x:a></r>')
print([e.text for e in ns.findall("x:a", {"x": "urn:x"})], ns[0].tag)
try:
    ET.fromstring("<a><b></a>")
except ET.ParseError as e:
    print("ParseError:", e, e.position)
for event, el in ET.iterparse(__import__("io").StringIO("<a><b>t</b></a>"), events=("start", "end")):
    print(event, el.tag)
print(minidom.parseString("<a><b x='1'/></a>").toprettyxml(indent=" "), end="")
print(ET.canonicalize("<a b='2' a='1'><c/></a>"))
