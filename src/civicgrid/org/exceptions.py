from civicgrid.kit.errors import BadRequest, Conflict, NotFound


class UnitNotFound(NotFound):
    def __init__(self, code: str):
        super().__init__(f"找不到单位 {code}", f"org unit {code} not found")


class UnitExists(Conflict):
    def __init__(self, code: str):
        super().__init__(f"单位编码 {code} 已存在", f"org unit code {code} already exists")


class BadUnit(BadRequest):
    pass
