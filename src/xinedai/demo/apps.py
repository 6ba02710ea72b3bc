"""Demo app: a believable bank generated deterministically from a seed, at any size."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "xinedai.demo"
    label = "demo"
    verbose_name = "Demo data"
