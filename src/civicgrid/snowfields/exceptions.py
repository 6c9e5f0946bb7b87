from civicgrid.kit.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound


class SnowNotFound(NotFound):
    def __init__(self, what: str, code: str):
        names = {"event": "雪情", "section": "路段", "field": "卸雪场", "limit": "时限"}
        super().__init__(f"找不到{names.get(what, what)} {code}", f"{what} {code} not found")


class BadSnow(BadRequest):
    pass


class BadGeometry(Invalid):
    """Malformed geometry (422)."""


class SnowConflict(Conflict):
    pass


class NotAllowed(Forbidden):
    pass
