from civicgrid.kit.errors import Invalid, NotFound


class GeoImportInvalid(Invalid):
    """The file has problems; nothing was written. `problems` lists each by index and code."""

    def __init__(self, problems: list[dict]):
        super().__init__(
            f"GeoJSON 文件有 {len(problems)} 处错误, 未导入任何内容",
            f"the GeoJSON file has {len(problems)} problem(s); nothing was imported",
            extra={"problems": problems},
        )
        self.problems = problems


class AreaNotFound(NotFound):
    def __init__(self, code: str):
        super().__init__(f"找不到区域 {code}", f"area {code} not found")


class NoTile(NotFound):
    """No local tile at that address (or no local source): the map shows its background."""
