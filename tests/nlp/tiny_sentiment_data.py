"""A tiny labelled data folder in the layout `yujing train` reads (../shared/data/sentiment)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nlp.train import FILES

POSITIVE = [
    "很好吃，下次还来",
    "服务周到，点赞",
    "味道不错，送得也快",
    "性价比很高",
    "包装精美，喜欢",
]
NEGATIVE = ["太难吃了", "送餐慢了两个小时", "客服态度恶劣", "菜是凉的，差评", "分量太少，不推荐"]


def _write(folder: Path, name: str, rows: list[tuple[int, str]]) -> None:
    pd.DataFrame(rows, columns=["label", "text"]).to_csv(folder / FILES[name], index=False)


def tiny_data(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)

    def labelled(prefix: str) -> list[tuple[int, str]]:
        return [(1, f"{prefix}{t}") for t in POSITIVE] + [(0, f"{prefix}{t}") for t in NEGATIVE]

    _write(folder, "weibo2018", labelled("微博"))
    _write(folder, "waimai", labelled("外卖"))
    _write(folder, "chnsenticorp", labelled("酒店"))
    # one validation text is also in the e-commerce file, as in the real data
    _write(
        folder, "chnsenticorp_validation", [(1, "房间干净，早餐丰富"), (0, "隔音太差，一夜没睡")]
    )
    _write(folder, "shopping", [*labelled("网购"), (1, "房间干净，早餐丰富")])
    return folder
