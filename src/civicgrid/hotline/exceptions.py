from civicgrid.kit.errors import BadRequest, Conflict, NotFound, Unauthorized


class BadOrder(BadRequest):
    """A work order (or satisfaction) the mapping cannot read: names the platform's field."""

    def __init__(self, field: str, zh: str, en: str):
        super().__init__(f"字段 {field}: {zh}", f"field {field}: {en}", extra={"field": field})


class BadSignature(Unauthorized):
    pass


class NotConfigured(Unauthorized):
    """No shared secret is set: no request can prove it is the platform's (401, not 5xx: the
    server works, the link is not set up)."""

    error = "not_configured"

    def __init__(self):
        super().__init__(
            "12345 平台对接未配置 (CIVICGRID_HOTLINE_SECRET)",
            "the 12345 platform link is not configured (CIVICGRID_HOTLINE_SECRET)",
        )


class OrderNotFound(NotFound):
    def __init__(self, order_no: str):
        super().__init__(f"找不到工单 {order_no}", f"work order {order_no} not found")


class MessageNotFound(NotFound):
    def __init__(self, message_id: int):
        super().__init__(f"找不到回传消息 {message_id}", f"outbox message {message_id} not found")


class ReturnWindowClosed(Conflict):
    def __init__(self, until: str):
        super().__init__(
            f"退单期限已过 ({until}), 不能退回 12345 平台",
            f"the platform's return window ended at {until}; the order cannot be returned",
        )


class NotHotline(Conflict):
    def __init__(self, code: str):
        super().__init__(f"案件 {code} 不是 12345 工单", f"case {code} is not a 12345 work order")
