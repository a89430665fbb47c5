import os

from hypothesis import settings

from numeric import profiles

profiles.register()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
