"""A small phrase bank for posts that read like real Weibo / WeChat traffic about a brand.

Templates are hand-written in the style of real Weibo complaints and chatter (hashtags,
emoticons such as `[怒]`, `//@` repost chains, `t.cn` links, 12315 / 黑猫投诉 mentions), by
industry (dairy, auto, delivery, generic: chosen from the brand's name and keywords),
plus a few hundred real review lines (`samples.txt`, see `simulator/calibrate.py`) with
the brand written in. Placeholders: {b} a brand term, {p} a product, {n} a number,
{h} hours, {m} money, {city}, {link}, {emo} an emoticon.
"""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent

CITIES = (
    "北京",
    "上海",
    "广州",
    "深圳",
    "杭州",
    "成都",
    "武汉",
    "南京",
    "西安",
    "重庆",
    "长沙",
    "郑州",
)
NEG_EMO = ("[怒]", "[泪]", "[抓狂]", "[衰]", "[生病]", "[怒骂]", "[允悲]", "[晕]", "[吐]", "")
POS_EMO = ("[赞]", "[哈哈]", "[心]", "[good]", "[嘻嘻]", "[太开心]", "[doge]", "")
NEUTRAL_EMO = ("[doge]", "[吃瓜]", "[思考]", "[允悲]", "")

INDUSTRY_WORDS = {
    "dairy": ("奶粉", "乳", "牛奶", "奶", "母婴", "婴儿"),
    "auto": ("汽车", "EV", "车", "S7", "X5", "电动"),
    "delivery": ("外卖", "快鲜", "餐", "配送", "美食"),
}

COMPLAINTS = {
    "dairy": {
        "safety": (
            "刚给宝宝冲的{p}里发现黑色异物！！宝宝喝完就拉肚子，{b}必须给个说法{emo}",
            "宝宝喝了{b}之后全身起红疹，医生说是过敏，已经{n}天了，客服只会说记录一下{emo}",
            "{b}罐子里有虫子！批号照片都拍了，打了12315，坐等处理 {link}",
            "#{b}质量问题# 一段奶粉冲开有结块还有股怪味，孩子喝了吐了两次，这是给婴儿吃的东西吗{emo}",
        ),
        "quality": (
            "{b}这批次的{p}明显跟以前不一样，颜色发黄味道也不对，不敢给孩子喝了",
            "新买的{p}胀罐了，{b}客服说正常现象？？{emo}",
        ),
        "service": (
            "{b}客服踢皮球，问题反映{n}次了没人管，投诉无门{emo}",
            "联系{b}官方三天了没人回复，这就是大品牌的态度？@{b}官方微博",
        ),
        "refund": (
            "{b}质量有问题申请退货，拖了{n}天还不给退款{emo} 已经去黑猫投诉了",
            "在{b}旗舰店买的{p}，退款申请被驳回{n}次，理由都不给一个{emo}",
        ),
        "fake": (
            "{b}宣传的进口奶源根本是虚假宣传，配料表写得清清楚楚{emo}",
            "怀疑买到假{b}了，防伪码扫出来显示已被查询{n}次{emo}",
        ),
    },
    "auto": {
        "safety": (
            "高速上{b}突然刹车失灵，差点出大事，4S店说检测正常？？{emo} #{b}维权#",
            "{p}停在车库里自燃了！！{b}到现在没有任何解释{emo} {link}",
            "开了{n}千公里{p}方向盘异响、底盘断轴，{b}请给车主一个交代{emo}",
        ),
        "quality": (
            "{p}续航虚标严重，标{n}00公里实际跑一半就没电了{emo}",
            "提车不到一个月，{b}车机死机{n}次，倒车影像黑屏{emo}",
        ),
        "service": (
            "{b}4S店态度太差，维修等了{n}天配件还没到{emo}",
            "打{b}售后电话{n}次都转人工失败，就这服务？",
        ),
        "refund": (
            "{b}定金说好可退，现在不退了，{m}块钱就这么没了？{emo}",
            "要求{b}退车，被各种理由拖着，已经向12315投诉",
        ),
        "price": ("刚提的{p}第二天降价{m}，{b}背刺老车主{emo}",),
    },
    "delivery": {
        "safety": (
            "{b}点的餐里吃出头发和虫子！！全家拉肚子{emo} 已经拨打12315",
            "在{b}点外卖吃完食物中毒进了医院，平台只赔{m}块{emo}",
        ),
        "service": (
            "{b}骑手态度极差，送错了还骂人{emo}",
            "{b}客服永远是机器人，转人工要等{n}分钟{emo}",
        ),
        "delay": (
            "{b}配送超时{h}小时，饭都凉透了，差评{emo}",
            "在{b}下单{h}个小时了还没送到，电话也打不通{emo}",
        ),
        "refund": ("{b}少送一份，申请退款被拒，{m}块钱不是钱吗{emo}",),
        "price": ("同一家店{b}上比别的平台贵{m}块，大数据杀熟实锤{emo}",),
    },
    "generic": {
        "service": (
            "{b}的客服态度太差了，问了{n}次都不回{emo}",
            "#{b}投诉# 找客服{n}次，一直踢皮球，已经在黑猫投诉登记了",
        ),
        "refund": (
            "{b}自动续费乱扣钱，申请退款{n}天了没结果{emo}",
            "买的{b}收到就是坏的，申请退款还不给退{emo}",
        ),
        "quality": ("{b}的东西用了不到{n}天就坏了，质量太差{emo}",),
        "fake": ("{b}虚假宣传，实物和描述完全不符{emo} 避雷！",),
    },
}

