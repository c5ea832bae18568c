"""GET /tasks a page at a time: soonest due first, a Link header to the next page, bad paging refused as JSON."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from models import WorkItem, db, utcnow


@pytest.fixture
def items(api):
    assert api["lead"].deploy("one_step.bpmn").status_code == 201
    case_id = api["pc"].post("/cases", json={"case_type": "victim_support", "title": "paging"}).json["id"]
    for _ in range(5):
        assert api["pc"].post(f"/cases/{case_id}/processes", json={"key": "one_step"}).status_code == 201
    rows = db.session.query(WorkItem).order_by(WorkItem.id).all()
    now = utcnow()
    for n, item in enumerate(rows):   # two undated, the rest due on different days
        item.due_at = None if n < 2 else now + timedelta(days=10 - n)
    db.session.commit()
    return rows


def test_pages_follow_the_due_order_without_gaps(api, items):
    seen, url = [], "/tasks?limit=2"
    while url:
        response = api["pc"].get(url)
        assert response.status_code == 200
        seen += [t["id"] for t in response.json]
        link = response.headers.get("Link")
        url = None
        if link:
            target = urlparse(link[1:link.index(">")])   # followed as given, as a client would
            assert parse_qs(target.query)["limit"] == ["2"] and link.endswith('rel="next"')
            url = f"{target.path.removeprefix('/api/v1')}?{target.query}"
    expected = sorted(items, key=lambda i: (i.due_at is None, i.due_at or utcnow(), i.id))
    assert seen == [i.id for i in expected]


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=ten", "after=nonsense", "after=-~x",
                                   "after=2026-01-01T00:00~4", "after=99999999999999999999999~1"])
def test_bad_paging_is_a_clear_json_error(api, items, query):
    response = api["pc"].get(f"/tasks?{query}")
    assert response.status_code == 400 and response.is_json and response.json["error"]
