import io
import logging

logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
log = logging.getLogger("conformance")
log.debug("hidden")
log.info("info message %d", 42)
log.warning("warning with %s", "args")
buf = io.StringIO()
handler = logging.StreamHandler(buf)
handler.setFormatter(logging.Formatter("[%(levelname)-7s] %(funcName)s %(lineno)d %(message)s"))
child = logging.getLogger("conformance.child")
child.addHandler(handler)
child.setLevel(logging.DEBUG)
child.debug("debug to buffer")
try:
    1 / 0
except ZeroDivisionError:
    child.exception("with traceback")
print(buf.getvalue(), end="")
print(logging.getLevelName(30), logging.getLevelName("ERROR"), child.getEffectiveLevel(), log.parent.name)
logging.getLogger().handlers[0].setFormatter(logging.Formatter("%(message)s|%(module)s"))
log.error("error goes to stderr")