INCIDENTS = {
    "dairy": (
        "【求转发】{b}一段奶粉里喝出异物！宝宝喝完过敏起疹子，送医急诊，客服一直推诿，"
        "已经打了12315投诉，希望媒体曝光！[怒][泪] 批号照片见图 {link}"
    ),
    "auto": (
        "【求扩散】{b}{p}行驶中刹车失灵撞上护栏，一家三口险些丧命，厂家拒不承认质量问题，"
        "已向12315和市场监管局投诉，请媒体曝光！[怒] 行车记录仪视频 {link}"
    ),
    "delivery": (
        "【求转发】在{b}点的外卖吃出死老鼠！！全家食物中毒送医，平台只肯赔{m}元，"
        "已经报警并投诉12315，希望媒体曝光这种黑心商家[怒][吐] {link}"
    ),
    "generic": (
        "【求转发】{b}产品出了严重安全问题，家人受伤住院，客服一直推诿不处理，"
        "已经打了12315投诉，希望媒体曝光！[怒][泪] {link}"
    ),
}

POSITIVE = {
    "dairy": (
        "宝宝一直喝{p}，不上火不便秘，{b}真心推荐{emo}",
        "{b}的{p}冲调很方便，宝宝很爱喝{emo}",
    ),
    "auto": (
        "提了{p}！{b}的智能驾驶体验真不错{emo}",
        "{p}开了{n}千公里，能耗比想象的低，{b}靠谱{emo}",
    ),
    "delivery": (
        "{b}这次送得超快，{n}分钟就到了{emo}",
        "{b}新人红包真香，省了{m}块{emo}",
    ),
    "generic": (
        "刚买的{b}真不错，推荐给大家{emo}",
        "用了一个月{b}，体验很好，会回购{emo}",
        "今天{b}有活动，价格很实惠&服务也好{emo}",
        "給朋友推薦了{b}，她說很喜歡{emo}",
    ),
}

NEUTRAL = (
    "有人用过{b}吗？想了解一下 #{b}#",
    "{b}和别家比怎么样？求推荐{emo}",
    "看到{b}的广告了 {link}",
    "{city}新开了一家{b}的体验店，周末去看看{emo}",
    "#{b}# 今天的热搜又是它{emo}",
    "转发抽奖：关注@{b}官方微博 并转发本条，抽{n}位送{p}",
    "{b}发布了新的{p}，有没有懂行的说说{emo}",
)

REPOSTS = (
    "转发微博",
    "太可怕了[怒]",
    "支持维权！",
    "心疼宝宝[泪]",
    "求官方回应",
    "避雷了",
    "已转，希望早日解决",
    "这也太离谱了吧",
    "帮扩[怒]",
    "@{b}官方微博 出来回应",
    "",
    "转发微博 #{b}回应#",
    "不是第一次了",
    "真的假的？坐等后续[吃瓜]",
)

COMMENTS = (
    "同样遇到过！",
    "已经拉黑这个牌子了",
    "坐等官方回应",
    "楼主加油，支持维权",
    "真的假的？",
    "建议直接打12315",
    "心疼",
    "我家也是这个批次的，吓死了",
    "[怒][怒][怒]",
    "水军吧",
    "可以找媒体曝光",
    "顶上去",
)

WECHAT_TITLES = {
    "negative": ("关于{b}近期投诉的调查", "{b}陷质量风波：消费者投诉激增", "揭秘{b}售后乱象"),
    "positive": ("{b}深度测评：值不值得买？", "{b}官方发布新品{p}", "我们试了{b}的{p}，结论是……"),
}

