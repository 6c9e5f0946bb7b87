from civicgrid.cases.workflow import STATE_NAMES_ZH, allowed_actions
from civicgrid.kit.errors import BadRequest, Conflict, Forbidden, NotFound


class CaseNotFound(NotFound):
    def __init__(self, code: str):
        super().__init__(f"找不到案件 {code}", f"case {code} not found")


class IllegalTransition(Conflict):
    """The action is not allowed in the case's current state (409)."""

    def __init__(self, state: str | None, action: str):
        allowed = [a for a in allowed_actions(state) if a not in ("urge", "comment")]
        zh_state = STATE_NAMES_ZH.get(state or "", state)
        super().__init__(
            f"案件当前状态为「{zh_state}」, 不能执行 {action}; "
            f"现在可以: {', '.join(allowed) or '无'}",
            f"the case is {state}: {action} is not allowed; allowed now: "
            f"{', '.join(allowed) or 'nothing'}",
            extra={"state": state, "allowed": allowed},
        )


class StaleCase(Conflict):
    def __init__(self, code: str):
        super().__init__(
            f"案件 {code} 已被他人修改, 请刷新后重试",
            f"case {code} was changed by someone else; reload and try again",
        )


class ActionForbidden(Forbidden):
    pass


class BadAction(BadRequest):
    pass


class AlreadyRatedByCitizen(Conflict):
    def __init__(self):
        super().__init__(
            "市民已亲自评价, 不能再录入回访评分", "the citizen has rated the case themselves"
        )


class AlreadyRated(Conflict):
    def __init__(self):
        super().__init__("该案件已回访评价, 不能重复评价", "the case has been rated already")
