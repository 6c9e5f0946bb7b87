from civicgrid.kit.errors import BadRequest, Conflict, Forbidden, NotFound


class LogNotFound(NotFound):
    def __init__(self, what: object):
        super().__init__(f"找不到工作日志 {what}", f"work log {what} not found")


class EntryNotFound(NotFound):
    def __init__(self, what: object):
        super().__init__(f"找不到日志条目 {what}", f"log entry {what} not found")


class BadLog(BadRequest):
    pass


class NotYours(Forbidden):
    def __init__(self):
        super().__init__("只能由本人填写自己的工作日志", "only its author writes a work log")


class NotReviewer(Forbidden):
    def __init__(self):
        super().__init__(
            "只有本单位领导可以审核该日志(不能审核自己的日志)",
            "only a leader of the log's unit reviews it (not their own)",
        )


class NotAllowed(Forbidden):
    def __init__(self):
        super().__init__("无权查看该工作日志", "not allowed to see this work log")


class WrongState(Conflict):
    pass
