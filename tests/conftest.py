import os

from derive.threads import default_blas_threads

default_blas_threads()  # before numpy is imported (derive.threads says why)

from hypothesis import settings  # noqa: E402

from numeric import profiles  # noqa: E402

profiles.register()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
