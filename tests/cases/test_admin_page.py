"""The admin page's time limits (issue #14 item 9): scopes named by their category, units and
urgency in words, never the stored keys."""

import re

from civicgrid.categories import service as cat_service
from tests.factories import login, world


def test_time_limits_show_category_names_and_units_in_words(client, session):
    # Given a time limit set for one category
    world(session)
    login(client, "boss")
    r = client.put(
        "/api/v1/time-limits",
        json={"scope": "event:06010", "urgency": "normal", "limit": 4, "unit": "natural_hours"},
    )
    assert r.status_code in (200, 201), r.text
    name = cat_service.category_names(session)["06010"]
    # When the admin page is opened
    html = client.get("/admin").text
    # Then the row names the category and the unit in words
    row = re.search(r"<tr><td>(?:(?!<tr>).)*?>event:06010</span>.*?</tr>", html).group(0)
    assert name in row and "自然时" in row and "一般" in row
    assert ">working_hours<" not in html and ">natural_hours<" not in html
    assert "工作时" in html  # the unit chooser names its units too
