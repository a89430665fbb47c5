import os

from gradproof.derive.runtime.threads import default_blas_threads

default_blas_threads()  # before numpy is imported (gradproof.derive.runtime.threads says why)

from hypothesis import settings  # noqa: E402

from gradproof.numeric.strategies import profiles  # noqa: E402

profiles.register()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
