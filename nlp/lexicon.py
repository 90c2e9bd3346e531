"""The project's complaint lexicon: categories, escalation signals, negation and degree.

Public sentiment lexicons miss most complaint vocabulary (维权, 退款, 12315, 黑猫投诉,
踢皮球 …) or even score it positive, so this is Yujing's own. Codes are stable (they are
stored in `scores.categories` / `scores.signals` and used in routing rules); labels are
for people. Terms are matched on normalised, simplified text (see nlp/normalize.py).

Each category has two kinds of terms:

- *problem* terms name a problem by themselves (异物, 过敏, 假货, 乱收费, 不给退): they count
  unless negated ("没有异物", "不是假货");
- *topic* terms only say what a post is about (退款, 客服, 快递, 价格): they place a post that
  is a complaint for other reasons in a category, but never make one ("快递很快" is praise)
  — except in a post the model reads as clearly negative, where one topic is enough
  ("客服就是个摆设！"; see nlp/scorer.py).

A problem term is cancelled by a negation before it in its clause ("没有异物"), unless the
negation is a rhetorical question ("这不是强制消费吗"), and by a worry or past belief
("担心买到假货", "本来以为会乱收费"). A symptom (拉肚子, 发烧, 过敏) is a problem only when
something consumed or sold is in the post; otherwise it is a topic. Words that contain a
term but mean something else (服务区, 心态崩了) are shadowed.

Escalation signals (regulator or legal threats, media exposure, collective action) and
general complaint cues (投诉, 维权, 差评, 讨说法) complete the evidence the scorer weighs
against the sentiment model (nlp/scorer.py), which also reads whether a post asks, reports,
mocks or agrees with a quoted complaint (the word lists at the end of the vocabulary).

Matching is one pass of a trie-shaped regular expression over the text (fast enough for
the scoring hot path), longest term first; a term inside a protected word (a brand name
such as a hypothetical 无忧快递) is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache


@dataclass(frozen=True)
class Category:
    code: str
    zh: str
    en: str
    terms: tuple[str, ...]  # problem terms: a complaint in this category by themselves
    topics: tuple[str, ...] = ()  # what the complaint is about, never a complaint alone
    weight: float = 0.7  # evidence one problem term gives (see nlp/scorer.py)


@dataclass(frozen=True)
class Signal:
    code: str
    zh: str
    en: str
    terms: tuple[str, ...]
    weight: float = 0.5


# fmt: off
_TIMES = (
    "两", "二", "三", "四", "五", "六", "七", "八", "九", "十", "几", "好几", "很多", "无数",
    *"23456789",
)


def _repeated(verbs: Iterable[str]) -> tuple[str, ...]:
    """A repair or failure repeated: 修了三次, 返厂两次, 坏了好几次."""
    return tuple(f"{v}{n}次" for v in verbs for n in _TIMES)


# a discount on a price raised first is both a pricing and an advertising complaint
_FAKE_DISCOUNT = (
    "先涨后降", "先涨价再打折", "先涨价后打折", "先涨价再降价", "先涨再降", "先提价后打折",
    "先提价再打折", "假打折", "虚假折扣",
)

CATEGORIES: tuple[Category, ...] = (
    Category(
        "refund",
        "退款退货",
        "Refund / return",
        terms=(
            "不给退", "不让退", "拒绝退", "拒不退", "退不了", "不退款", "不给退款", "拒绝退款",
            "退款难", "退款失败", "退款被拒", "迟迟不退", "一直不退", "还没退", "没退款",
            "退款还没到", "钱没退", "押金不退", "不退押金", "不予退", "退一赔三", "退一赔十",
            "拒绝退货", "不给退货", "退货难", "不给换", "拒绝换货",
            # everyday wording mined from negative reviews (2026-12-01)
            "退不掉", "不退不换", "不退钱", "不同意退", "一直没退", "不能退货", "不能退款",
        ),
        topics=("退款", "退货", "退钱", "退费", "仅退款", "七天无理由", "申请退", "退换", "换货", "押金"),
    ),
    Category(
        "after_sales",
        "售后维修",
        "After-sales / repair",
        terms=(
            "售后差", "售后太差", "售后垃圾", "售后不管", "售后不处理", "没有售后", "售后推诿",
            "修不好", "修了又坏", "反复维修", "维修多次", "返厂多次", "不给修", "拒绝保修",
            "不保修", "不给保修", "推卸责任", "没人管", "没人处理", "不处理",
            "不解决", "拖着不", "一直拖", "石沉大海", "不给说法", "不给答复", "没有下文",
            "没修好", "没有修好", "没了下文", "没下文", "没有然后了", "没上门", "不上门",
            # everyday wording mined from negative reviews (2026-12-01)
            "修不了", "推脱责任", "不给处理",
            *_repeated(("修了", "维修了", "返修了", "返厂", "返厂了", "修过")),
        ),
        topics=(
            "售后", "维修", "保修", "返厂", "返修", "三包", "4s店", "4S店", "召回", "换新",
            "检测报告",
        ),
    ),
    Category(
        "quality",
        "质量问题",
        "Quality defect",
        terms=(
            "质量问题", "质量差", "质量太差", "质量很差", "质量不行", "做工差", "做工粗糙",
            "坏了", "坏掉", "用坏", "故障", "漏水", "漏电", "漏油", "异响", "开裂", "裂了",
            "掉漆", "生锈", "断了", "失灵", "死机", "黑屏", "蓝屏", "卡顿", "掉电快", "发烫",
            "变质", "发霉", "霉变", "过期", "临期", "结块", "馊了", "酸了", "次品", "残次",
            "瑕疵", "破损", "碎了", "烂了", "刹车失灵", "断轴", "抖动", "掉色", "起球",
            "开胶", "变形", "异味", "有股怪味", "不新鲜", "缺斤少两", "少发", "漏发",
            "质量堪忧", "品控差", "品控太差", "翻车",
            # devices and apps that stop working
            "掉电", "耗电快", "崩了", "闪退", "打不开", "连不上", "开不了机", "不开机",
            "花屏", "烧屏", "绿屏", "信号差", "无服务",
            "胀包", "胀袋", "胀罐", "隔音差", "隔音太差", "隔音很差", "卫生差", "不卫生",
            # everyday wording mined from negative reviews (2026-12-01): food
            "难吃", "不好吃", "夹生", "没熟", "半生不熟", "没煮熟", "还是生的", "馊味", "馊的",
            "变味", "发臭", "霉味", "发苦", "难闻", "刺鼻", "太咸", "咸死", "没味道", "味道怪",
            "都不甜", "也不甜", "是烂的", "烂果", "分量少", "份量少", "分量太少", "份量太少",
            "菜量太少", "分量不足", "不够称", "不够秤", "没法吃",
            # ... devices that fall silent, die or stop working
            "没声了", "没声音了", "没有声音了", "听筒没声", "耳机没声", "喇叭没声", "有杂音",
            "电流声", "自动关机", "自动重启", "反复重启", "不灵敏", "不经用", "充不进", "充不上电",
            "充不了电", "充不满", "就没电", "不好用", "不制冷", "漏光", "闪屏", "太卡", "卡死",
            "就不能用了", "就用不了了", "漏液",
            # ... goods and rooms
            "有划痕", "开线", "线头多", "起毛", "褪色严重", "褪色厉害", "是坏的", "设施陈旧",
            "设施老旧", "很脏",
            *_repeated(("坏了", "坏")),
        ),
        topics=("质量", "品控", "做工", "批次", "批号", "保质期"),
    ),
    Category(
        "safety",
        "安全健康隐患",
        "Safety / health hazard",
        terms=(
            "自燃", "起火", "着火", "爆炸", "爆燃", "冒烟", "漏电伤人", "异物", "虫子",
            "蟑螂", "苍蝇", "头发丝", "玻璃渣", "铁丝", "塑料片", "钢丝球", "过敏", "中毒",
            "食物中毒", "腹泻", "拉肚子", "呕吐", "上吐下泻", "住院", "送医", "急诊", "抢救",
            "致癌", "超标", "重金属", "细菌超标", "菌落", "三聚氰胺", "激素", "烫伤", "烧伤",
            "受伤", "骨折", "划伤", "夹伤", "安全隐患", "身体不适", "起疹子", "疹子", "红疹",
            "湿疹", "发烧", "刹不住", "失控", "断轴", "电池鼓包", "鼓包", "致死", "死亡",
            "窒息", "卡喉", "毁容", "烂脸", "不合格", "抽检不合格",
            # foreign matter and vermin in food (头发 alone is too common: 剪头发)
            "毛发", "吃出头发", "有头发", "根头发", "老鼠", "鼠患", "被困", "动力中断",
            # everyday wording mined from negative reviews (2026-12-01)
            "吃坏肚子", "甲醛味", "农药味",
        ),
        # 检测 is not a safety topic: 寄回检测, 检测报告 are repairs and paperwork
        topics=("安全", "食品安全", "成分"),
        weight=0.8,
    ),
    Category(
        "counterfeit",
        "假货真伪",
        "Counterfeit / authenticity",
        terms=(
            "假货", "假冒", "山寨", "高仿", "不是正品", "非正品", "假的", "以次充好",
            "翻新机", "冒牌", "仿冒", "假奶粉", "假酒", "假药", "售假", "卖假", "调包",
            "掉包", "二手当新", "旧货翻新",
            # everyday wording mined from negative reviews (2026-12-01) (used sold as new too)
            "是盗版", "盗版书", "买到盗版", "是翻新", "二手货", "是二手的", "是二手机", "别人退的",
            "别人退回", "仿品", "返修机", "被用过", "被拆过",
        ),
        topics=("正品", "真伪", "鉴定", "防伪码"),
    ),
    Category(
        "service_attitude",
        "客服态度",
        "Customer-service attitude",
        terms=(
            "态度差", "态度恶劣", "态度极差", "态度很差", "态度太差", "态度不好", "服务差",
            "服务太差", "服务很差", "服务态度差", "爱答不理", "不理人", "不理不睬", "挂电话",
            "敷衍", "推诿", "客服不回", "客服不理", "没人回复", "不回复", "已读不回",
            "骂人", "辱骂", "甩锅", "机器人客服", "打不通", "转人工", "踢来踢去", "威胁",
            "态度嚣张", "冷漠", "傲慢",
            # the runaround is the service's, whoever sends the customer on (售后 adds after_sales)
            "踢皮球", "不归我们管", "不归他们管", "不归我管", "打发我", "打发人",
            "没人接", "无人接听", "占线",
            # everyday wording mined from negative reviews (2026-12-01)
            "爱理不理", "理都不理", "店大欺客", "服务不好", "服务极差", "服务超差", "服务非常差",
            "服务特别差", "服务也差", "服务也太差", "态度很不好", "态度非常差", "态度非常不好",
            "态度特别差", "态度也不好", "态度也差", "态度极其恶劣", "态度极其不好", "态度非常恶劣",
            "态度很恶劣", "态度十分恶劣", "态度恶略", "态度蛮横", "联系不上客服",
        ),
        topics=(
            "客服", "服务", "店员", "销售", "经理", "工作人员", "态度", "热线",
            "航班延误", "航班取消",
        ),
    ),
    Category(
        "delivery",
        "配送物流",
        "Delivery / logistics",
        terms=(
            "送晚了", "送得慢", "送的慢", "配送慢", "配送太慢", "送餐慢", "送餐太慢", "超时",
            "漏送", "送错", "洒了", "撒了", "汤洒", "丢件", "丢了件", "快递丢", "没收到",
            "未收到", "收不到", "延误", "迟迟不发货", "不发货", "拒发货", "发货慢", "物流慢",
            "物流太慢", "等了两个小时", "等了一个小时", "等了一个多小时", "等了半天",
            "凉了", "饭都凉", "暴力分拣", "包裹破损", "虚假签收", "被签收", "一直不送",
            # spilled or lost on the way
            "洒出来", "全洒", "都洒", "洒了一", "撒了一", "洒一地", "撒一地", "包裹丢", "行李丢",
            "被摔",
            # lost by whoever carried it (弄丢, 搞丢 alone are anyone's keys or wallet)
            "快递弄丢", "快递搞丢", "包裹弄丢", "包裹搞丢", "件弄丢", "件搞丢", "货弄丢",
            "货搞丢", "行李弄丢", "行李搞丢",
            # everyday wording mined from negative reviews (2026-12-01): late
            "才送到", "才送来", "才送过来", "小时才送", "分钟才送", "天才到货", "几天才收到",
            "多天才收到", "星期才收到", "送了两个小时", "送了一个多小时", "送了一个半小时",
            "送了一个小时", "等了半个小时", "等了半小时", "等了四十分钟", "等了40分钟",
            "等了一个半小时", "等了两个多小时", "等了三个小时", "等了快一个小时", "等了快两个小时",
            "等了将近一个小时", "等了将近两个小时", "等了1个多小时", "等了1个半小时", "等了2个小时",
            "等了2个多小时", "送的太慢", "送得太慢", "送餐速度太慢", "送货太慢", "送货慢",
            "快递太慢", "快递慢", "物流很慢", "物流超慢", "送餐很慢", "送餐超慢", "催单",
            # ... short, wrong, crushed, not brought up or never brought
            "没送到", "少送了", "送少了", "发错货", "压扁", "显示签收", "显示已签收", "没有收到货",
            "不送上楼", "不给送上楼", "不送货上门",
            # ... and rides that never came
            "司机一直没来", "司机迟迟不来", "车一直没来", "车迟迟不来",
        ),
        topics=("配送", "送餐", "外卖员", "骑手", "快递", "物流", "发货", "送货", "派送", "包装"),
    ),
    Category(
        "pricing",
        "价格收费",
        "Pricing / billing",
        terms=(
            "乱收费", "多收", "多扣", "乱扣费", "乱扣钱", "偷偷扣", "自动扣费", "自动续费",
            "扣费不通知", "大数据杀熟", "杀熟", "价格欺诈", "隐形消费", "隐性收费",
            "收费不合理", "霸王条款", "割韭菜", "坑钱", "天价", "暴涨",
            "价格歧视", "强制消费", "捆绑销售", "强制搭售", "搭售", "套路贷", "砍单",
            "不退差价", "保价不认", "冤大头", "吃相难看", "默认勾选", "私自开通", "偷偷开通",
            "擅自开通", *_FAKE_DISCOUNT,
            # everyday wording mined from negative reviews (2026-12-01)
            "就降价", "刚买就降", "买完就降", "买了就降", "不保价", "不给价保", "不给价格保护",
            "买贵了", "比超市还贵", "价格虚高", "坐地起价", "另收费", "自动扣了", "自动扣钱",
            "自动续期", "自动续订", "莫名其妙扣钱", "莫名其妙扣费", "莫名扣费", "莫名扣钱",
            "不给发票", "不给开发票", "没给发票", "拒开发票",
        ),
        # fees are pricing, not the thing they are charged for (配送费 is not delivery)
        topics=(
            "价格", "收费", "扣费", "续费", "差价", "账单", "会员费", "运费", "涨价",
            "配送费", "服务费", "手续费", "年费", "增值业务", "价格保护",
        ),
    ),
    Category(
        "false_ads",
        "虚假宣传",
        "False advertising",
        terms=(
            "虚假宣传", "虚标", "夸大宣传", "货不对板", "与描述不符", "和描述不符", "图文不符",
            "实物不符", "与宣传不符", "和宣传不符", "欺诈", "欺骗消费者", "忽悠", "骗人",
            "诈骗", "虚假广告", "名不副实", "缩水", "虚假促销", "假促销",
            "宣传不符", "货不对版", "买家秀", "照骗", "虚假发货", "智商税", "套路",
            "虚假原价", "虚构原价", *_FAKE_DISCOUNT,
            # everyday wording mined from negative reviews (2026-12-01)
            "图片不符", "描述不符", "图片不一样", "图片上的不一样", "实际不符", "色差大",
            "色差严重", "色差太大", "误导消费者", "骗消费者", "刷单", "刷好评", "好评都是刷",
            "好评返现", "名不符实",
        ),
        topics=("宣传", "广告", "代言", "详情页", "描述"),
    ),
    Category(
        "privacy",
        "隐私泄露",
        "Privacy",
        terms=(
            "泄露隐私", "隐私泄露", "信息泄露", "泄露信息", "信息被泄露", "被泄露",
            "泄露个人信息", "个人信息泄露", "骚扰电话", "骚扰短信", "倒卖信息", "倒卖个人信息",
            "偷拍", "监听", "偷听", "窃听", "过度收集", "强制授权", "偷偷收集", "人脸信息",
            "电话轰炸", "短信轰炸", "泄露", "骚扰", "推销电话", "营销电话", "爆通讯录",
        ),
        topics=("隐私", "个人信息", "通讯录", "权限", "信息安全"),
    ),
)


# What a complaint is about, told the everyday way ("驿站说已经签收了", "话费里每个月多出
# 十块", "天天接到卖保险的电话"): these name a category for a post already found to be a
# complaint (nlp/scorer.py) and are never evidence of one, so a sad or worried post that
# mentions a courier or a phone call stays what it was. They are kept out of the matcher
# above on purpose: its terms are model features and jieba words, and these would change
# both. A hint that is negated or hedged ("没有多收", "担心被扣费") names nothing.
CATEGORY_HINTS: dict[str, tuple[str, ...]] = {
    "refund": (
        "退票", "退课", "退订", "退卡", "退押金", "退学费", "退会员", "退回", "退我", "钱还没回来", "钱还没到账", "钱还没到",
        "钱没回来", "没到账", "不给我退", "不肯退", "只退", "退一半", "人去楼空", "卷款", "跑路了", "关门跑路", "预付", "充值卡",
        "余额不退", "退款申请", "申请退款", "要求退款", "要求退货", "退换货",
    ),
    "after_sales": (
        "报修", "检修", "送修", "修理", "修好", "来修", "去修", "上门修", "上门检测", "上门维修", "师傅上门", "维修师傅", "维修点",
        "维修站", "售后点", "服务网点", "保修期", "过保", "在保", "质保", "寄回检测", "寄回去检测", "寄回厂家", "送检", "检测完",
        "检测结果", "等配件", "换一台", "换台新的", "换新机", "要求换新", "只肯修", "只给修", "不给换", "给换", "人为损坏", "进液",
        "不在保修", "保外", "维修费", "检测费", "上门费", "延保",
    ),
    "quality": (
        "不亮", "不出热风", "不出水", "不出风", "不脱水", "不转了", "不工作", "不好使", "不灵了", "原地打转", "原地转圈", "失效",
        "没反应", "关不严", "关不上", "合不上", "扣不上", "拉不上", "打不着", "点不着", "滴水", "渗水", "往外冒", "冒热气", "断网",
        "掉线", "网速慢", "转圈圈", "卡成", "一直转圈", "闪烁", "绿线", "白线", "坏点", "划痕", "掉毛", "缩水",
        "洗了一次", "洗一次", "褪色", "染色", "脱线", "开缝", "破洞", "碎毛", "鼓起来", "胀得", "鼓鼓的", "哈喇味", "沉淀",
        "黑点", "蔫了", "蔫了吧唧", "发黄", "变黑", "长毛", "酸的", "苦的", "臭的", "坏的", "烂的", "漏气", "跑气", "漏风",
        "噪音大", "噪音", "嗡嗡响", "咔咔响", "吱吱响", "隔音", "一点用都没有", "一点用没有", "没效果", "没什么效果", "毫无效果",
        "越用越", "越来越卡", "三天两头", "隔三差五", "动不动就", "时好时坏", "又坏", "又断", "又卡", "系统繁忙", "系统崩溃", "bug",
        "BUG", "续航", "电量掉", "紧绷", "刺痛", "辣眼睛", "起皮", "卡粉", "爆痘", "闷痘",
    ),
    "safety": (
        "吐了", "吐了一晚", "跑厕所", "肠胃炎", "烧到", "高烧", "进医院", "去医院", "挂水", "输液", "被电", "电了一下", "触电",
        "电到", "摔倒", "摔了", "摔出来", "流血", "出血", "打破", "缝针", "咬伤", "烫到", "烫红", "黑烟", "火花", "冒火",
        "烧焦", "焦味", "糊味", "炸了", "刹车", "方向盘", "仪表盘", "高速上", "差点出事", "差点撞", "撞上", "追尾", "吓得",
        "腿都软", "手还在抖", "后怕", "还好我", "创可贴", "钢丝", "一只虫", "小虫", "飞虫", "虫卵", "蛆", "指甲", "烟头",
        "碎玻璃", "一边开一边", "边开车边", "开车看手机", "超速", "闯红灯", "酒驾", "疲劳驾驶", "猛踩", "急刹", "跟踪", "尾随",
        "打人", "推搡", "甲醛", "有毒", "孩子喝了", "宝宝喝了", "孩子吃了", "宝宝吃了", "喝完就", "吃完就",
    ),
    "counterfeit": (
        "防伪", "扫码显示", "被查询", "序列号", "官网查不到", "查不到", "副厂", "官翻", "翻新", "水货", "非原装", "不是原装",
        "拆封过", "被拆封", "二次封口", "使用痕迹", "专柜同款", "和专柜的不一样", "跟专柜的不一样", "和以前买的不一样", "跟以前买的不一样",
        "味道也不一样", "字体不一样", "贴牌",
    ),
    "service_attitude": (
        "不耐烦", "骂了", "骂我", "吼我", "吼了", "凶我", "白眼", "甩脸", "摆脸色", "拉黑", "被拉黑", "模板回复", "自动回复", "复制粘贴",
        "机器人", "不回了", "不回消息", "直接不回", "没人回", "没回应", "等通知", "回去等", "让我等", "耐心等待", "推来推去",
        "一问三不知", "说法不一", "不同的说法", "不专业", "低头看手机", "玩手机", "爱搭不理", "让我自己", "说是我自己", "怪我", "是我的问题",
        "是我自己", "一口咬定", "咬死", "不承认", "不可能出现", "不可能是", "闹着玩", "连个电话都没", "连句道歉", "一句道歉都没有", "再试试",
        "打不进", "催一下", "帮我催", "登记了", "已登记", "反馈给", "会反馈", "正常现象", "正常情况", "这是什么道理", "店长说", "柜员",
        "没人管", "不给解释", "不解释", "原因不说", "不给理由", "在排队", "永远在排队",
    ),
    "delivery": (
        "签收", "驿站", "快递柜", "转运中心", "中转站", "次日达", "当日达", "派件", "派送中", "快递员", "快递小哥", "送货员",
        "配送员", "外卖小哥", "没送来", "还没送到", "还没到", "迟迟没到", "物流信息", "物流停", "物流显示", "物流一直", "不更新",
        "放门口", "扔在门口", "扔门口", "少送", "摔坏", "压坏", "运输途中", "寄丢", "揽收", "晚到", "延期发货", "发不了货",
        "找不到路", "没来接", "丢在门口",
    ),
    "pricing": (
        "扣了我", "扣我", "被扣了", "被扣", "扣款", "扣钱", "多出", "多了一项", "多了一笔", "收了我", "收我",
        "要我付", "让我付", "让我交", "要交", "另收", "额外收", "加收", "违约金", "滞纳金", "清洁费", "打孔费", "跑腿费", "材料费",
        "资料费", "附加费", "管理费", "损耗费", "包装费", "上门费", "话费", "单子上", "结账", "费用", "贵了",
        "更贵", "涨到", "涨了", "逾期", "利息", "分期", "订阅", "彩铃", "流量费", "绕路", "比别人贵", "老用户",
        "新用户", "绕远路", "绕了一大圈",
    ),
    "false_ads": (
        "说好的", "说好了", "不是说", "号称", "宣称", "承诺", "拍胸脯", "保本", "图片上", "图片里", "图里", "图上",
        "照片上", "直播间", "主播说", "页面上", "写着", "标着", "标的是", "标签上", "配料表", "不限", "名师",
        "广告里", "广告上", "广告说", "宣传的", "宣传说", "实物", "功效", "淡斑", "美白", "祛痘", "见效", "纯棉", "真皮",
        "现杀", "现做", "现烤", "白鸭绒", "含量", "签的时候说", "办的时候说", "买的时候说", "当初说", "当时说", "销售说", "一对一",
        "包过", "保过", "不过退款", "全网最低", "最低价",
    ),
    "privacy": (
        "推销", "卖保险的", "贷款电话", "广告电话", "陌生电话", "诈骗电话", "陌生号码", "叫出我", "知道我的", "知道我住", "我的手机号",
        "我的电话", "我的号码", "手机号给", "拉进群", "拉我进", "拉进了", "加了我微信", "加我微信", "发广告", "天天发",
        "垃圾短信", "营销短信", "广告短信", "条短信", "针孔", "相册", "人脸", "核实身份", "打给我爸妈", "打给我家人", "打给我同事",
        "通知了我家", "联系我家人", "个人资料", "合作伙伴", "精准推送", "偷看", "窥视", "跟踪", "用我的名字", "定位权限",
        "获取定位", "授权通讯录", "读取通讯录", "位置信息", "摄像头对着", "装了摄像头", "是个摄像头", "隐藏摄像头", "身份证号", "身份证照片",
    ),
}

# Escalation told the everyday way ("材料已经递到金融监管局了", "业主群里统计了二十多单"):
# like the category hints, these name a signal and are never evidence of a complaint.
SIGNAL_HINTS: dict[str, tuple[str, ...]] = {
    "regulator_legal": (
        "工信部", "通信管理局", "邮政管理局", "金融监管", "银保监", "证监会", "民航局", "交通局",
        "教育局", "住建局", "物价局", "卫生监督", "监管局", "管理局投诉", "网信办", "消委会",
        "消保", "信访", "派出所", "报案", "报了案", "公安局", "警察", "咨询律师", "律师", "法务",
        "判决", "索赔诉讼", "举报电话", "投诉电话", "申诉电话", "监管平台", "投诉平台",
    ),
    "media": (
        "发帖", "发个帖", "发网上", "挂网上", "挂出来", "公之于众",
        "让大家评评理", "大家评评理", "评评理", "让大家都来看看", "让大家看看", "帮办栏目",
        "新闻热线", "报料", "自媒体", "找媒体", "联系媒体", "联系记者", "网络曝光",
    ),
    "collective": (
        "联合起来", "大家一起", "一起找", "业主群", "家长群", "车主群",
        "受害群", "拉了群", "拉了个群", "建了群", "建了个群", "群里已经", "不止我一家",
        "不止一家", "不止我们", "大家也别", "大家别去", "别去了", "都别去", "别买了",
        "都别买", "打一星", "一星差评", "刷一星", "统计了", "几十个人",
        "几百人", "上百人", "多人", "提醒大家", "姐妹们避", "避坑",
    ),
}

SIGNALS: tuple[Signal, ...] = (
    Signal(
        "regulator_legal",
        "监管/法律",
        "Regulator or legal threat",
        (
            "12315", "12345", "12331", "消协", "消费者协会", "消保委", "黑猫投诉", "律师函",
            "起诉", "打官司", "诉讼", "上诉", "仲裁", "市场监管", "市场监督管理局", "市监局",
            "工商局", "食药监", "质监局", "报警", "立案", "法院", "投诉到", "315晚会",
            "找律师", "请律师", "法律途径", "走法律程序", "依法维权", "监管部门", "主管部门",
            "卫健委", "药监局",
        ),
        weight=0.6,
    ),
    Signal(
        "media",
        "媒体曝光",
        "Media exposure",
        (
            "曝光", "记者", "媒体", "上新闻", "央视", "热搜", "求转发", "大家帮忙转",
            "帮忙扩散", "扩散", "求扩散", "新闻报道", "电视台", "报社", "爆料", "舆论",
            "发到网上", "发微博曝光",
        ),
        weight=0.35,
    ),
    Signal(
        "collective",
        "集体行动",
        "Collective action",
        (
            "维权群", "集体维权", "一起维权", "集体投诉", "集体诉讼", "联名", "抵制",
            "避雷", "拉黑", "再也不买", "再也不会买", "大家别买", "千万别买", "不要买",
            "受害者", "受害家长", "绝不再买", "不会再买", "不止我一个", "很多人都", "好多人都", "大家小心",
            "广大消费者", "同样遇到", "一样的遭遇", "维权联盟", "同款遭遇", "同样的遭遇",
        ),
        weight=0.5,
    ),
)

# Words that say "this is a complaint" without naming its category.
COMPLAINT_CUES: tuple[str, ...] = (
    "投诉", "维权", "差评", "举报", "坑人", "被坑", "坑爹", "无良", "黑心", "黑店",
    "垃圾", "骗子", "欺骗", "要求赔偿", "索赔", "赔偿", "讨说法", "讨个说法", "给个说法",
    "给个交代", "给我一个交代", "要个说法", "太坑", "坑了", "奸商", "不负责", "不作为",
    "不要脸", "忍无可忍", "无法接受", "太过分", "过分了", "恶心", "气死", "受骗",
    "上当", "吃亏", "维护权益", "消费者权益", "权益受损", "官方回应", "求官方",
    "要求道歉", "道歉", "必须道歉", "没有诚信", "不诚信", "再也不来", "最后一次",
    "踩雷", "凭什么", "这合理吗", "冤枉钱", "花得冤", "白花钱",
)
COMPLAINT_CUE_WEIGHT = 0.6
_UNNEGATABLE_CUES = frozenset({"道歉", "赔偿", "要求赔偿", "给个说法", "给个交代", "官方回应"})

# Words that contain a lexicon term but mean something else: matched so that the term
# inside them is not (服务区 is not about service, 心态崩了 is not an app crash).
SHADOWED: tuple[str, ...] = (
    "服务区", "服务器", "无服务费", "心态崩了", "被困扰", "米老鼠", "发烧友",
    # a question, not a verdict: 不知道好不好吃, 正版还是盗版
    "好不好吃", "好不好用", "还是盗版",
)

# Symptoms are a safety complaint only when something consumed or sold is in the post:
# "孩子发烧三天了" and "吃太多拉肚子，活该" are not about a product.
SYMPTOMS: frozenset[str] = frozenset({
    "过敏", "腹泻", "拉肚子", "呕吐", "上吐下泻", "住院", "送医", "急诊", "抢救",
    "身体不适", "起疹子", "疹子", "红疹", "湿疹", "发烧", "不合格", "中毒", "受伤",
    "骨折", "烫伤", "划伤",
})
PRODUCT_CONTEXT: tuple[str, ...] = (
    "吃了", "喝了", "用了", "吃完", "喝完", "用完", "吃出", "喝出", "服用", "食用",
    "饮用", "涂了", "抹了", "擦了", "买的", "买了", "购买", "商家", "店家", "店里", "门店",
    "这家", "他家", "厂家", "品牌", "产品", "商品", "外卖", "奶粉", "牛奶", "食品",
    "饮料", "零食", "面霜", "化妆品", "护肤品", "药", "批次", "批号", "这款", "这个牌子",
    "超市", "餐厅", "饭店", "抽检", "质检", "玩具", "充电", "电池", "汽车", "新车",
)

# Worry and past belief cancel the problem that follows in their clause, like a negation:
# "担心买到假货，验了是正品", "本来以为会乱收费".
HEDGES: tuple[str, ...] = (
    "担心", "害怕", "生怕", "就怕", "怕买到", "以为", "本以为", "原以为", "还以为",
    "以前觉得", "之前觉得", "本来觉得", "原来觉得", "以前总觉得", "一直觉得", "听说",
    "据说", "万一",
)

# How a post reads, for the scorer (nlp/scorer.py): matched on the reposter's own words.
# Asking for information: its topics and signals are what it asks about, not a threat.
INQUIRY_MARKERS: tuple[str, ...] = (
    "请问", "有人知道", "有没有人知道", "谁知道", "求助", "求问", "问一下", "问下",
    "想问", "请教", "咨询一下", "有懂的", "有没有懂", "求科普", "求解答", "怎么办理",
    "怎么申请",
)
# Question words that ask for information (not the rhetorical 这合理吗, 有腿吗).
QUESTION_WORDS: tuple[str, ...] = (
    "怎么", "如何", "哪里", "在哪", "哪儿", "哪个", "多久", "能不能", "可不可以",
    "可以吗", "有用吗", "要不要", "需要什么",
    # should I buy it? ("星辰S7值不值得买？", a review headline): 不值 inside asks, not judges
    "值不值", "靠不靠谱", "好不好用", "推不推荐", "该不该买", "能不能买",
)
# ... and 怎么 that is indignation, not a question
RHETORICAL_QUESTIONS: tuple[str, ...] = (
    "怎么可以", "怎么能", "怎么会", "怎么回事", "怎么还", "怎么又", "怎么这么", "怎么就",
    "怎么好意思", "哪里有", "哪有",
)
# Reporting, not experiencing: news headlines and bulletins, advice columns, rebuttals.
NEWS_MARKERS: tuple[str, ...] = (
    "获悉", "据悉", "宣布", "审结", "记者从", "通报", "据报道", "消息称", "发布公告",
    "判处", "同比", "被曝", "介入调查", "责令", "约谈", "日前", "提醒:", "提示:",
    "别乱传", "不要乱传", "辟谣", "谣言", "不实信息", "造谣",
)
# Praise that, with [微笑], is sarcasm; mock praise is sarcasm next to a problem too
# ("丢件能力yyds").
PRAISE: tuple[str, ...] = (
    "感谢", "谢谢", "厉害", "真棒", "太棒了", "佩服", "优秀", "给力", "好评", "点赞",
)
MOCK_PRAISE: tuple[str, ...] = (
    "好样的", "yyds", "绝绝子", "真行", "有你的", "颁个奖", "送锦旗", "实力", "牛啊",
)
IRONY: tuple[str, ...] = (
    "真是好样的", "佩服佩服", "真有你的", "谢谢你全家", "也是一种实力", "真是服了",
    "能力yyds", "能力一流", "好到我想", "我谢谢你",
)
# Grief and sadness in the author's own words: a feeling, not a grievance. The
# complaint-text head reads review-like wording and alone would call "这电影太悲伤了" a
# complaint; with these it needs lexicon evidence (nlp/scorer.py).
GRIEF: tuple[str, ...] = (
    "悲伤", "难过", "伤心", "心疼", "哭了", "泪目", "想哭", "看哭", "哭死", "心酸", "舍不得",
    "心碎", "破防", "难受",
)
SARCASTIC_EMOTICONS: frozenset[str] = frozenset({"微笑", "呵呵", "doge", "二哈", "白眼"})
# Anger or disgust: a reposter's "[怒][怒]" over a quoted complaint takes its side.
ANGRY_EMOTICONS: frozenset[str] = frozenset(
    {"怒", "怒骂", "抓狂", "鄙视", "吐", "哼", "左哼哼", "右哼哼", "生气"}
)
# A reposter agreeing with the complaint quoted: its evidence counts as their own.
AGREEMENT: tuple[str, ...] = (
    "同款", "我也是", "我也遇到", "我也被", "我家也是", "我也一样", "+1", "支持维权",
    "一样的情况", "同样的情况", "一模一样", "同遭遇", "也中招", "我也中招",
)

# Negation words: a problem term right after one of these (allowing a few fillers such
# as 任何/发现) does not count ("没有发现任何异物", "不是假货", "宝宝不过敏").
NEGATIONS: tuple[str, ...] = (
    "没有", "没", "无", "不是", "不", "并非", "非", "未", "毫无", "绝无", "从未", "从没",
    "从来没有", "从来没", "不存在", "不会", "并不", "一点也不", "一点都不", "别", "不用", "无需",
    "杜绝", "防止", "预防", "避免",
)
# Words that contain a negation character but deny nothing: 不过 "but", 特别 "very",
# 区别 "difference", double negations that assert (不得不投诉 "had to complain", 非曝光不可).
# They are masked before negations are looked for, here and in the model's negation scope
# (nlp/features.py). 不过 stays a negation before 敏/期/关/分… (不过敏 is "not allergic").
NOT_NEGATIONS: tuple[str, ...] = (
    "只不过", "不得不", "不能不", "不可不", "不无", "无不", "非得", "非要", "无非", "非常",
    "无比", "无论", "无数", "特别", "分别", "区别", "差别", "级别", "类别", "个别", "性别",
    "识别", "鉴别", "告别", "别人", "别的", "未来",
)
# The comparison "没有想象中那么差" / "没有宣传的那么好" negates what it compares: a negation's
# scope reaches past these to the evaluated word (here and in nlp/features.py).
COMPARISONS: tuple[str, ...] = (
    "想象中", "想象的", "想像中", "传说中", "宣传的", "预期的", "期待中", "图片上",
    "描述的", "那么", "这么",
)
# Never having met the problem (从来没遇到过质量问题, 没买到过假货) denies it too: a
# negation's scope reaches past these (here and in nlp/features.py).
ENCOUNTERS: tuple[str, ...] = ("遇到", "碰到", "遇见", "遇过", "买到")
# "But" and its kin: what follows is what the writer means ("快递收到了，不过碎了"). Only the
# opt-in contrast features read them (nlp/features.py; off in the committed model).
CONTRASTS: tuple[str, ...] = (
    "但是", "但", "不过", "可是", "然而", "只是", "却", "可惜", "遗憾的是", "美中不足",
)
_FILLERS = (
    "任何", "什么", "发现", "出现", "检测出", "检出", "吃出", "喝出", "有", "过", "再",
    "都", "也", "一点", "一丝", "半点", "啥", "到", "会", "曾", "被",
    *ENCOUNTERS,
    *COMPARISONS,
)

# Everyday evaluative words whose *negated* use flips their meaning ("一点也不差", "不贵",
# "不太满意"). Plain uses are left to the model's n-grams; a negated one becomes a
# `POL:negated-` / `POL:negated+` token, so the model can learn that "不差" is praise
# although "不" and "差" are each strong signs of a complaint.
NEGATIVE_WORDS: tuple[str, ...] = (
    "差", "差劲", "烂", "难吃", "难喝", "难用", "难看", "贵", "慢", "坏", "糟糕", "糟",
    "失望", "后悔", "垃圾", "恶心", "麻烦", "脏", "吵", "油腻", "敷衍", "坑", "假",
    "卡", "咸", "淡", "凉", "小气", "过分", "离谱", "夸张", "担心", "遗憾", "错",
)
POSITIVE_WORDS: tuple[str, ...] = (
    "好", "满意", "喜欢", "推荐", "值", "值得", "划算", "好吃", "好喝", "好用", "好看",
    "方便", "干净", "快", "新鲜", "舒服", "专业", "靠谱", "开心", "热情", "耐心", "放心",
    "行", "可以", "实惠", "便宜", "清楚", "及时", "到位",
)

# Degree adverbs and their strength (1 = neutral); used as features by the sentiment model.
DEGREE: dict[str, float] = {
    "极其": 2.0, "极度": 2.0, "超级": 1.8, "非常": 1.8, "特别": 1.8, "太": 1.8,
    "巨": 1.8, "贼": 1.6, "十分": 1.6, "相当": 1.5, "真的": 1.4, "很": 1.4,
    "挺": 1.2, "蛮": 1.2, "比较": 1.1, "还算": 0.9, "有点": 0.8, "有些": 0.8,
    "稍微": 0.6, "略": 0.6, "一点": 0.6,
}
# fmt: on


def category_label(code: str, lang: str = "zh") -> str:
    """The Chinese (`zh`) or English (`en`) label of a category code (the code if unknown)."""
    for c in CATEGORIES:
        if c.code == code:
            return c.zh if lang == "zh" else c.en
    return code


def signal_label(code: str, lang: str = "zh") -> str:
    """The Chinese (`zh`) or English (`en`) label of a signal code (the code if unknown)."""
    for s in SIGNALS:
        if s.code == code:
            return s.zh if lang == "zh" else s.en
    return code


CATEGORY_CODES: tuple[str, ...] = tuple(c.code for c in CATEGORIES)
SIGNAL_CODES: tuple[str, ...] = tuple(s.code for s in SIGNALS)

# --- matching -----------------------------------------------------------------------

PROBLEM, TOPIC, SIGNAL, CUE = "problem", "topic", "signal", "cue"


@dataclass(frozen=True, slots=True)
class Hit:
    term: str
    kind: str  # problem | topic | signal | cue
    code: str  # category or signal code ("" for cues)
    start: int
    negated: bool


@dataclass(slots=True)
class Hits:
    """Lexicon matches in one text."""

    hits: list[Hit] = field(default_factory=list)

    def live(self, kind: str) -> list[Hit]:
        return [h for h in self.hits if h.kind == kind and not h.negated]

    def codes(self, kind: str) -> list[str]:
        """Codes of non-negated hits of one kind, in lexicon order, without repeats."""
        found = {h.code for h in self.hits if h.kind == kind and not h.negated}
        order = SIGNAL_CODES if kind == SIGNAL else CATEGORY_CODES
        return [c for c in order if c in found]

    @property
    def negated(self) -> list[Hit]:
        return [h for h in self.hits if h.negated]


def _roles() -> dict[str, list[tuple[str, str]]]:
    roles: dict[str, list[tuple[str, str]]] = {}
    for c in CATEGORIES:
        for t in c.terms:
            roles.setdefault(t, []).append((PROBLEM, c.code))
        for t in c.topics:
            roles.setdefault(t, []).append((TOPIC, c.code))
    for s in SIGNALS:
        for t in s.terms:
            roles.setdefault(t, []).append((SIGNAL, s.code))
    for t in COMPLAINT_CUES:
        roles.setdefault(t, []).append((CUE, ""))
    for t in SHADOWED:
        roles.setdefault(t, [])
    return roles


# a trie node with more branches than this is split into buckets of first characters,
# each behind a lookahead of its characters (see `trie_regex`)
_SPLIT_OVER, _BUCKETS = 16, 16


def _char_class(chars: Iterable[str]) -> str:
    return "[" + "".join(re.escape(c) for c in chars) + "]"


def _alternation(branches: list[tuple[str, str]]) -> str:
    """`(?:a…|b…|…)` of branches that each start with their own character. The engine tries
    a node's branches one by one, so a node of hundreds (the lexicon's first characters)
    is split into buckets, each behind a lookahead of its characters: at most one branch
    can match at a position either way (under re.I, only among branches in one bucket), so
    what matches is the same, 40% sooner."""
    if len(branches) <= _SPLIT_OVER:
        return "(?:" + "|".join(body for _, body in branches) + ")"
    buckets: dict[int, list[tuple[str, str]]] = {}
    for ch, body in branches:
        # by the case-folded character: under re.I, K and the Kelvin sign K both match k,
        # and such branches keep their order only within one bucket
        buckets.setdefault(ord(ch.casefold()[0]) % _BUCKETS, []).append((ch, body))
    parts = [
        f"(?={_char_class(ch for ch, _ in bucket)})"
        + (bucket[0][1] if len(bucket) == 1 else "(?:" + "|".join(b for _, b in bucket) + ")")
        for bucket in buckets.values()
    ]
    return f"(?={_char_class(ch for ch, _ in branches)})(?:" + "|".join(parts) + ")"


def trie_regex(words: Iterable[str]) -> str:
    """A regular expression matching any of `words`, longest first, shaped as a trie so
    the engine follows one branch per position instead of trying every word."""
    trie: dict = {}
    for word in words:
        if not word:
            continue
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict) -> str:
        end = "" in node
        branches = [(ch, re.escape(ch) + build(child)) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0][1] if len(branches) == 1 else _alternation(branches)
        if end:  # the word may stop here; prefer the longer continuation
            return f"(?:{body})?" if len(branches) > 1 or len(body) > 1 else f"{body}?"
        return body

    return build(trie)


@cache
def _matcher() -> tuple[re.Pattern, dict[str, list[tuple[str, str]]]]:
    roles = _roles()
    return re.compile(trie_regex(roles)), roles


@cache
def _negation_tail() -> re.Pattern:
    """Matches a clause ending in a negation word followed by fillers."""
    neg = trie_regex(NEGATIONS)
    fill = trie_regex(_FILLERS)
    return re.compile(f"(?:{neg})(?:{fill}){{0,3}}$")


@cache
def _not_negation() -> re.Pattern:
    # 非X不可 asserts X (the gap stops at a clause end or NUL, the batch separator)
    gap = r"[^\0,，。.!?！？;；:：、\s~]{1,6}?"
    return re.compile(
        rf"不过(?![敏期关分火瘾时夜问来度于])|非{gap}不可|{trie_regex(NOT_NEGATIONS)}"
    )


def mask_not_negations(text: str) -> str:
    """`text` with the words that only look like negations (NOT_NEGATIONS) blanked out
    character for character, so that positions still line up with the original."""
    return _not_negation().sub(lambda m: "_" * len(m.group()), text)


_CLAUSE_END = re.compile(r"[,，。.!?！？;；:：、\s~]")


@lru_cache(maxsize=8)
def _masked(text: str) -> str:
    """`mask_not_negations` of a whole post, once: a post's every term asks for the clause
    before it (a str caches its hash, so a repeated lookup costs no scan)."""
    return mask_not_negations(text)


def _clause_before(text: str, start: int) -> str:
    """The (up to 10) characters of the clause that precede `start`, with the words that
    only look like negations masked (seen in the whole post: 特别 across the cut, 非…不可
    around the term)."""
    window = _masked(text)[max(0, start - 10) : start]
    cut = None
    for m in _CLAUSE_END.finditer(window):
        cut = m.end()
    return window if cut is None else window[cut:]


def is_negated(text: str, start: int) -> bool:
    """Whether a negation word (plus fillers) ends the clause right before `start`."""
    window = _clause_before(text, start)
    return bool(window) and _negation_tail().search(window) is not None


@cache
def _hedge() -> re.Pattern:
    """A worry or past belief earlier in the clause (担心买到…, 本来以为会…)."""
    return re.compile(f"(?:{trie_regex(HEDGES)})[^,，。.!?！？;；:：、\\s~]{{0,8}}$")


# "这不是X吗", "这不是X是什么": a rhetorical question asserts X instead of denying it.
_RHETORICAL_NEG = re.compile(r"(?:不是|不就是|岂不是)[^,，。.!?！？;；:：、\s~]{0,3}$")
_RHETORICAL_END = re.compile(
    r"^[^,，。.!！;；:：、\s~]{0,8}?(?:[吗呢][?？]?|[?？])(?:$|[,，。.!！;；\s~])"
)
_RHETORICAL_WHAT = re.compile(r"^(?:又|还)?是(?:什么|啥)")
# "不是奶粉质量问题," : 不是 denies a whole noun phrase that ends its clause
# ... but "不是第一次坏了" says it broke again
_NOT_A_PHRASE = re.compile(r"(?:不是|并不是|并非)(?!第|头一)[^,，。.!?！？;；:：、\s~]{1,4}$")
_PHRASE_END = frozenset(",，。.!！;；:：、 ~")


def is_cancelled(text: str, start: int, end: int) -> bool:
    """Whether the term at text[start:end] is denied: negated ("没有异物"), unless the
    negation is a rhetorical question ("这不是强制消费吗"), or only worried about or
    believed once ("担心买到假货", "以前觉得质量差")."""
    window = _clause_before(text, start)
    if not window:
        return False
    if _negation_tail().search(window) is not None:
        if _RHETORICAL_NEG.search(window) is None:
            return True
        after = text[end : end + 10]
        return not (_RHETORICAL_END.search(after) or _RHETORICAL_WHAT.search(after))
    if (end == len(text) or text[end] in _PHRASE_END) and _NOT_A_PHRASE.search(window):
        return True
    return _hedge().search(window) is not None


@cache
def _product_context() -> re.Pattern:
    return re.compile(trie_regex(PRODUCT_CONTEXT))


def _about_a_product(text: str, hits: list[Hit], brands: list[tuple[int, int]]) -> bool:
    """Whether a post names something consumed or sold (for symptom terms). A brand (and a
    product word inside its name: 汽车 in 星辰汽车) counts only as what the post is about:
    in a symptom's clause, or at the start or end of its own ("刚换了沐沐奶粉，宝宝就过敏了"),
    not in passing ("开着星辰S7去医院，奶奶住院了")."""
    if any(h.term not in SYMPTOMS and h.kind in (PROBLEM, TOPIC) for h in hits):
        return True
    for m in _product_context().finditer(text):
        if not any(a <= m.start() and m.end() <= b for a, b in brands):
            return True
    symptoms = [h.start for h in hits if h.term in SYMPTOMS]
    for a, b in brands:
        start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, a)), default=0)
        found = _CLAUSE_END.search(text, b)
        end = found.start() if found else len(text)
        if a == start or b == end or any(start <= i < end for i in symptoms):
            return True
    return False


def match(text: str, protected: re.Pattern | None = None) -> Hits:
    """Every lexicon term in a normalised text, with its role and negation."""
    pattern, roles = _matcher()
    spans: list[tuple[int, int]] = []
    if protected is not None:
        spans = [m.span() for m in protected.finditer(text)]
    out = Hits()
    for m in pattern.finditer(text):
        term, start, end = m.group(), m.start(), m.end()
        if term.isdigit() and (
            (start > 0 and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit())
        ):
            continue  # 12315 inside a longer number
        if spans and any(a <= start and end <= b for a, b in spans):
            continue
        if not roles[term]:
            continue  # a shadowing word
        negated = is_cancelled(text, start, end)
        for kind, code in roles[term]:
            # "没退款", "不赔偿" are still about refunds and compensation
            keep = kind == TOPIC or (kind == CUE and term in _UNNEGATABLE_CUES)
            out.hits.append(Hit(term, kind, code, start, negated and not keep))
    symptoms = [
        i
        for i, h in enumerate(out.hits)
        if h.term in SYMPTOMS and h.kind == PROBLEM and not h.negated
    ]
    if symptoms and not _about_a_product(text, out.hits, spans):
        # a symptom with no product behind it only says what the post is about
        for i in symptoms:
            h = out.hits[i]
            out.hits[i] = Hit(h.term, TOPIC, h.code, h.start, False)
    return out


@cache
def _polarity_matcher() -> tuple[re.Pattern, dict[str, str]]:
    signs = {w: "-" for w in NEGATIVE_WORDS} | {w: "+" for w in POSITIVE_WORDS}
    return re.compile(trie_regex(signs)), signs


def negated_polarity(text: str) -> list[str]:
    """`+`/`-` for each negated evaluative word, in order: "一点也不差" → ["-"]."""
    pattern, signs = _polarity_matcher()
    out = []
    for m in pattern.finditer(text):
        start = m.start()
        # a degree word may sit between: 不是很好, 不太满意, 没那么差
        before = _degree_tail().search(text, max(0, start - 3), start)
        if before is not None:
            start = before.start()
        # "值不值得", "好不好": a question, not a negation
        choice = start >= 2 and text[start - 1] == "不" and text[start - 2] == m.group()[0]
        if not choice and is_negated(text, start):
            out.append(signs[m.group()])
    return out


@cache
def _degree_tail() -> re.Pattern:
    return re.compile(f"(?:{trie_regex([*DEGREE, '那么', '这么', '怎么', '太'])})$")


def find_terms(text: str, terms: Iterable[str]) -> list[str]:
    """Terms (from `terms`) present in the text and not negated."""
    wanted = set(terms)
    return list(
        dict.fromkeys(h.term for h in match(text).hits if h.term in wanted and not h.negated)
    )


def categories_in(text: str) -> list[str]:
    """Categories whose problem terms appear, not negated ("没有异物" is not safety)."""
    return match(text).codes(PROBLEM)


@cache
def _hint_matcher() -> tuple[re.Pattern, dict[str, list[str]]]:
    codes: dict[str, list[str]] = {}
    for hints in (CATEGORY_HINTS, SIGNAL_HINTS):
        for code, words in hints.items():
            for w in words:
                codes.setdefault(w, []).append(code)
    return re.compile(trie_regex(codes)), codes


def hinted_codes(text: str, protected: re.Pattern | None = None) -> set[str]:
    """Category and signal codes the everyday hints (CATEGORY_HINTS, SIGNAL_HINTS) name in a
    text: not negated or hedged ("没有多收"), not inside a protected brand name."""
    pattern, codes = _hint_matcher()
    spans = [m.span() for m in protected.finditer(text)] if protected is not None else []
    found: set[str] = set()
    for m in pattern.finditer(text):
        start, end = m.span()
        if any(a <= start and end <= b for a, b in spans) or is_cancelled(text, start, end):
            continue
        found.update(codes[m.group()])
    return found


def signals_in(text: str) -> list[str]:
    """Escalation signals present, not negated."""
    return match(text).codes(SIGNAL)


def protected_words(words: Iterable[str]) -> list[str]:
    """The words `protected_pattern` protects, sorted (the pattern does not depend on their
    order). A search phrase made of another of the words and a term (the keyword 沐沐质量问题
    = 沐沐 + 质量问题) is no name: protecting it would hide the very problem it searches for."""
    words = [w for w in dict.fromkeys(words) if w]
    return sorted(w for w in words if not _search_phrase(w, words))


def protected_pattern(words: Iterable[str]) -> re.Pattern | None:
    """A pattern of protected words (brand names) inside which lexicon terms are ignored."""
    kept = protected_words(words)
    return re.compile(trie_regex(kept)) if kept else None


def _search_phrase(word: str, words: list[str]) -> bool:
    pattern, roles = _matcher()
    for other in words:
        if other != word and other in word:
            rest = word.replace(other, " ")
            if any(roles[m.group()] for m in pattern.finditer(rest)):
                return True
    return False


def all_terms() -> list[str]:
    """Every lexicon term (for jieba's user dictionary)."""
    return list(_roles())
