import signal

received = []
def handler(signum, frame):
    received.append(signal.Signals(signum).name)

print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, signal.SIGTERM, signal.NSIG)
old = signal.signal(signal.SIGUSR1, handler)
print(old)
signal.raise_signal(signal.SIGUSR1)
print(received)
try:
    signal.raise_signal(signal.SIGINT)
except KeyboardInterrupt:
    print("KeyboardInterrupt")
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
signal.raise_signal(signal.SIGUSR1)
print("ignored", received)
for name in ("alarm", "setitimer", "pthread_kill", "sigwait", "pause"):
    print(name, hasattr(signal, name))
try:
    signal.setitimer(signal.ITIMER_REAL, 0.01)
    print("setitimer ok")
except Exception as e:
    print(type(e).__name__, e)
print(len(signal.valid_signals()) > 10, signal.SIGUSR1 in signal.valid_signals())
print(signal.strsignal(signal.SIGTERM))
