# Put on PYTHONPATH by codemesh's Tester for code written before Python 3.10, which removed the aliases of
# collections.abc in collections (collections.Mapping & co.). Restores them; changes nothing else.
import collections
import collections.abc

for _name in collections.abc.__all__:
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))
del _name
