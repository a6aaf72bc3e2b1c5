import calendar

print(calendar.month(2024, 2))
print(calendar.isleap(2000), calendar.isleap(1900), calendar.leapdays(1900, 2024), calendar.monthrange(2023, 2))
print(calendar.weekday(2024, 7, 4), calendar.day_name[calendar.weekday(2024, 7, 4)], list(calendar.month_abbr)[1:4])
print(calendar.timegm((2024, 1, 1, 0, 0, 0)), calendar.monthcalendar(2021, 2)[0])
c = calendar.TextCalendar(calendar.SUNDAY)
print(c.formatmonth(2025, 12, w=3))
print(calendar.HTMLCalendar().formatmonth(2020, 1).count("<td"))
