import html
from html.parser import HTMLParser

print(html.escape("<a href=\"x\">Tom & 'Jerry'</a>"), html.escape("<&>", quote=False))
print(html.unescape("&lt;p&gt; &amp;amp; &eacute; &#169; &#x263A; &notanentity; &copy"))

class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.events = []
    def handle_starttag(self, tag, attrs):
        self.events.append(("start", tag, attrs))
    def handle_endtag(self, tag):
        self.events.append(("end", tag))
    def handle_data(self, data):
        if data.strip():
            self.events.append(("data", data.strip()))
    def handle_comment(self, data):
        self.events.append(("comment", data))
    def handle_entityref(self, name):
        self.events.append(("entity", name))

p = Collector()
p.feed('<!DOCTYPE html><html><body class="main" id=x><p>Hi &amp; bye<br/><!-- note --><a href="/u?a=1&b=2">link</a></p></body></html>')
p.close()
for e in p.events:
    print(e)
