# codemesh compatibility shim: the part of the atomicwrites package old pytest releases use.
import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path, mode="w", overwrite=False, **open_kwargs):
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".atomicwrites-")
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
