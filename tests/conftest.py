import os
import tempfile

from gradproof.derive.runtime.threads import default_blas_threads

default_blas_threads()  # before numpy is imported (gradproof.derive.runtime.threads says why)
# the per-weight forms' disk cache: the suite's own folder, never the user's; kept between runs (an entry's key
# is the source of every module that shapes it, so an edit makes new entries, never stale ones; the tests
# of the cache itself use fresh folders). GRADPROOF_CACHE=off runs the suite with every form compiled.
os.environ.setdefault("GRADPROOF_CACHE", os.path.join(tempfile.gettempdir(), "gradproof-test-cache"))

from hypothesis import settings  # noqa: E402

from gradproof.numeric.strategies import profiles  # noqa: E402

profiles.register()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
