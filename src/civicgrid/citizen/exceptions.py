from civicgrid.kit.errors import BadRequest, Conflict, NotFound


class TrackingNotFound(NotFound):
    def __init__(self):
        super().__init__("案件编号或查询码不正确", "no case with that code and secret")


class AlreadyRated(Conflict):
    def __init__(self):
        super().__init__("该案件已评价过", "this case has been rated already")


class PublicCaseNotFound(NotFound):
    def __init__(self):
        super().__init__("没有这个公开案件", "no public case with that code")


class NotOpen(Conflict):
    def __init__(self):
        super().__init__(
            "该案件已办结或已作废, 如问题仍在请重新上报",
            "this case is closed or rejected; if the problem is still there, report it anew",
        )


class MissingFields(BadRequest):
    """A citizen's report without what the settings require (report_requires)."""

    def __init__(self, missing_zh: list[str], missing_en: list[str]):
        super().__init__("请补充: " + "、".join(missing_zh), "please add: " + ", ".join(missing_en))
