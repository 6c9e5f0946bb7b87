from civicgrid.cases.workflow import ACTION_NAMES_ZH, STATE_NAMES_ZH, allowed_actions, in_words
from civicgrid.kit.errors import BadRequest, Conflict, Forbidden, NotFound


class CaseNotFound(NotFound):
    def __init__(self, code: str):
        super().__init__(f"找不到案件 {code}", f"case {code} not found")


class IllegalTransition(Conflict):
    """The action is not allowed in the case's current state (409)."""

    def __init__(self, state: str | None, action: str):
        allowed = [a for a in allowed_actions(state) if a not in ("urge", "comment")]
        zh_state = STATE_NAMES_ZH.get(state or "", state)
        allowed_zh = "、".join(ACTION_NAMES_ZH.get(a, a) for a in allowed)
        super().__init__(
            f"案件当前状态为「{zh_state}」, 不能执行「{ACTION_NAMES_ZH.get(action, action)}」; "
            f"现在可以: {allowed_zh or '无'}",
            f"the case is {in_words(state or '')}: {in_words(action)} is not allowed; allowed now: "
            f"{', '.join(map(in_words, allowed)) or 'nothing'}",
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
