from civicgrid.kit.errors import BadRequest, Conflict, Forbidden, NotFound


class NoticeNotFound(NotFound):
    def __init__(self, what: str | int):
        super().__init__(f"找不到公告 {what}", f"notice {what} not found")


class KindNotFound(NotFound):
    def __init__(self, code: str):
        super().__init__(f"找不到公告类型 {code}", f"notice kind {code} not found")


class BadNotice(BadRequest):
    pass


class NotAllowed(Forbidden):
    pass


class WrongState(Conflict):
    pass
