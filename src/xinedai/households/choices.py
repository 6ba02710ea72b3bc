"""Household kinds and labels, defined once: segments, relations, document kinds, file field labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Segment(models.TextChoices):
    GREENHOUSE = "greenhouse", _("Greenhouse grower")
    BREEDER = "breeder", _("Large breeder")
    BUSINESS = "business", _("Individual business")
    SMB_OWNER = "smb_owner", _("Small-business owner")
    SALARIED = "salaried", _("Salaried")
    OTHER = "other", _("Other")


SEGMENT_BADGE = {
    "greenhouse": "green",
    "breeder": "amber",
    "business": "blue",
    "smb_owner": "indigo",
    "salaried": "teal",
    "other": "gray",
}


class Relation(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    SIBLING = "sibling", _("Sibling")
    OTHER = "other", _("Other")


class DocumentKind(models.TextChoices):
    HOUSE_DEED = "house_deed", _("House ownership certificate")
    LAND_CONTRACT = "land_contract", _("Land contract / lease")
    GREENHOUSE_PHOTO = "greenhouse_photo", _("Greenhouse photo")
    LIVESTOCK_PHOTO = "livestock_photo", _("Livestock photo")
    VEHICLE_LICENSE = "vehicle_license", _("Vehicle licence")
    BUSINESS_LICENSE = "business_license", _("Business licence")
    BANK_STATEMENT = "bank_statement", _("Bank statement")
    INCOME_PROOF = "income_proof", _("Income proof")
    CREDIT_REPORT = "credit_report", _("Credit report")
    OTHER = "other", _("Other")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FAILED = "failed", _("Rejected")
    DONE = "done", _("Imported")
    CHECKED = "checked", _("Checked (dry run)")
    CRASHED = "crashed", _("Stopped by an error")


IMPORT_BADGE = {
    "queued": "gray",
    "running": "blue",
    "failed": "red",
    "done": "green",
    "checked": "teal",
    "crashed": "red",
}

FILE_GROUP_LABELS = {
    "assets": _("Assets"),
    "liabilities": _("Liabilities"),
    "income": _("Annual income"),
    "expenses": _("Annual expenses"),
    "credit": _("Credit record"),
}

FILE_FIELD_LABELS = {
    "asset_house_fen": _("House"),
    "asset_land_fen": _("Land contract and lease rights"),
    "asset_greenhouse_fen": _("Greenhouses"),
    "asset_livestock_fen": _("Livestock"),
    "asset_vehicle_fen": _("Vehicles"),
    "asset_deposit_fen": _("Deposits"),
    "asset_equipment_fen": _("Business equipment"),
    "asset_other_fen": _("Other assets"),
    "liab_bank_fen": _("Bank loans"),
    "liab_private_fen": _("Private loans"),
    "liab_other_fen": _("Other liabilities"),
    "income_planting_fen": _("Planting"),
    "income_breeding_fen": _("Breeding"),
    "income_business_fen": _("Business"),
    "income_wages_fen": _("Wages"),
    "income_transfer_fen": _("Transfers"),
    "income_other_fen": _("Other income"),
    "expense_living_fen": _("Living"),
    "expense_production_fen": _("Production"),
    "expense_other_fen": _("Other expenses"),
    "credit_current_overdue_fen": _("Currently overdue"),
    "credit_existing_limit_fen": _("Existing credit limits"),
    "credit_overdue_count_24m": _("Overdue times in 24 months"),
    "credit_inquiries_6m": _("Credit inquiries in 6 months"),
    "credit_existing_lines": _("Existing credit lines"),
    "total_assets_fen": _("Total assets"),
    "total_liabilities_fen": _("Total liabilities"),
    "annual_income_fen": _("Annual income"),
    "annual_expenses_fen": _("Annual expenses"),
}
