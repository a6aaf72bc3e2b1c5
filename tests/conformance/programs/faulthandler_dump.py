import faulthandler
import sys

print("enabled", faulthandler.is_enabled())
def inner():
    faulthandler.dump_traceback(file=sys.stderr, all_threads=False)
def outer():
    inner()
sys.stdout.flush()
outer()
import traceback
traceback.print_stack(limit=2, file=sys.stdout)
print(traceback.extract_stack()[-1].name, traceback.format_list(traceback.extract_stack()[-1:])[0].strip().splitlines()[0])
