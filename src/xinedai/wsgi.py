"""WSGI entry point for production servers (waitress, gunicorn, granian: docs/operations.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinedai.settings")
application = get_wsgi_application()
