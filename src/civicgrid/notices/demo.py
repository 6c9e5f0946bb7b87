"""The demo's notices: a public notice (pinned), a work news item, a snow warning with its CAP
document, and an internal notice to two street offices' handlers — written by the dispatcher,
reviewed and published by the leader, as the issue's story goes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from civicgrid.auth import service as auth_service
from civicgrid.notices import service
from civicgrid.org import service as org_service

AUTHOR, REVIEWER = "dispatcher", "leader"
STREETS = ("230110001", "230110002")
NOTICES = [
    dict(
        kind="notice",
        title="关于冬季清雪期间占道作业的通告",
        body="为保障冬季道路通行安全, 清雪期间部分道路将临时占道作业。\n\n"
        "- 作业时间: 每日 **22:00 至次日 6:00**\n- 请过往车辆减速慢行, 服从现场指挥。",
        pinned=True,
    ),
    dict(
        kind="news",
        title="香坊区城管局开展背街小巷环境整治",
        body="本周共清理积存垃圾 **120** 吨。",
    ),
    dict(
        kind="notice",
        title="关于做好今冬清雪值班的通知",
        body="请各街道办事处处置人员 **按时到岗**, 降雪后 2 小时内完成主干道清雪。",
        audience="internal",
        unit_codes=list(STREETS),
        roles=["handler"],
    ),
]


def ensure_notices(session: Session) -> int:
    """The demo's notices, once (nothing is made when any notice exists or the demo's author
    and reviewer are missing). Returns how many were made."""
    if service.desk(session):
        return 0
    author = auth_service.get_user(session, AUTHOR)
    reviewer = auth_service.get_user(session, REVIEWER)
    if author is None or reviewer is None:
        return 0
    made = 0
    for fields in NOTICES:
        fields = dict(fields)
        kind = fields.pop("kind")
        fields["unit_codes"] = [c for c in fields.get("unit_codes", []) if _unit(session, c)]
        if fields.get("audience") == "internal" and not fields["unit_codes"]:
            continue
        notice = service.create(session, kind=kind, by=author, **fields)
        service.step(session, notice, "submit", by=author)
        service.step(session, notice, "approve", by=reviewer)
        service.step(session, notice, "publish", by=reviewer)
        made += 1
    service.publish_warning(
        session,
        title="暴雪蓝色预警",
        body="预计今天夜间到明天白天有中到大雪, 请做好防范, 减少不必要的出行。",
        by=reviewer,
        area_codes=[],
        urgency="Expected",
        severity="Moderate",
        certainty="Likely",
    )
    return made + 1


def _unit(session: Session, code: str) -> bool:
    return org_service.find_unit(session, code) is not None
