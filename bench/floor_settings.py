"""Settings for `decision_api.py --floor`: the platform's own settings, middleware and database, with the
URLs of bench/floor_urls.py (a decision endpoint that does no work), to measure what the stack alone costs
on this machine under the same server and load."""

from xinedai.settings import *  # noqa: F403

ROOT_URLCONF = "floor_urls"
