class ConfigError(Exception):
    pass

def read_setting(settings, key):
    try:
        return settings[key]
    except KeyError as missing:
        raise ConfigError(f"setting {key!r} is required") from missing

def compute():
    values = [1, 2, 0]
    total = 0
    for v in values:
        total += 10 // v
    return total

try:
    compute()
except ZeroDivisionError:
    print("compute failed, trying settings", flush=True)
    read_setting({"a": 1}, "b")
