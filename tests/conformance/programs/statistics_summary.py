import statistics
from fractions import Fraction

data = [2.5, 3.25, 5.5, 11.25, 11.75, 2.5, 7.0]
print(statistics.mean(data), statistics.fmean(data), statistics.median(data))
print(statistics.median_low([1, 3, 5, 7]), statistics.median_high([1, 3, 5, 7]), statistics.median_grouped([1, 2, 2, 3, 4]))
print(statistics.mode(data), statistics.multimode("aabbbccccdd"))
print(round(statistics.stdev(data), 12), round(statistics.pvariance(data), 12))
print(statistics.variance([Fraction(1, 2), Fraction(3, 4), Fraction(5, 4)]))
print(statistics.quantiles(range(1, 101), n=4), statistics.harmonic_mean([40, 60]))
print(round(statistics.geometric_mean([54, 24, 36]), 9))
x = [1, 2, 3, 4, 5]
y = [2, 4, 5, 4, 5]
print(statistics.correlation(x, y), statistics.covariance(x, y), statistics.linear_regression(x, y))
nd = statistics.NormalDist(100, 15)
print(round(nd.cdf(130), 10), round(nd.inv_cdf(0.975), 8), nd.mean, nd.stdev)
try:
    statistics.mean([])
except statistics.StatisticsError as e:
    print("StatisticsError:", e)
