"""Score sheets as data, and the arithmetic of a check's result (pure: no database).

A sheet is a dict: `code`, `name`, `name_en`, `method` (`visual`: items scored on a scale by
each inspector, per side; `weight`: dust weighed at points, 以克论净), `dry_only` (refuse a
check on a wet day: rain or snow, wind of force 4 or more, humidity above 80 %), and `items`:
`code`, `name`, `name_en`, `weight`, `fail_below` (visual: an item whose mean score is below it
fails), `category` (the case category a failed item opens). Visual sheets also have `sides`,
`scale` ([low, high]) and `pass_score`; weight sheets `points` and `sample_area_m2`."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import fmean

CJJT126 = {
    "code": "cjjt126",
    "name": "道路清扫保洁质量 (CJJ/T 126-2022 目测)",
    "name_en": "Street cleaning quality (CJJ/T 126-2022, visual)",
    "method": "visual",
    "dry_only": True,
    "sides": ["left", "right"],
    "scale": [0, 5],
    "pass_score": 80.0,
    "items": [
        {"code": "C1", "name": "整体洁净", "name_en": "Overall clean", "weight": 6,
         "fail_below": 3, "category": "06012"},
        {"code": "C2", "name": "路面见本色", "name_en": "Surface in its own colour",
         "weight": 6, "fail_below": 3, "category": "06012"},
        {"code": "C3", "name": "边角洁净", "name_en": "Edges and corners", "weight": 4,
         "fail_below": 3, "category": "06011"},
        {"code": "C4", "name": "雨水箅子洁净", "name_en": "Drain grates", "weight": 4,
         "fail_below": 3, "category": "06011"},
    ],
}  # fmt: skip

YKLJJ = {
    "code": "ykljj",
    "name": "以克论净 (道路尘土残存量)",
    "name_en": "Dust by the gram (g/m² left on the road)",
    "method": "weight",
    "dry_only": False,
    "points": 3,
    "sample_area_m2": 1.0,
    "items": [
        {"code": "dust", "name": "尘土残存量", "name_en": "Dust left", "weight": 1,
         "category": "06012"},
    ],
}  # fmt: skip

BUILTIN = {s["code"]: s for s in (CJJT126, YKLJJ)}

# CJJ/T 126's dry-day rule
MAX_WIND_FORCE = 3  # below force 4
MAX_HUMIDITY = 80.0


@dataclass
class Result:
    score: float | None  # visual: out of the sheet's maximum (100 for CJJ/T 126)
    g_m2: float | None  # weight: mean of the points' g/m²
    passed: bool
    failed: dict[str, float] = field(default_factory=dict)  # item → its value
    missing: list[str] = field(default_factory=list)  # what is still to enter


def wet_reason(weather: dict) -> tuple[str, str] | None:
    """Why a day is not dry by CJJ/T 126 (Chinese, English), or None."""
    if weather.get("rain") or weather.get("snow"):
        return "雨雪天气不得检查", "no check in rain or snow"
    if weather.get("wind_force", 0) > MAX_WIND_FORCE:
        return "风力须低于 4 级", "the wind must be below force 4"
    if weather.get("humidity", 0) > MAX_HUMIDITY:
        return "相对湿度须不高于 80%", "the humidity must be 80 % or less"
    return None


def max_score(sheet: dict) -> float:
    return sum(i["weight"] for i in sheet["items"]) * sheet["scale"][1]


def visual(sheet: dict, entries: dict) -> Result:
    """Per side, per inspector: Σ weight × score; a side's score is the mean over its
    inspectors, the check's the mean of its sides. An item fails when its mean score over all
    inspectors and sides is below its `fail_below`; the check passes at `pass_score` or more
    with no failed item."""
    items = sheet["items"]
    sides = sheet["sides"]
    missing = []
    side_scores = []
    per_item: dict[str, list[float]] = {i["code"]: [] for i in items}
    for side in sides:
        totals = []
        for inspector in sorted(entries):
            scores = entries[inspector].get(side) or {}
            if not scores:
                continue
            if any(i["code"] not in scores for i in items):
                missing.extend(
                    f"{inspector}/{side}/{i['code']}" for i in items if i["code"] not in scores
                )
                continue
            totals.append(sum(i["weight"] * scores[i["code"]] for i in items))
            for i in items:
                per_item[i["code"]].append(scores[i["code"]])
        if not totals:
            missing.append(side)
        else:
            side_scores.append(fmean(totals))
    if missing:
        return Result(None, None, False, {}, missing)
    score = round(fmean(side_scores), 2)
    failed = {
        i["code"]: round(fmean(per_item[i["code"]]), 2)
        for i in items
        if i.get("fail_below") is not None and fmean(per_item[i["code"]]) < i["fail_below"]
    }
    return Result(score, None, score >= sheet["pass_score"] and not failed, failed)


def weight(sheet: dict, entries: dict, limit: float) -> Result:
    """g/m² at each point = grams / sample area; the road's g/m² is their mean; it fails (item
    `dust`) above the limit of its grade."""
    grams = entries.get("points") or []
    if len(grams) < sheet["points"] or any(g is None for g in grams[: sheet["points"]]):
        return Result(None, None, False, {}, [f"points ({sheet['points']})"])
    area = sheet["sample_area_m2"]
    g_m2 = round(fmean(g / area for g in grams[: sheet["points"]]), 2)
    item = sheet["items"][0]["code"]
    failed = {item: g_m2} if g_m2 > limit else {}
    return Result(None, g_m2, not failed, failed)
