from civicgrid.kit.errors import Conflict, NotFound


class TrackingNotFound(NotFound):
    def __init__(self):
        super().__init__("案件编号或查询码不正确", "no case with that code and secret")


class AlreadyRated(Conflict):
    def __init__(self):
        super().__init__("该案件已评价过", "this case has been rated already")
