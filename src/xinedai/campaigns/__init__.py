"""Whole-village credit campaigns (整村授信): roster, committee review, public posting, batch pre-approval."""
