import os
import tempfile

from gradproof.derive.runtime.threads import default_blas_threads

default_blas_threads()  # before numpy is imported (gradproof.derive.runtime.threads says why)
# the per-weight forms' disk cache: one fresh folder per session, never the user's own
os.environ.setdefault("GRADPROOF_CACHE", tempfile.mkdtemp(prefix="gradproof-test-cache-"))

from hypothesis import settings  # noqa: E402

from gradproof.numeric.strategies import profiles  # noqa: E402

profiles.register()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
