"""Errors that carry a status and a message a person can act on (Chinese first, English beside)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException


class AppError(Exception):
    status_code = 400
    error = "bad_request"

    def __init__(self, zh: str, en: str, *, extra: dict[str, Any] | None = None):
        super().__init__(f"{zh} ({en})")
        self.zh = zh
        self.en = en
        self.extra = extra or {}

    @property
    def detail(self) -> str:
        return f"{self.zh} / {self.en}"

    def body(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "detail": self.detail,
            **messages(self.zh, self.en),
            **self.extra,
        }


def messages(zh: str, en: str) -> dict[str, Any]:
    """The refusal's sentence in each language apart (`detail` holds both): a page shows the
    one of its own language (static/js/cg.js, cgProblem)."""
    return {"message": {"zh": zh, "en": sentence(en)}}


def sentence(text: str) -> str:
    """An English message as a sentence begins (the messages are written as clauses)."""
    return text[:1].upper() + text[1:]


class BadRequest(AppError):
    status_code = 400
    error = "bad_request"


class Unauthorized(AppError):
    status_code = 401
    error = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    error = "forbidden"


class NotFound(AppError):
    status_code = 404
    error = "not_found"


class Conflict(AppError):
    status_code = 409
    error = "conflict"


class Invalid(AppError):
    status_code = 422
    error = "invalid"


class TooManyRequests(AppError):
    status_code = 429
    error = "too_many_requests"


class ServiceBusy(AppError):
    """Not the client's fault and not a bug: the server cannot take the request just now (the
    database's write lock stayed taken). The answer says when to try again (Retry-After)."""

    status_code = 503
    error = "busy"
    retry_after_seconds = 5

    def body(self) -> dict[str, Any]:
        return {**super().body(), "retry_after": self.retry_after_seconds}


class ErrorBody(BaseModel):
    """Every refusal: a short code and a message in Chinese and English."""

    model_config = ConfigDict(extra="allow")

    error: str
    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Bad input / 输入有误"),
        (401, "Not signed in / 未登录"),
        (403, "Not allowed / 无权限"),
        (404, "Not found / 未找到"),
        (409, "Conflict with the current state / 状态冲突"),
        (413, "Body too large for this route / 提交的内容过大 (kit.guard)"),
        (422, "Invalid request / 请求无效"),
        (429, "Too many / 过于频繁"),
        (503, "Busy, try again after Retry-After seconds / 繁忙, 请稍后重试"),
    )
}


# pydantic's error types for a value outside its declared bounds
BOUND_ERRORS = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "too_long",
        "too_short",
        "string_too_long",
        "string_too_short",
        "int_parsing_size",
        "string_pattern_mismatch",
        "finite_number",
    }
)


def refusal(exc: AppError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """An AppError as the parts of a plain ASGI answer (for middleware, which has no handlers)."""
    import orjson

    body = orjson.dumps(exc.body())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return exc.status_code, headers, body


def headers_of(exc: AppError) -> dict[str, str] | None:
    """The headers a refusal carries besides its body (every format answers them alike)."""
    if exc.status_code == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, ServiceBusy):
        return {"Retry-After": str(exc.retry_after_seconds)}
    return None


# Where a program, not a person, reads the answers: JSON (Open311: its own formats) whatever
# `Accept` says. Everywhere else a person is at a browser and gets the site's own page.
MACHINE_PREFIXES = ("/api/", "/open311/")

# Renders an error as a page: (request, status, Chinese sentence, English sentence) -> answer.
# It may read the database (who is signed in, for the header): it runs in a worker thread.
PageRenderer = Callable[[Request, int, str, str], Response]

INVALID_WORDS = (
    "提交的内容有误, 请检查后重试",
    "Something in the request is not valid; check it and try again.",
)

HTTP_WORDS = {
    400: ("请求有误", "The request is not valid."),
    401: ("未登录", "You are not signed in."),
    403: ("无权限", "You are not allowed to do this."),
    404: ("未找到该页面", "Page not found."),
    405: ("不支持该方法", "This method is not supported."),
}


def for_a_person(request: Request) -> bool:
    """Whether the answer goes to a person's browser (an HTML page), not to a program."""
    return not request.url.path.startswith(MACHINE_PREFIXES)


def install_handlers(app: FastAPI, page: PageRenderer | None = None) -> None:
    """The handlers of every refusal: JSON under MACHINE_PREFIXES, and where `page` is given
    (the site's layout, web.layout.error_page) an HTML page everywhere else."""

    async def as_page(request: Request, status: int, zh: str, en: str, headers=None):
        if page is None or not for_a_person(request):
            return None
        response = await run_in_threadpool(page, request, status, zh, en)
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        shown = await as_page(request, exc.status_code, exc.zh, exc.en, headers_of(exc))
        if shown is not None:
            return shown
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        errors = exc.errors()
        for err in errors:
            where = ".".join(str(p) for p in err.get("loc", ()))
            problems.append({"field": where, "message": err.get("msg", "")})
        text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        # A value that parsed but is out of its range or too long is bad input (400, the
        # message says the range); 422 stays for what does not parse at all.
        out_of_range = all(e.get("type") in BOUND_ERRORS for e in errors)
        status = 400 if out_of_range else 422
        # A person reads a sentence in the page's language (pydantic's own words are English
        # and name fields by their code); a program reads `detail` and `problems`.
        zh, en = INVALID_WORDS
        shown = await as_page(request, status, zh, en)
        if shown is not None:
            return shown
        return JSONResponse(
            {
                "error": "bad_request" if out_of_range else "invalid",
                "detail": f"请求内容有误 / invalid request: {text}",
                **messages(zh, en),
                "problems": problems,
            },
            status_code=status,
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, _exc: DataError) -> Response:
        # The database refused a value (a NUL character, a number out of range): bad input.
        zh = "输入含有数据库无法保存的字符或数值"
        en = "the input has characters or numbers the database cannot store (NUL, out of range)"
        shown = await as_page(request, 400, zh, en)
        if shown is not None:
            return shown
        return JSONResponse(
            {"error": "bad_request", "detail": f"{zh} / {en}", **messages(zh, en)}, status_code=400
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        zh, en = HTTP_WORDS.get(exc.status_code, ("请求错误", "The request failed."))
        shown = await as_page(request, exc.status_code, zh, en, exc.headers)
        if shown is not None:
            return shown
        short = {404: "未找到", 405: "不支持该方法", 401: "未登录", 403: "无权限"}.get(
            exc.status_code, "请求错误"
        )
        return JSONResponse(
            {"error": "http_error", "detail": f"{short} / {exc.detail}", **messages(zh, en)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, _exc: Exception) -> Response:
        # Starlette logs the exception and re-raises it after this answer (the server's log).
        shown = await as_page(
            request,
            500,
            "服务器内部错误, 已记录, 请稍后重试",
            "an internal error; it has been logged, try again later",
        )
        if shown is not None:
            return shown
        return PlainTextResponse("Internal Server Error", status_code=500)
