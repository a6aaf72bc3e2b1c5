import warnings

def old_api():
    warnings.warn("old_api is deprecated", DeprecationWarning, stacklevel=2)

old_api()
warnings.warn("a user warning")
warnings.warn("same user warning")
for _ in range(3):
    warnings.warn("repeated once", RuntimeWarning)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    warnings.warn("recorded", UserWarning)
    old_api()
print([(w.category.__name__, str(w.message)) for w in caught])
warnings.filterwarnings("error", category=FutureWarning)
try:
    warnings.warn("now an error", FutureWarning)
except FutureWarning as e:
    print("raised:", e)
warnings.simplefilter("ignore")
warnings.warn("ignored")
print("done")
