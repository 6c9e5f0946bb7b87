from civicgrid.kit.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized


class VehicleNotFound(NotFound):
    def __init__(self, what: str):
        super().__init__(f"找不到车辆 {what}", f"vehicle {what} not found")


class VehicleTypeNotFound(NotFound):
    def __init__(self, code: str):
        super().__init__(f"找不到车辆类型 {code}", f"vehicle type {code} not found")


class TrackerNotFound(NotFound):
    def __init__(self, terminal_id: str):
        super().__init__(f"找不到定位终端 {terminal_id}", f"tracker {terminal_id} not found")


class Exists(Conflict):
    pass


class BadVehicle(BadRequest):
    pass


class BadToken(Unauthorized):
    def __init__(self):
        super().__init__(
            "设备令牌无效或终端已停用", "the device token is not valid or the tracker is disabled"
        )


class TrackerDisabled(Forbidden):
    def __init__(self, terminal_id: str):
        super().__init__(f"定位终端 {terminal_id} 已停用", f"tracker {terminal_id} is disabled")
