from civicgrid.kit.errors import Invalid, NotFound


class CategoryNotFound(NotFound):
    def __init__(self, code: str):
        super().__init__(f"找不到类别 {code}", f"category {code} not found")


class CsvInvalid(Invalid):
    def __init__(self, problems: list[str]):
        shown = "; ".join(problems[:20])
        super().__init__(
            f"CSV 文件有 {len(problems)} 处错误, 未导入: {shown}",
            f"the CSV file has {len(problems)} problem(s); nothing was imported",
            extra={"problems": problems},
        )
        self.problems = problems
