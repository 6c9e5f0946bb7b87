"""Text that people type: what the platform refuses, and how it is made safe for XML.

Every text input (JSON, forms, query strings, paths, import files) is held to one rule: no
control characters (but tab, line feed and carriage return in multi-line text), no characters
XML 1.0 cannot carry, and nothing that failed to decode (U+FFFD, lone surrogates). A refused
text is a 400 that names the field, never a 500 and never a stored NUL.
"""

from __future__ import annotations

import re
import unicodedata

from civicgrid.kit.errors import BadRequest

# C0 controls but \t \n \r, DEL and the C1 controls, lone surrogates, the replacement character
# (what undecodable bytes become), and the non-characters U+FFFE/U+FFFF.
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd\ufffe\uffff]")
_REFUSED_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffd\ufffe\uffff]")
# What XML 1.0 cannot carry at all (its Char production), removed on output.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# The text fields of the forms, as the Chinese sentence names them (a field not listed is
# "填写的内容"); the English sentence names the field by its code.
FIELD_WORDS_ZH = {
    "address": "地址",
    "comment": "意见",
    "contact_name": "姓名",
    "description": "问题描述",
    "name": "姓名",
    "note": "说明",
    "title": "职务",
}


class BadText(BadRequest):
    def __init__(self, field: str, char: str | None = None, *, max_length: int | None = None):
        zh_field = FIELD_WORDS_ZH.get(field, "填写的内容")
        if char is None:
            super().__init__(
                f"{zh_field}不能超过 {max_length} 个字符",
                f"{field} is longer than {max_length} characters",
                extra={"field": field},
            )
            return
        code = f"U+{ord(char):04X}"
        super().__init__(
            f"{zh_field}含有不允许的字符 ({code}: 控制字符或无法解码的字节), 请删除后重试",
            f"{field} contains a character that is not allowed ({code}: a control character "
            "or bytes that could not be decoded); remove it and try again",
            extra={"field": field},
        )


def bad_char(text: str, *, multiline: bool = True) -> str | None:
    """The first character of `text` the platform refuses, or None."""
    found = (_REFUSED if multiline else _REFUSED_ONE_LINE).search(text)
    return found.group() if found else None


def check_text(
    value: str, field: str, *, max_length: int | None = None, multiline: bool = True
) -> str:
    """`value` unchanged if it is acceptable text of at most `max_length` characters;
    BadText (400) naming `field` otherwise."""
    char = bad_char(value, multiline=multiline)
    if char is not None:
        raise BadText(field, char)
    if max_length is not None and len(value) > max_length:
        raise BadText(field, max_length=max_length)
    return value


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 cannot carry (stored before they were refused)."""
    return _NOT_XML.sub("", text)


# a path on this site, as static/js/cg.js's cgLocal reads one: "/" not followed by "/" or "\"
# (which a browser reads as another host), no backslash, space or control character after it
_SITE_PATH = re.compile(r"/(?![/\\])[^\\\s\x00-\x1f\x7f]*")


def site_path(value: str) -> str | None:
    """`value` when it is a path on this site ("/reports?page=2"), else None: no scheme, no
    host, nothing a browser would take to another site. Where a redirect may go."""
    return value if _SITE_PATH.fullmatch(value) else None


_PHONE_NOISE = re.compile(r"[\s\-().\u3000]")
_PHONE = re.compile(r"^\+?\d{5,20}$")
_CHINA = re.compile(r"^(?:\+86|0086|86)(1\d{10})$")


class BadPhone(BadRequest):
    def __init__(self, field: str, raw: str):
        super().__init__(
            # the sentence a person reads does not repeat what they typed: it is in the
            # field before them (and may be any text at all)
            "电话号码无效, 应为 5-20 位数字",
            f"{field} is not a phone number (5-20 digits)",
            extra={"field": field},
        )


def normalise_phone(raw: str, field: str = "phone") -> str:
    """A phone number as it is stored and compared: full-width digits made ASCII, spaces,
    dashes, dots and brackets dropped, China's +86 / 0086 before a mobile number dropped
    (`139-1111-0000`, `+86 139 1111 0000` and `１３９１１１１００００` are one number). The empty
    text stays empty; anything else that is not 5-20 digits (with a leading +) is BadPhone."""
    text = unicodedata.normalize("NFKC", raw)
    phone = _PHONE_NOISE.sub("", text)
    if not phone:
        return ""
    china = _CHINA.match(phone)
    if china:
        phone = china.group(1)
    if not _PHONE.match(phone):
        raise BadPhone(field, raw)
    return phone
