"""Products app: the 信e贷 product catalogue, its approved versions and the LPR table."""

from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "xinedai.products"
    label = "products"
    verbose_name = "Products"

    def ready(self) -> None:
        from xinedai.core.reuse import forget_when_changed

        from .models import LprRate, Product, ProductVersion

        forget_when_changed(Product, ProductVersion, LprRate)  # the terms in force and the LPR (core.reuse)
