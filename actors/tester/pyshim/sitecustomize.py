# codemesh compatibility shim, put first on PYTHONPATH by the Tester (and by `eval swe` grading) for code written
# before Python 3.10: restores what 3.10+ removed or tightened and old releases still use. Changes nothing for
# code that does not need it. Backports of small packages old releases import (atomicwrites, wcwidth,
# importlib_metadata) are appended to the END of sys.path: an installed package always wins.
import os
import sys

sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "backports"))
import collections
import collections.abc
import fractions
import inspect
import math

for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Set", "MutableSet", "Iterable",
              "Iterator", "Callable", "Hashable", "Sized", "Container", "Generator", "KeysView", "ItemsView",
              "ValuesView", "MappingView", "Awaitable", "Coroutine", "AsyncIterable", "AsyncIterator"):
    if not hasattr(collections, _name) and hasattr(collections.abc, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

if not hasattr(fractions, "gcd"):
    fractions.gcd = math.gcd

if not hasattr(inspect, "getargspec"):
    _ArgSpec = collections.namedtuple("ArgSpec", "args varargs keywords defaults")

    def getargspec(func):
        spec = inspect.getfullargspec(func)
        return _ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)

    inspect.getargspec = getargspec

# Python 3.10+ requires locations on every AST node, also on the `alias` nodes that old pytest's assertion
# rewriter builds without them.
import ast
import builtins

_compile = builtins.compile


def _compile_with_locations(source, *args, **kwargs):
    if isinstance(source, ast.AST):
        ast.fix_missing_locations(source)
        # Copied start positions without end positions leave ranges that end before they start.
        for node in ast.walk(source):
            line = getattr(node, "lineno", None)
            if line is None:
                continue
            end = getattr(node, "end_lineno", None)
            if end is None or end < line:
                node.end_lineno = line
                node.end_col_offset = getattr(node, "col_offset", 0)
            elif end == line and (getattr(node, "end_col_offset", None) or 0) < (node.col_offset or 0):
                node.end_col_offset = node.col_offset
    return _compile(source, *args, **kwargs)


builtins.compile = _compile_with_locations
