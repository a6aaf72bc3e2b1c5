from email import message_from_string, policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr, parsedate_to_datetime

msg = EmailMessage()
msg["From"] = formataddr(("Ann Example", "ann@example.com"))
msg["To"] = "bob@example.com, Zoë <zoe@example.com>"
msg["Subject"] = "Grüße from the test"
msg["Date"] = formatdate(0, usegmt=True)
msg["Message-ID"] = "<fixed@example.com>"
msg.set_content("Hello Bob,\nthis is plain text.\n")
msg.add_alternative("<p>Hello <b>Bob</b></p>", subtype="html")
msg.add_attachment(b"\x00\x01binary", maintype="application", subtype="octet-stream", filename="data.bin")
text = msg.as_string()
for line in text.splitlines():
    if "boundary" in line or line.startswith("--==="):
        print("<boundary line>")
    else:
        print(line)
parsed = message_from_string(text, policy=policy.default)
print(parsed["subject"], parsed.is_multipart(), [p.get_content_type() for p in parsed.walk()])
print(parsed.get_body(("plain",)).get_content(), end="")
att = next(parsed.iter_attachments())
print(att.get_filename(), att.get_content())
print(parseaddr("Zoë <zoe@example.com>"), parsedate_to_datetime("Tue, 15 Nov 1994 08:12:31 +0100"))
raw = "Subject: =?utf-8?q?caf=C3=A9?=\nX-Num: 1\n\nbody\n"
m = message_from_string(raw, policy=policy.default)
print(m["subject"], m["x-num"], m.get_payload(), m.get_content_type())
