"""Products app: the 信e贷 product catalogue, its approved versions and the LPR table."""

from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "xinedai.products"
    label = "products"
    verbose_name = "Products"