NICK_A = (
    "小",
    "大",
    "老",
    "阿",
    "一只",
    "爱吃",
    "不吃",
    "会飞的",
    "努力的",
    "快乐",
    "佛系",
    "momo",
)
NICK_B = (
    "鱼",
    "猫",
    "橙子",
    "土豆",
    "可乐",
    "月亮",
    "兔子",
    "芒果",
    "包子",
    "星星",
    "奶茶",
    "柚子",
    "豆豆",
    "团子",
    "喵",
    "狐狸",
)
NICK_C = (
    "酱",
    "呀",
    "_",
    "2018",
    "今天也要加油",
    "的日常",
    "不吃香菜",
    "丶",
    "吖",
    "99",
    "妈妈",
    "",
)
MEDIA = ("{city}日报", "{city}晚报", "消费者观察", "{city}新闻", "财经看点", "维权在线", "晨间播报")
KOL = ("育儿大V{c}", "汽车测评{c}", "吃货{c}", "生活家{c}", "科技{c}")


@cache
def real_samples() -> dict[tuple[str, int], tuple[str, ...]]:
    """(industry, label) → real review lines (samples.txt)."""
    out: dict[tuple[str, int], list[str]] = {}
    path = HERE / "samples.txt"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or line.count("\t") < 2:
                continue
            industry, label, text = line.split("\t", 2)
            out.setdefault((industry, int(label)), []).append(text)
    return {k: tuple(v) for k, v in out.items()}


def industry_of(name: str, words: list[str]) -> str:
    text = " ".join([name, *words])
    for industry, markers in INDUSTRY_WORDS.items():
        if any(m in text for m in markers):
            return industry
    return "generic"


def fill(
    template: str, rng: random.Random, brand_term: str, product: str, emo: tuple = NEG_EMO
) -> str:
    return template.format(
        b=brand_term,
        p=product,
        n=rng.randint(2, 12),
        h=rng.choice((1, 2, "一个半", "两")),
        m=rng.choice((20, 35, 50, 200, 500, 2000, 5000)),
        city=rng.choice(CITIES),
        link=f"http://t.cn/A6{''.join(rng.choice('abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789') for _ in range(5))}",
        emo=rng.choice(emo),
    )


def complaint_text(rng: random.Random, industry: str, brand_term: str, product: str):
    """(text, category) of an ordinary complaint; sometimes a real review line."""
    real = real_samples().get((industry, 0))
    if real and rng.random() < 0.35:
        line = rng.choice(real)
        if "蒙牛" in line:
            line = line.replace("蒙牛", brand_term)
        else:
            line = rng.choice(
                ("#{b}# {t}", "@{b}官方微博 {t}", "{b}，{t}", "{t} 吐槽一下{b}")
            ).format(b=brand_term, t=line)
        return line, "review"
    bank = COMPLAINTS.get(industry, COMPLAINTS["generic"])
    category = rng.choice(sorted(bank))
    return fill(rng.choice(bank[category]), rng, brand_term, product), category


def positive_text(rng: random.Random, industry: str, brand_term: str, product: str) -> str:
    real = real_samples().get((industry, 1))
    if real and rng.random() < 0.3:
        line = rng.choice(real)
        return line.replace("蒙牛", brand_term) if "蒙牛" in line else f"{brand_term}，{line}"
    bank = POSITIVE.get(industry, ()) + POSITIVE["generic"]
    return fill(rng.choice(bank), rng, brand_term, product, POS_EMO)


def neutral_text(rng: random.Random, brand_term: str, product: str) -> str:
    return fill(rng.choice(NEUTRAL), rng, brand_term, product, NEUTRAL_EMO)


def incident_text(rng: random.Random, industry: str, brand_term: str, product: str) -> str:
    return fill(INCIDENTS.get(industry, INCIDENTS["generic"]), rng, brand_term, product)


def repost_text(rng: random.Random, brand_term: str) -> str:
    return rng.choice(REPOSTS).format(b=brand_term)


def comment_text(rng: random.Random) -> str:
    return rng.choice(COMMENTS)


def nickname(rng: random.Random, kind: str = "person") -> str:
    if kind == "media":
        return rng.choice(MEDIA).format(city=rng.choice(CITIES))
    if kind == "kol":
        return rng.choice(KOL).format(c=rng.choice(("小王", "阿June", "老张", "Lily", "日记")))
    return rng.choice(NICK_A) + rng.choice(NICK_B) + rng.choice(NICK_C)
