import os
import tempfile

from gradproof.derive.runtime.threads import default_blas_threads

default_blas_threads()  # before numpy is imported (gradproof.derive.runtime.threads says why)
# the per-weight forms' disk cache: the suite's own folder, never the user's; kept between runs (an entry's key
# is the source of every module that shapes it, so an edit makes new entries, never stale ones; the tests
# of the cache itself use fresh folders). GRADPROOF_CACHE=off runs the suite with every form compiled.
os.environ.setdefault("GRADPROOF_CACHE", os.path.join(tempfile.gettempdir(), "gradproof-test-cache"))

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from gradproof.numeric.strategies import profiles  # noqa: E402

profiles.register()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.hookimpl(tryfirst=True)   # before pytest deselects by ``-m``
def pytest_collection_modifyitems(config, items):
    """A catalogue marked ``sampled(k)`` runs k of its cases in the default suite, spread evenly over it
    (the first and the last among them, always the same ones); its other cases, and tests marked
    ``deferred``, are marked ``deferred`` and ``slow``: out of the default suite, run by CI with
    ``-m deferred`` (``-m slow`` runs them with the long runs)."""
    catalogues = {}
    for item in items:
        mark = item.get_closest_marker("sampled")
        if mark is not None and item.get_closest_marker("slow") is None:   # chosen among the default cases
            catalogues.setdefault(item.nodeid.split("[")[0], (mark.args[0], []))[1].append(item)
        elif item.get_closest_marker("deferred") is not None:
            item.add_marker(pytest.mark.slow)
    for kept, cases in catalogues.values():
        chosen = {round(i * (len(cases) - 1) / max(kept - 1, 1)) for i in range(min(kept, len(cases)))}
        for index, item in enumerate(cases):
            if index not in chosen:
                item.add_marker(pytest.mark.deferred)
                item.add_marker(pytest.mark.slow)
