"""Read models of a campaign: its progress summary (the funnel) and the public posting list."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from xinedai.core.masking import mask_name
from xinedai.households.models import Household

from .choices import CampaignStatus, HouseholdStatus
from .models import Campaign, CampaignHousehold, Objection


@dataclass
class Summary:
    on_file: int
    roster: int
    reviewed: int
    approved: int
    vetoed: int
    objections: int
    open_objections: int
    scored: int
    granted: int
    granted_fen: int
    activated: int
    activated_fen: int
    eligible: int

    def funnel(self) -> list[tuple[str, int]]:
        return [
            ("on_file", self.on_file),
            ("reviewed", self.reviewed),
            ("approved", self.approved),
            ("scored", self.scored),
            ("granted", self.granted),
            ("activated", self.activated),
        ]


def summary(campaign: Campaign) -> Summary:
    rows = CampaignHousehold.objects.filter(campaign=campaign)
    agg = rows.aggregate(
        roster=Count("pk"),
        reviewed=Count("pk", filter=~Q(status=HouseholdStatus.PENDING)),
        vetoed=Count("pk", filter=Q(status=HouseholdStatus.VETOED)),
        scored=Count("pk", filter=Q(scored_at__isnull=False)),
        granted=Count("pk", filter=Q(line__isnull=False)),
        granted_fen=Sum("limit_fen", filter=Q(line__isnull=False)),
        activated=Count("pk", filter=Q(status=HouseholdStatus.ACTIVATED)),
        activated_fen=Sum("limit_fen", filter=Q(status=HouseholdStatus.ACTIVATED)),
        eligible=Count("pk", filter=Q(status=HouseholdStatus.APPROVED, scored_at__isnull=True)),
    )
    objections = Objection.objects.filter(campaign_household__campaign=campaign).aggregate(
        total=Count("pk"), open=Count("pk", filter=Q(resolution=""))
    )
    on_file = (
        Household.objects.filter(village_id=campaign.village_id).count()
        if campaign.status == CampaignStatus.COLLECTING
        else agg["roster"]
    )
    return Summary(
        on_file=on_file,
        roster=agg["roster"],
        reviewed=agg["reviewed"],
        approved=agg["reviewed"] - agg["vetoed"],
        vetoed=agg["vetoed"],
        objections=objections["total"],
        open_objections=objections["open"],
        scored=agg["scored"],
        granted=agg["granted"],
        granted_fen=int(agg["granted_fen"] or 0),
        activated=agg["activated"],
        activated_fen=int(agg["activated_fen"] or 0),
        eligible=agg["eligible"],
    )


@dataclass(frozen=True)
class PostingRow:
    """One line of the public posting list: nothing personal beyond a masked name."""

    number: int
    household_code: str
    head: str
    village: str


POSTED_STATUSES = (HouseholdStatus.APPROVED, HouseholdStatus.POSTED, HouseholdStatus.ACTIVATED)


def posting_list(campaign: Campaign) -> list[PostingRow]:
    """The households the committee approved, for the 公示 list. Names are masked on the server."""
    rows = (
        CampaignHousehold.objects.filter(campaign=campaign, status__in=POSTED_STATUSES)
        .select_related("household")
        .order_by("household__code")
    )
    return [
        PostingRow(i, r.household.code, mask_name(r.household.head_name), campaign.village.name)
        for i, r in enumerate(rows, start=1)
    ]


def write_posting_xlsx(campaign: Campaign, rows: list[PostingRow], out) -> None:  # type: ignore[no-untyped-def]
    """The posting list as an .xlsx for printing and posting in the village: masked names only."""
    import openpyxl
    from openpyxl.styles import Alignment, Font

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "公示名单"
    period = ""
    if campaign.posting_starts_on and campaign.posting_ends_on:
        period = f"{campaign.posting_starts_on:%Y-%m-%d} 至 {campaign.posting_ends_on:%Y-%m-%d}"
    ws.append([f"{campaign.village.name}整村授信预授信公示名单"])
    ws.append([f"活动:{campaign.name}  公示期:{period}"])
    ws.append(["如对名单有异议,请在公示期内向村委会或本行客户经理实名反映。"])
    ws.append([])
    ws.append(["序号", "户编号", "户主", "村(社区)", "村委会评议"])
    header_row = ws.max_row
    for r in rows:
        ws.append([r.number, r.household_code, r.head, r.village, "通过"])
    ws["A1"].font = Font(bold=True, size=14)
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for col, width in zip("ABCDE", (8, 22, 14, 16, 14), strict=True):
        ws.column_dimensions[col].width = width
    ws.print_title_rows = f"{header_row}:{header_row}"
    wb.save(out)
