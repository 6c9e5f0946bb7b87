from civicgrid.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
)


class NotSignedIn(Unauthorized):
    def __init__(self):
        super().__init__("请先登录", "sign in first")


class BadCredentials(Unauthorized):
    def __init__(self):
        super().__init__("用户名或密码错误", "wrong username or password")


class AccountLocked(TooManyRequests):
    def __init__(self, minutes: int):
        super().__init__(
            f"登录失败次数过多, 请 {minutes} 分钟后再试",
            f"too many failed sign-ins; try again in {minutes} minutes",
        )


class RoleRequired(Forbidden):
    def __init__(self, roles: tuple[str, ...]):
        super().__init__(
            f"此操作需要以下角色之一: {', '.join(roles)}",
            f"this needs one of the roles: {', '.join(roles)}",
        )


class OutOfScope(Forbidden):
    def __init__(self):
        super().__init__("不在您的管辖范围内", "outside your organisation unit")


class UserNotFound(NotFound):
    def __init__(self, username: str):
        super().__init__(f"找不到用户 {username}", f"user {username} not found")


class UserExists(Conflict):
    def __init__(self, username: str):
        super().__init__(f"用户名 {username} 已存在", f"username {username} already exists")


class BadUser(BadRequest):
    pass
