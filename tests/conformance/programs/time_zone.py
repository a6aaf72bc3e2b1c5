import time
from datetime import datetime, timezone

print(time.timezone, time.altzone, time.daylight, time.tzname)
t = 1_700_000_000
lt = time.localtime(t)
print(tuple(lt), lt.tm_zone, lt.tm_gmtoff)
print(time.strftime("%Y-%m-%d %H:%M:%S %Z %z", lt))
print(time.mktime(lt) == t, time.mktime((2024, 2, 29, 12, 0, 0, 0, 0, -1)))
print(time.ctime(0), time.asctime(time.localtime(86400 * 400)))
print(datetime.fromtimestamp(t), datetime.fromtimestamp(t).astimezone().tzname())
print(datetime(2024, 7, 1, 12).astimezone().utcoffset(), datetime(2024, 7, 1, 12).timestamp())
print(datetime.fromtimestamp(t, timezone.utc) == datetime.fromtimestamp(t).astimezone())
print(time.localtime(-86400)[:6], time.gmtime(2**31)[:6], time.localtime(253402300799)[:6])
print(hasattr(time, "tzset"))
