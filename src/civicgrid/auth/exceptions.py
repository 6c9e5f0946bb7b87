from civicgrid.kit.errors import (
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


class WeakPassword(BadRequest):
    """A new password that breaks the password rule (auth/passwords.py)."""


class WrongCurrentPassword(Forbidden):
    def __init__(self):
        super().__init__(
            "当前密码不正确, 密码未修改", "the current password is wrong; the password is unchanged"
        )


class TokenNotFound(NotFound):
    def __init__(self, token_id: int):
        super().__init__(f"找不到令牌 {token_id}", f"token {token_id} not found")


class TokenCannotMintTokens(Forbidden):
    def __init__(self):
        super().__init__(
            "令牌不能用来创建令牌: 请用账户登录 (会话) 后再创建",
            "a bearer token cannot create tokens: sign in with your password (a session) first",
        )
