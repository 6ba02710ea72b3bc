"""The staff navigation links to the loan pages, the classification queue and the portfolio for the
roles that may open them (and only those)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("username", "reviews_link", "portfolio_link"),
    [("am1", False, False), ("co", False, True), ("bm", True, True), ("auditor", False, True)],
)
def test_navigation_shows_the_pages_each_role_may_open(book, username, reviews_link, portfolio_link):
    html = book.bank.client(username).get("/loans/").content.decode()
    nav = html.split('<nav class="nav">')[1].split("</nav>")[0]
    assert 'href="/loans/"' in nav
    assert ('href="/loans/classifications/"' in nav) is reviews_link
    assert ('href="/monitoring/portfolio/"' in nav) is portfolio_link
