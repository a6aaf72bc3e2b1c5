import bisect

a = [1, 2, 4, 4, 4, 8, 16]
print(bisect.bisect_left(a, 4), bisect.bisect_right(a, 4), bisect.bisect(a, 0), bisect.bisect(a, 100))
bisect.insort(a, 5)
bisect.insort_left(a, 4)
print(a)

def grade(score, breakpoints=(60, 70, 80, 90), grades="FDCBA"):
    return grades[bisect.bisect(breakpoints, score)]

print([grade(s) for s in [33, 99, 77, 70, 89, 90, 100]])
records = [("ann", 21), ("bob", 30), ("cy", 45)]
print(bisect.bisect_left(records, 30, key=lambda r: r[1]))
bisect.insort(records, ("dee", 33), key=lambda r: r[1])
print(records)
print(bisect.bisect_left(a, 4, lo=4), bisect.bisect_right(a, 4, 0, 2))
