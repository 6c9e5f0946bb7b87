"""The maps' and the place search's page words, Chinese first (civicgrid.app adds them to
web.i18n as place_*)."""

WORDS: dict[str, tuple[str, str]] = {
    "search": (
        "搜索地点: 街道、社区、网格、地址或拼音首字母",
        "Find a place: street, grid, address",
    ),
    "search_label": ("搜索地点", "Find a place"),
    "none": ("没有找到该地点", "No such place found"),
    "kind_street": ("街道", "street"),
    "kind_community": ("社区", "community"),
    "kind_grid": ("网格", "grid"),
    "kind_place": ("地点", "place"),
    "admin_title": ("地名地址库", "Gazetteer"),
    "admin_hint": (
        "CSV 文件 (电子表格另存即可), 每行一个地名: 名称、别名、经度、纬度、坐标系; "
        "整个文件替换现有地名, 有错则不导入",
        "A CSV file (as a spreadsheet saves it), a place a line: name, aliases, longitude, "
        "latitude, datum; the file replaces the gazetteer, and nothing is imported on any problem",
    ),
    "admin_file": ("地名文件 (CSV)", "Gazetteer file (CSV)"),
}
