# codemesh compatibility shim: the standard library has what this backport offered.
from importlib.metadata import *  # noqa: F401,F403
from importlib.metadata import PackageNotFoundError, distribution, distributions, entry_points, metadata, version  # noqa: F401
