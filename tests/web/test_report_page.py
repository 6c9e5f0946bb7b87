"""The report page's category list is reference data: a category an administrator adds or
removes shows there without a restart."""

from __future__ import annotations

import json

from sqlalchemy import text

from civicgrid.categories import service as cat_service
from civicgrid.categories.models import Category
from civicgrid.kit import refcache
from tests.factories import world

NEW = "kind,code,major_code,major_name,name,keywords,default_department\n"
NEW += "event,99001,99,测试大类,测试新类别,测试,\n"


def offered(client) -> dict[str, str]:
    """The categories the report page offers, code → name (from its data block)."""
    page = client.get("/report")
    assert page.status_code == 200
    data = page.text.split('id="cg-data">', 1)[1].split("</script>", 1)[0]
    return {c["code"]: c["name"] for c in json.loads(data)["categories"]}


def test_a_category_added_then_removed_shows_at_once(client, session):
    # Given the report page, read once (its list now cached)
    world(session)
    assert "99001" not in offered(client)
    # When an administrator adds a category through this process
    cat_service.import_categories(session, NEW)
    session.commit()
    # Then the next page offers it
    assert offered(client)["99001"] == "测试新类别"
    # And when it is removed, the next page no longer does
    session.delete(session.query(Category).filter_by(code="99001").one())
    session.commit()
    assert "99001" not in offered(client)


def test_a_category_added_by_another_process_shows_within_the_cache_time(
    client, session, monkeypatch
):
    # Given the report page, read once
    world(session)
    session.commit()  # (a commit after a change of reference data clears the cache)
    assert "99002" not in offered(client)
    # When another process adds a category (this process is not told: no ORM event here)
    session.execute(
        text(
            "INSERT INTO categories (kind, code, major_code, major_name, name, keywords,"
            " default_department) VALUES ('event', '99002', '99', '测试大类', '别处新增',"
            " '', '')"
        )
    )
    session.commit()
    assert "99002" not in offered(client)  # still the cached list
    # Then once the cache's few seconds are over, the page offers it
    monkeypatch.setattr(refcache, "TTL_SECONDS", 0.0)
    assert offered(client)["99002"] == "别处新增"
