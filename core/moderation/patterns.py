"""Violations as constructions, not words (R1.3.3, R4.2.3, R8.1.1, R8.1.2).

The lexicons catch listed words; people insult, discriminate, pitch and offer unlawful services
in sentences that hold none of them. Each rule here is a pattern over normalised text (lower
case, Simplified Chinese, ASCII punctuation: normalise.py), with its category, a name and a
score (how sure the rule is, 0..1):

- insult: an insult construction aimed at the person addressed or at the trainer — a
  rhetorical question about their brain or ability ("你是不是没长脑子", "are you even capable of
  reading?"), a judgement of a person ("这讲师水平烂到家了", "the trainer is a total fraud").
  A judgement of a thing ("这个 VPN 烂到家了") or of oneself ("我真笨") is not an insult.
- discrimination: a generalisation that attaches a negative judgement or an exclusion to a
  protected group — gender, region or hukou, age, ethnicity or nationality, religion,
  disability, marital, pregnancy or parental status, sexual orientation ("外地人素质就是低",
  "年纪大的学不会新东西", "people from X are all lazy", "don't hire anyone over 45").
- ads: pitches phrased as offers of money, jobs, goods and services, scams ("earn $500 a day",
  "兼职日赚300", "you've been selected for a gift card").
- illegal: unlawful goods and services offered ("代开发票", "I can make you a diploma").

Talk about such statements is not such a statement: an insult or discrimination pattern inside
quotation marks, or in a message that names the statement as an example, a case, a bias or a
complaint to handle ("案例里主管骂员工…", "unconscious bias: assuming older staff can't…"), is
dropped; so are illegal offers in a message that warns against them ("…合法吗", "scam").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.moderation.verdict import Hit


@dataclass(frozen=True)
class Rule:
    category: str
    name: str
    regex: re.Pattern[str]
    score: float


def _rules(category: str, table: list[tuple[str, str, float]]) -> list[Rule]:
    return [Rule(category, name, re.compile(rx.replace("'", "['’]"), re.S), score)
            for name, rx, score in table]


# -------------------------------------------------------------------------------------- groups
# Protected groups (discrimination): Chinese and English names as people write them.
_REGION_ZH = ("(?:越南|菲律宾|印度|印尼|泰国|缅甸|朝鲜|韩国|日本|美国|非洲|俄罗斯|巴基斯坦|阿拉伯|"
              "河南|河北|山东|山西|东北|西北|江西|湖南|湖北|四川|重庆|安徽|江苏|浙江|福建|广东|广西|"
              "贵州|云南|甘肃|新疆|西藏|内蒙|宁夏|青海|海南|上海|北京|天津|陕西|辽宁|吉林|黑龙江|"
              "温州|潮汕|台湾|香港|大陆|南部|北部|中南部|客家|外省|外地|外县市|南方|北方|本地|苏北)")
_GROUP_ZH = (
    "(?:" + _REGION_ZH + "(?:人|佬|来的)"
    "|外地的|外地来的|外省来的|外县市来的|乡下人|乡下来的|农村人|农村来的|小地方来的|山区来的|农民工|"
    "外劳|外籍劳工|新住民|老外|外国人|黑人|白人|黑鬼|少数民族|原住民|维族|回族|藏族|"
    "穆斯林|回民|信教的|基督徒|佛教徒|信佛的|"
    "女的|女人|女生|女孩子|女员工|女同事|女性|妇女|娘们|男的|男人|当妈的|宝妈|妈妈们|单亲妈妈|"
    "怀孕的|孕妇|大肚子|已婚未育的?女?生?|已婚的?|结了?婚的|未婚的|离过婚的|离异的|生过孩子的|"
    "生完小孩的|带孩子的|"
    "年纪大的|上了年纪的|年龄大的|老人|老年人|老员工|老家伙|老同志|中年人|中年大叔|大妈|"
    "(?:三|四|五)十(?:五)?岁以上的?|\\d{2}岁以上的?|老头|"
    "残疾人|残障的|残疾的|身障的?|聋哑人|聋子|哑巴|瞎子|盲人|听障的?|视障的?|瘸子|坐轮椅的|"
    "同性恋|基佬|gay)")
_NEG_ZH = (
    "(?:素质(?:就是|都|太|真|很)?(?:低|差)|没素质|没水准|没见过世面|"
    "(?:都|全)是(?:骗子|小偷|贼|懒|笨|蠢|土|废物|混日子|坏人|疯子|神经病)|"
    "(?:就是|都|天生|全都|都很|太|很|就)+(?:懒|笨|蠢|土|脏|差|不行|没用|小气|危险|恶心|油腻|爱喝酒|"
    "爱吹牛|耍心眼|不靠谱|不可靠|跟不上|靠不住|没脑子|低人一等)|"
    "算不好|做不好|干不好|学不好|学不会|学不来|教不会|干不了|做不了|做不来|干不来|不适合|不配|拖累|拖后腿|拖进度|跟不上|"
    "不靠谱|不可靠|没用|事多|事儿多|心思都不在|(?:脑子|脑袋)(?:就是|都)?不灵光|(?:脑子|脑袋)(?:都|就是)?有问题|"
    "就该(?:滚|回|退休|淘汰|待在家|在家)|都该(?:淘汰|滚|退休)|该淘汰|早该清退|滚回|"
    "就别来|别来(?:培训|上课)|不要来|别招|不能招|不要招|绝对不能(?:招|录取)|不能录取|别让他们|"
    "别分到|不要分到|不要给(?:她|他)们|别给(?:她|他)们|排班别排|别排|"
    "不应该当|不配当|当不了|是病|危险|小偷|骗子|九头鸟|佔着位子|占着位子|耍心眼|吹牛|小气|"
    "油腻|恶心|没法沟通|抢饭碗|偷)")
_GROUP_EN = (
    r"(?:women|woman|girls|females|ladies|men|moms|mums|mothers|single mothers|single moms|"
    r"married women(?: with (?:kids|children))?|pregnant women|pregnant (?:staff|employees|people)|"
    r"old (?:people|guys|folks|staff|ones)|older (?:people|staff|employees|workers|ones|guys)|"
    r"the old(?:er)? ones|old timers|boomers|anyone over \d+|people over \d+|"
    r"(?:people|guys|folks|anyone|those) from (?:the )?[a-z][a-z ]{1,20}?|"
    r"immigrants|foreigners|those foreigners|migrants|refugees|locals|"
    r"muslims|jews|christians|hindus|buddhists|atheists|catholics|"
    r"indians|asians|africans|mexicans|chinese people|black people|blacks|white people|"
    r"arabs|latinos|russians|filipinos|"
    r"gay (?:guys|men|people)|gays|lesbians|trans people|"
    r"disabled people|the disabled|blind people|deaf people|people in wheelchairs|"
    r"guys in wheelchairs|cripples)")
_NEG_EN = (
    r"(?:(?:are|r) (?:all |just |so |too |always |naturally )*(?:lazy|stupid|dumb|useless|thieves|"
    r"cheaters|liars|scammers|dirty|backward|robots|unreliable|uneducated|brainwashed|criminals|"
    r"slow|inferior|animals|savages|terrorists|dinosaurs|too emotional|bad at|not good at|"
    r"worthless|a burden|incompetent|ruining)|"
    r"(?:just |simply )?(?:can't|cannot|can not|aren't able to|are unable to) "
    r"(?:learn|do|handle|code|lead|adapt|think|be trusted)|"
    r"(?:just )?(?:aren't|are not) (?:good|smart|capable|fit)|"
    r"(?:shouldn't|should not|must not) be (?:allowed|hired|promoted|in|managers|leads|team leads|"
    r"sales managers)|"
    r"(?:shouldn't|should not) (?:lead|work|be)|belong (?:at home|in the kitchen)|"
    r"have no place|only care about money|all steal|steal|are ruining|slow down|"
    r"don't take (?:their|the) (?:careers?|work|job)|should (?:retire|go back)|"
    r"are (?:all )?(?:the same|a problem)|are useless|is a dinosaur|are dinosaurs)")

# ----------------------------------------------------------------------------------- insult
# Who an insult is aimed at: the person addressed, the trainer, a named or pointed-at person.
_YOU_ZH = "(?:你|妳|您)"
_TRAINER_ZH = "(?:讲师|老师|培训师|导师|讲课的|这老师|这讲师|这个讲师|这个老师|这培训师|这种人|这人|这家伙|这货)"
_INSULT_ZH = _rules("insult", [
    ("brain question",
     _YOU_ZH + r"(?:是不是|有没有|能不能|就不能|可不可以)?(?:没长|长点|长点儿)(?:脑子|脑袋|脑|心)", 0.9),
    ("brain question",
     _YOU_ZH + r"(?:有没有|还有没有)(?:脑子|脑袋|大脑)(?:啊|呀|吗|\?|!|,|$)", 0.9),
    ("brain judgement",
     r"(?:" + _YOU_ZH + "|" + _TRAINER_ZH + r").{0,8}(?:脑子|脑袋|头壳|头脑|大脑)"
     r"(?:里装的都是|装的都是|被门夹|被驴踢|进水|有问题|有洞|坏掉|坏了|是不是有|有坑|秀逗)", 0.9),
    ("brain judgement", _YOU_ZH + r"这?脑子还是别", 0.8),
    ("intelligence", r"(?:就你这|你这|你的|看你这)(?:智商|水平|程度|德性|熊样|样子|那熊样)", 0.8),
    ("intelligence", r"智商(?:是)?(?:负数|负的|欠费|为零|捉急)", 0.9),
    ("rhetorical question",
     _YOU_ZH + r"(?:算什么东西|算哪根葱|算老几|是来搞笑的吗|是猪吗|是不是猪|是不是傻|是不是弱智|"
     r"是不是智障|是不是有病|是不是蠢|是不是笨|是不是有毛病|这人是不是有(?:病|毛病)|听不懂人话|是听不懂人话|"
     r"怎么(?:这么|蠢|笨|傻)|咋这么(?:蠢|笨|傻)|能不能长点)", 0.9),
    ("second-person judgement",
     _YOU_ZH + r"(?:就是|真是|这个|这种|个|是个|简直是|根本是|就是个|真是个|这)?"
     r"(?:蠢货|蠢猪|蠢材|饭桶|草包|废柴|小丑|猪队友|马屁精|没用的东西|拖后腿的|扯后腿的|"
     r"笨蛋|傻子|傻瓜|白痴|窝囊废|丢人现眼)", 0.9),
    ("second-person judgement",
     _YOU_ZH + r"(?:这么|那么|真|太|好)?(?:蠢|笨)(?:成这样|到家|到极点|死了|得要命|就别|就不要|还来)", 0.9),
    ("second-person judgement", r"(?:蠢|笨)到(?:家|极点)了?(?:,|!|$)", 0.7),
    ("second-person judgement", r"(?<!我)怎么(?:这么|那么)(?:蠢|笨)", 0.75),
    ("trainer judgement", r"(?:讲师|老师|培训师)是不是(?:傻|蠢|笨|脑子)", 0.8),
    ("trainer judgement",
     _TRAINER_ZH + r"(?:的)?(?:水平|程度|能力)?(?:就是|简直|根本|也就|真是|真的)?(?:是|就是)?[个块]?"
     r"(?:烂到家|烂透|烂到不行|低得可怜|低到可怜|差到家|垃圾|草包|饭桶|骗子|废柴|木头|"
     r"混饭吃|不配|小丑|笑话|傻|脑子有问题|头壳坏掉)", 0.85),
    ("trainer judgement",
     r"(?:这种|这样的)人(?:也能|还能|也配|也)当(?:讲师|老师|组长|主管)", 0.85),
    ("trainer judgement", r"(?:垃圾|草包|废物)(?:讲师|老师|培训师)", 0.9),
    ("trainer judgement", r"讲(?:得|的)?(?:跟|像)(?:屎|狗屎|一坨)", 0.85),
    ("trainer judgement", r"不配站在(?:讲台|台)上", 0.85),
    ("dismissal",
     r"(?:闭上你的臭嘴|闭嘴吧你|闭嘴啦你|你给我闭嘴|滚出(?:这个|本)?群|别丢人现眼|"
     r"就别丢人|别在这丢人|就不要丢脸|不要丢脸了|回家吧你|去你的|少在那边装懂|看你那熊样)", 0.85),
    ("dismissal", r"(?:长得丑就算了|又丑又笨|丑人多作怪)", 0.85),
])
_TRAINER_EN = (r"(?:trainer|instructor|facilitator|teacher|tutor|coach|presenter|lecturer|"
               r"this guy|that guy|this woman|that woman|he|she|[a-z]+)")
_PERSON_NOUN_EN = (r"(?:clown|idiot|moron|muppet|joke|loser|fraud|hack|imbecile|disgrace|"
                   r"parrot|slob|buffoon|halfwit|nitwit|dimwit|simpleton|numpty|donkey|fool|"
                   r"waste of (?:space|oxygen|air)|embarrassment)")
_INSULT_ADJ_EN = (r"(?:stupid|dumb|thick|useless|pathetic|worthless|clueless|incompetent|brainless|"
                  r"brain-?dead|lazy|slow|retarded|idiotic|moronic|hopeless|dense|daft|clueless)")
_INSULT_EN = _rules("insult", [
    ("ability question",
     r"\b(?:are|r) (?:you|u) (?:even |really |actually )?(?:capable of|able to) "
     r"(?:read(?:ing)?|think(?:ing)?|understand(?:ing)?|follow(?:ing)? (?:simple )?instructions|"
     r"learn(?:ing)?|count(?:ing)?)\b", 0.85),
    ("ability question", r"\bcan(?:'t| ?not) (?:you|u) (?:even )?read\b\??", 0.8),
    ("ability question", r"\bcan (?:you|u) not (?:even )?read\b", 0.8),
    ("ability question",
     r"\b(?:are|r) (?:you|u) (?:stupid|dumb|mentally|brain-?dead|thick|slow|blind|deaf)\b"
     r"(?! to)", 0.85),
    ("ability question", r"\bdo (?:you|u) (?:even )?have a brain\b", 0.9),
    ("ability question", r"\bdo (?:you|u) ever think before\b", 0.85),
    ("ability question", r"\b(?:is there|anything) (?:anything )?in that (?:empty |thick )?head\b",
     0.9),
    ("ability question", r"\bwhat is wrong with (?:you|u)\b", 0.7),
    ("ability question", r"\bdid your (?:mum|mom|mother) drop (?:you|u)\b", 0.9),
    ("ability question", r"\bdid (?:you|u) sleep through school\b", 0.85),
    ("ability question", r"\bare (?:you|u) (?:really|always) this (?:slow|stupid|dumb|thick)\b", 0.85),
    ("second-person judgement",
     r"\b(?:you're|youre|you are|ur|u r|you)\s+(?:such |so |a |an |the |just |really |completely |"
     r"totally |absolutely |a total |a complete |an absolute |too |as )*"
     r"(?:" + _INSULT_ADJ_EN + r"|" + _PERSON_NOUN_EN + r")\b", 0.85),
    ("second-person judgement",
     r"\b(?:you're|you are|you must be) the (?:dumbest|stupidest|worst|laziest|most useless)\b", 0.9),
    ("second-person judgement", r"\bwhy are (?:you|u) so (?:useless|stupid|dumb|slow|lazy)\b", 0.9),
    ("second-person judgement", r"\b(?:your|ur) brain (?:must be|is) (?:the size|smaller)\b", 0.9),
    ("second-person judgement", r"\bthe iq of a\b", 0.9),
    ("second-person judgement", r"\bas (?:dumb|stupid|thick) as (?:you|u) look\b", 0.9),
    ("second-person judgement", r"\byour (?:idiotic|stupid|moronic|dumb) (?:comments?|questions?|ideas?)\b",
     0.8),
    ("second-person judgement", r"\bmaking everyone (?:dumber|stupider)\b", 0.85),
    ("second-person judgement", r"\bhalf a brain\b", 0.8),
    ("second-person judgement", r"\bhow did (?:you|u) (?:even )?get hired\b", 0.8),
    ("trainer judgement",
     r"\b" + _TRAINER_EN + r"(?:'s| is| was)\s+(?:such |a |an |just |clearly |really |completely |"
     r"totally |absolutely |a total |a complete |an absolute |a fucking |a bloody |fucking )*"
     r"(?:(?:" + _INSULT_ADJ_EN + r"|braindead|lazy) )*" + _PERSON_NOUN_EN + r"\b", 0.85),
    ("trainer judgement",
     r"\b(?:trainer|instructor|facilitator|teacher|lecturer)(?:'s| is) (?:completely |totally |"
     r"clearly |so |just )*(?:incompetent|useless|clueless|hopeless|an? (?:complete |total )?"
     r"(?:imbecile|idiot|moron|fraud|hack))\b", 0.9),
    ("trainer judgement", r"\bworst (?:trainer|instructor|teacher)\b", 0.7),
    ("trainer judgement", r"\bhas no idea what (?:he|she|they)(?:'s| is| are) talking about\b", 0.75),
    ("trainer judgement", r"\bwho hired this (?:clown|idiot|moron|joke)\b", 0.9),
    ("trainer judgement", r"\ba joke of a (?:trainer|teacher|instructor)\b", 0.9),
    ("dismissal", r"\b(?:nobody cares about your|shut it|get lost|sit down,? clown|go back to school)\b",
     0.75),
    ("dismissal", r"\bkeep your (?:idiotic|stupid|dumb) \w+ to yourself\b", 0.85),
])

_DISCRIMINATION = _rules("discrimination", [
    ("generalisation about a group",
     _GROUP_ZH + r"(?:都|也|就|全)?(?:是|就是|都是|天生|真|太|很|就该|都该|全都|一个个)?.{0,6}?" + _NEG_ZH,
     0.85),
    ("exclusion of a group", r"(?:别|不要|不能|绝对不能|不准)(?:招|录取|让|给)" + r".{0,3}" + _GROUP_ZH, 0.85),
    ("generalisation about a group",
     r"\b" + _GROUP_EN + r"(?: are| r)?(?: all| just| always| simply| really| naturally)? " + _NEG_EN,
     0.85),
    ("generalisation about a group",
     r"\b" + _GROUP_EN + r",? (?:they're|they are|theyre) (?:all |just |so |too )*"
     r"(?:lazy|stupid|dumb|useless|thieves|cheaters|liars|dirty|slow|unreliable|criminals|"
     r"scammers|dinosaurs)", 0.85),
    ("exclusion of a group",
     r"\b(?:don't|do not|never|won't|shouldn't) (?:hire|promote|trust|bother teaching|put|schedule|"
     r"give)\b.{0,12}\b" + _GROUP_EN + r"\b", 0.8),
    ("exclusion of a group", r"\bgo back to (?:your|their) (?:country|village)\b", 0.85),
    ("exclusion of a group", r"\b(?:is|are) a dinosaur and should retire\b", 0.85),
    ("exclusion of a group", r"\b" + _GROUP_EN + r" (?:is|are) useless (?:for|after|at)\b", 0.85),
    ("exclusion of a group", r"\bpush them out\b", 0.6),
])

# -------------------------------------------------------------------------------------- ads
_ADS = _rules("ads", [
    ("income pitch", r"(?:日赚|日入|月入|月赚|周赚|日结|一单\d+|佣金日结|收益可观|零门槛|年化\d+%)", 0.85),
    ("income pitch", r"(?:兼职|代理)(?:招聘|招募)|(?:招募|招)代理|宝妈兼职|在家(?:动动手指|兼职)", 0.85),
    ("income pitch", r"(?:当自己的老板|被动收入|直销好机会|直销|安利产品|刷好评)", 0.8),
    ("income pitch", r"(?:投资|理财)(?:项目|案|群).{0,12}(?:保本|年化|收益|私聊|私讯|了解)", 0.85),
    ("income pitch", r"(?:带(?:大家)?操作|荐股|送牛股|报明牌|免费送.{0,2}股|炒股的朋友|玩股票的)", 0.85),
    ("income pitch", r"(?:\d+块|\d+元|一百)变(?:\d+|一)万", 0.85),
    ("sales pitch",
     r"(?:同事价|同事优惠|报我(?:的)?名字|价格(?:美丽|漂亮|好商量|好谈|好说)|便宜(?:出|卖|分享)|"
     r"出二手|开卖了|上市了.{0,12}(?:包邮|免运|要的|需要)|包邮|免运|捧个?场|帮忙捧场|大家捧场|"
     r"欢迎下单|有要的吗|要的(?:找我|跟我说|联系|私)|需要的(?:找我|联系|私)|有需要(?:的)?(?:找我|联系|私)|"
     r"想了解的私|有兴趣私|办卡优惠|团购价|团长|最低价|优惠码[a-z0-9]|折扣码[a-z0-9]|"
     r"用我的(?:邀请|推荐|优惠|折扣)|邀请链接注册|注册送\d+|新用户(?:专享|限定)|免费(?:学习)?资料.{0,6}红包|"
     r"进群(?:看|领)|我在卖|我开了.{0,6}(?:店|卖场)|卖场|淘宝店|卖会员|账号.{0,4}便宜|"
     r"直播课|关注我的公众号|办宽带)", 0.8),
    ("sales pitch", r"(?:需要|要办|有要).{0,6}(?:保险|贷款|宽带|教材).{0,4}(?:找我|联系|私)", 0.8),
    ("sales pitch", r"(?:小额|无抵押)(?:贷款|借款)|当天(?:放款|拨款)|免保人", 0.85),
    ("sales pitch", r"(?:包过|代写|代做).{0,12}(?:私|价格|需要|找我|都有)", 0.8),
    ("sales pitch", r"(?:打|享)(?:[1-9]|[一二三四五六七八九])折(?!扣)", 0.55),
    ("income pitch (en)",
     r"\b(?:earn|make|making|get paid|paying|paid)\b.{0,25}\$\s?\d[\d,]*k?\s*(?:/\s*|a |an |per )"
     r"(?:day|week|month|hour|survey|signup|sign-up)\b", 0.9),
    ("income pitch (en)", r"\$\d[\d,]*k?\s*(?:/|a |per )day\b", 0.85),
    ("income pitch (en)",
     r"\b(?:side hustle|extra cash|be your own boss|business opportunity|make money|mlm|"
     r"quit (?:my|your) 9-?5|tired of your 9-?5|mentorship program|passive income|get rich)\b", 0.85),
    ("income pitch (en)",
     r"\b(?:crypto|bitcoin|forex|trading|investment)\b.{0,40}\b(?:10x|double|guaranteed|win rate|"
     r"vip|spots? left|masterclass|portfolio|minimum \$|deck|group)\b", 0.8),
    ("income pitch (en)", r"\bturn \$\d+ into \$", 0.9),
    ("income pitch (en)", r"\b(?:i'm|i am|we're|we are) (?:recruiting|hiring) (?:for my|brand ambassadors)", 0.85),
    ("income pitch (en)", r"\b(?:join|joining) my (?:team|group|vip|mlm|channel|program|network)\b", 0.8),
    ("income pitch (en)", r"\bcommission on every sale\b", 0.85),
    ("scam", r"\b(?:giveaway|airdrop|you've been selected|you have been selected|claim (?:it |yours )?(?:at|here|now)|"
             r"connect your wallet|parcel is on hold|pay the \$)", 0.9),
    ("sales pitch (en)",
     r"\b(?:dm|pm|message|text|hit|contact|whatsapp|call) me\b.{0,40}\b(?:price|prices|order|dates|"
     r"details|deck|cheap|join|book)\b", 0.8),
    ("sales pitch (en)",
     r"\b(?:selling|i sell|i'm selling|sell)\b.{0,40}\b(?:cheap|\$\d|prices?|or best offer|"
     r"dm|pm|message me|hit me up|face value|catalogue|for \$)", 0.8),
    ("sales pitch (en)",
     r"\b(?:\d+% off|buy 1 get 1|first (?:session|one|lesson|class) (?:is )?free|use (?:my )?code "
     r"[a-z0-9]+ for|referral link|my (?:etsy|online|new)? ?(?:shop|store|boutique|channel|website)|"
     r"follow and buy|smash that subscribe|order now|while stock lasts|doctors hate)\b", 0.75),
    ("sales pitch (en)", r"\b(?:i sell|we sell|selling) (?:instagram |tiktok )?followers\b", 0.85),
    ("sales pitch (en)", r"\b(?:i run|i do|i offer) (?:a )?[a-z ]{0,30}(?:service|readings|coaching)\b.{0,40}"
                         r"\b(?:off|free|contact|dm|message|book)\b", 0.8),
    ("sales pitch (en)", r"\b(?:check out|watch) my (?:new )?(?:youtube|channel|webinar|shop|side business)\b",
     0.8),
    ("sales pitch (en)", r"\banyone (?:interested in|want to join|want bitcoin)\b.{0,40}"
                         r"\b(?:opportunity|products|team|herbalife|bitcoin)\b", 0.7),
    ("sales pitch (en)", r"\bwho wants bitcoin\b|\bi get agency rates\b|\bcheap (?:flights|adobe|licen[cs]es)\b",
     0.8),
])

# ---------------------------------------------------------------------------------- illegal
_ILLEGAL = _rules("illegal", [
    ("unlawful service",
     r"(?:代开|可开|帮开|买卖|出售|卖)(?:各类|各种|增值税)?发票|发票.{0,3}冲账|买发票|虚开发票"
     r"|办证刻章|办证刻印章|刻章|刻印章|(?:假|伪造)的?(?:学历|证件|证书|病假条|银行流水|存款证明|烟|酒|发票|"
     r"毕业证|驾照|护照)|学信网可查|全国联网可查|代考|替考|包过.{0,4}考|代扣分|驾照分"
     r"|(?:查|调).{0,4}(?:开房|通话|通联)(?:记录|纪录)|查.{0,3}定位|刷征信|洗白.{0,4}(?:逾期|记录)|养号"
     r"|跑分|人头(?:帐户|账户)|收购(?:公司)?(?:客户|人头|银行卡|个资|名单)|"
     r"(?:出售|卖|批量出|收购)(?:实名)?.{0,6}(?:身份证|银行卡|手机卡|电话卡|个资|客户资料|客户名单|"
     r"微信号|line帐号|答案|考题|人脸)"
     r"|(?:不用|免)处方|地下(?:钱庄|汇兑)|不走银行|换汇.{0,6}汇率|赌球|盘口|组头|签运彩|"
     r"大麻|(?:出售|卖)(?:游戏)?外挂|破解(?:版|软件|同事|别人|他人)|破解.{0,6}(?:邮箱|密码)|翻墙梯子|卖梯子|"
     r"(?:进|黑进|骇进).{0,8}(?:系统|服务器|信箱|邮箱).{0,8}(?:看|改|价)|改分数|上门服务|晚上有妹子|"
     r"盗版(?:教材|软件|书)|卖盗版|代办健康证|健康证.{0,4}不用体检|刷流水|帮做.{0,4}流水|"
     r"假烟假酒|(?:收购|出售|卖).{0,4}考试答案|出售考试答案", 0.9),
    ("unlawful service (en)",
     r"\b(?:i can|can|i'll|we can|i) (?:make|get|issue|provide|write|sell|do|unlock|hack|give|"
     r"arrange)\b.{0,30}\b(?:diploma|degree|invoices?|receipts|prescription|visa without|"
     r"fake|counterfeit|references|bank statement|your (?:[a-z]+ ){0,3}training for you|"
     r"into (?:anyone|someone|their|your|the)|exam center|score|answers?)\b", 0.85),
    ("unlawful service (en)",
     r"\b(?:selling|sell|i sell|buying and selling|offering|dm me if you want|anyone need|need a|"
     r"want to (?:see|skip)|got some)\b.{0,40}\b(?:fake|cloned|stolen|counterfeit|pirated|cracked|"
     r"verified (?:linkedin|accounts)|database of|customer emails|exam papers|weed|adderall|"
     r"clean urine|escort|bookie|gun|competitor's emails|doctor's note)\b", 0.85),
    ("unlawful service (en)",
     r"\b(?:hack into|unlocking icloud|icloud-locked|no questions asked|without a prescription|"
     r"without (?:the )?background checks?|launder|bookie|escort services?|"
     r"without the paperwork|cracked, works|exam answers in real time|100% pass|"
     r"before it happens|have a guy who can get into|change your score)\b", 0.85),
])

# ------------------------------------------------------------------------------ talk about it
_QUOTES = re.compile(r"[\"“”「」『』]")
_REPORTED = re.compile(
    r"比如|例如|默认|案例|偏见|歧视|不要说|别说|错误示范|示范|典型|讨论|投诉|客诉|客户说|骂我|骂员工|"
    r"主管说|面试官说|别这样说|不能说|严禁|禁止|不得|"
    r"\be\.g\.|\bexample|\bbias|\bassum|\bdiscuss|\bcase study|\bquiz|\bpolicy|\bnot tolerated|"
    r"\bcustomer (?:called|said)|\bcalled me|\bsaid \"")
_WARNED = re.compile(r"合法吗|不合法|违法|犯法|诈骗|骗局|案例|警惕|防范|举报|识别|\bscam|\bfraud awareness|"
                     r"\bis (?:it )?legal|\bisn't legal|\breport (?:it|them)\b|\bquiz\b")
_ASCII = re.compile(r"[a-z]{2}")
_HAN = re.compile(r"[\u4e00-\u9fff]")


class PatternDetector:
    """Insult, discrimination, ads and illegal constructions (see the module docstring).

    Chinese rules run on the normalised text (Simplified, folded); English rules on the
    original text, case-folded only: normalisation joins single letters ("he's a" would read
    "he'sa"), which helps find "f u c k" but breaks sentences.

    The Chinese rules' prefilter can ride on the lexicon's automaton: build the LexiconMatcher
    with `PatternDetector.anchors()` and pass what its `find` collected as `found`
    (moderator.py does), and the normalised text is walked once for both.
    """

    def __init__(self) -> None:
        self._zh = _zh_gate()
        self._en = _en_gate()

    @staticmethod
    def anchors() -> dict[str, tuple]:
        """The Chinese rules' anchors, for LexiconMatcher(anchors=...)."""
        return _zh_gate().table

    def find(self, text: str, original: str, found: list | None = None) -> list[Hit]:
        """Hits in `text` (normalised) and, for English rules, in `original`. `found`: the
        anchor values a LexiconMatcher built with `anchors()` reported for `text`."""
        hits: list[Hit] = []
        rules = self._zh.candidates(text) if found is None else self._zh.candidates_of(found)
        if rules:
            self._zh.run(rules, text, hits, in_original=False, whole=False)
        if _ASCII.search(text) is not None:
            folded = original.casefold()
            rules = self._en.candidates(folded)
            if rules:
                exact = len(folded) == len(original)     # casefold kept every offset
                self._en.run(rules, folded, hits, in_original=exact, whole=not exact)
        return hits


@lru_cache(maxsize=1)
def _zh_gate() -> _Gate:
    return _Gate([r for r in _INSULT_ZH + _DISCRIMINATION + _ADS + _ILLEGAL if _is_zh(r)])


@lru_cache(maxsize=1)
def _en_gate() -> _Gate:
    return _Gate([r for r in _INSULT_EN + _DISCRIMINATION + _ADS + _ILLEGAL if not _is_zh(r)])


class _Gate:
    """Rules behind a prefilter. Every rule has conditions read off its regex (`conditions`):
    sets of literal strings such that any match holds one string of each set (for a rule that
    is an alternation at the top, one such list per alternative). One Aho-Corasick pass over
    the message finds the strings present, and a rule's regex only runs when all the sets of
    one of its alternatives are present: "老师" alone no longer wakes "trainer judgement", it
    also needs one of the judgements. A message without anchors costs one automaton pass
    instead of a regex search per rule (bench/moderation_bench.py)."""

    def __init__(self, rules: list[Rule]) -> None:
        import ahocorasick_rs
        self._rules = rules
        self._always: list[int] = []
        self._clause_rule: list[int] = []      # clause id -> rule index
        self._clause_full: list[int] = []      # clause id -> bit mask of all its sets
        owners: dict[str, list[tuple[int, int]]] = {}
        for i, rule in enumerate(rules):
            clauses = conditions(rule.regex.pattern)
            if not clauses or any(not sets for sets in clauses):
                self._always.append(i)
                continue
            for sets in map(_selective, clauses):
                clause = len(self._clause_rule)
                self._clause_rule.append(i)
                self._clause_full.append((1 << len(sets)) - 1)
                for bit, strings in enumerate(sets):
                    for anchor in strings:
                        owners.setdefault(anchor, []).append((clause, 1 << bit))
        # anchor -> (rules it alone lets run, (clause, bit) of the clauses it is one part of)
        self.table: dict[str, tuple[frozenset[int], tuple[tuple[int, int], ...]]] = {}
        for anchor, owned in owners.items():
            direct = frozenset(self._clause_rule[c] for c, _ in owned if self._clause_full[c] == 1)
            self.table[anchor] = (direct, tuple((c, bit) for c, bit in owned
                                                if self._clause_full[c] != 1))
        self._values = list(self.table.values())
        self._automaton = (ahocorasick_rs.AhoCorasick(list(self.table), matchkind=ahocorasick_rs.MatchKind.Standard)
                           if self.table else None)

    def candidates(self, text: str) -> list[int]:
        """Indexes of the rules that may match `text`, in rule order."""
        if self._automaton is None:
            return self.candidates_of(())
        values = self._values
        return self.candidates_of([values[i] for i, _, _ in
                                   self._automaton.find_matches_as_indexes(text, overlapping=True)])

    def candidates_of(self, found) -> list[int]:
        """The same, from the table values of the anchors found in the text."""
        rules = set(self._always)
        parts: dict[int, int] = {}
        get = parts.get
        for direct, partial in found:
            if direct:
                rules |= direct
            for clause, bit in partial:
                parts[clause] = get(clause, 0) | bit
        if parts:
            full, rule_of = self._clause_full, self._clause_rule
            rules.update(rule_of[c] for c, bits in parts.items() if bits == full[c])
        return sorted(rules)

    def run(self, candidates: list[int], text: str, hits: list[Hit], in_original: bool,
            whole: bool) -> None:
        """Adds the first hit of each category not yet in `hits`."""
        seen = {h.category for h in hits}
        for i in candidates:
            rule = self._rules[i]
            if rule.category in seen:
                continue
            m = rule.regex.search(text)
            if m is None:
                continue
            seen.add(rule.category)
            hits.append(Hit(rule.category, "pattern", f"{rule.category}: {rule.name}", m.span(),
                            score=rule.score, in_original=in_original, whole_message=whole))


def _selective(sets: list[frozenset[str]]) -> list[frozenset[str]]:
    """The sets worth looking for: a set of single characters (你/妳/您) is in most messages
    and adds little beside a set of longer strings, so it is left out when there is one (a
    condition left out only lets a rule run more often)."""
    if not any(min(map(len, x)) >= 2 for x in sets):
        return sets
    return [x for x in sets if max(map(len, x)) >= 2]


def conditions(pattern: str) -> list[list[frozenset[str]]]:
    """What any match of `pattern` must contain, as alternatives (one per branch of a top-level
    alternation) of lists of string sets: a match of that alternative holds one string of every
    set. An alternative with no sets can match anything."""
    from re import _parser as parser
    return _clauses(list(parser.parse(pattern, re.S)))


def _clauses(seq: list) -> list[list[frozenset[str]]]:
    from re import _constants as c
    while len(seq) == 1 and seq[0][0] is c.SUBPATTERN:
        seq = list(seq[0][1][-1])
    if len(seq) == 1 and seq[0][0] is c.BRANCH:
        return [clause for branch in seq[0][1][1] for clause in _clauses(list(branch))]
    return [_all_required(seq)]


def _all_required(seq) -> list[frozenset[str]]:
    """Every set of strings (as `_required` finds them) that a match of the sequence contains
    one of: joined runs of exact elements, and what required groups and repeats contain."""
    from re import _constants as c
    out: list[frozenset[str]] = []
    run = frozenset([""])

    def flush(strings: frozenset[str] | None) -> None:
        # blank strings (" " between two words) hold in almost every message: no use as a test
        if strings and all(x.strip() for x in strings):
            out.append(strings)

    for item in seq:
        exact = _exact([item])
        if exact is not None and len(run) * len(exact) <= _MAX_ALTERNATIVES:
            run = frozenset(x + y for x in run for y in exact)
            continue
        flush(run)
        run = exact if exact is not None else frozenset([""])
        if exact is not None:
            continue
        op, av = item
        if op is c.SUBPATTERN:
            out.extend(_all_required(av[-1]))
        elif op is c.BRANCH:
            flush(_branch_required(av[1]))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            out.extend(_all_required(av[2]))
    flush(run)
    return out


def _branch_required(branches) -> frozenset[str] | None:
    """One string set for an alternation: the union of each branch's best set."""
    options: set[str] = set()
    for branch in branches:
        got = _required(branch)
        if not got or "" in got:
            return None
        options |= got
    return frozenset(options)


def anchors(pattern: str) -> frozenset[str] | None:
    """Literal strings one of which every match of `pattern` contains, or None if none can be
    read off (then the rule always runs). Picks, along the pattern, the required element whose
    shortest alternative is longest."""
    from re import _parser as parser  # the stdlib's own parser of regex syntax
    found = _required(parser.parse(pattern, re.S))
    return found if found and "" not in found else None


_MAX_ALTERNATIVES = 64


def _exact(seq) -> frozenset[str] | None:
    """The strings a sub-pattern matches, when it is made of literals and alternations only."""
    from re import _constants as c
    out = frozenset([""])
    for op, av in seq:
        if op is c.LITERAL:
            part = frozenset([chr(av)])
        elif op is c.IN and all(kind is c.LITERAL for kind, _ in av):
            part = frozenset(chr(code) for _, code in av)       # (?:蠢|笨) parses as [蠢笨]
        elif op is c.SUBPATTERN:
            part = _exact(av[-1])
        elif op is c.BRANCH:
            options: set[str] = set()
            for branch in av[1]:
                got = _exact(branch)
                if got is None:
                    return None
                options |= got
            part = frozenset(options)
        else:
            return None
        if part is None or len(out) * len(part) > _MAX_ALTERNATIVES:
            return None
        out = frozenset(a + b for a in out for b in part)
    return out


def _required(seq) -> frozenset[str] | None:
    """Strings one of which any match of the sequence contains: runs of exact elements are
    joined ("(?:蠢|笨)到" gives 蠢到 and 笨到), and the run or element whose shortest string is
    longest is kept."""
    from re import _constants as c
    best: frozenset[str] | None = None
    run = frozenset([""])

    def better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
        if not a or "" in a:
            return b
        if not b or "" in b:
            return a
        return a if (min(map(len, a)), -len(a)) >= (min(map(len, b)), -len(b)) else b

    for item in seq:
        exact = _exact([item])
        if exact is not None and len(run) * len(exact) <= _MAX_ALTERNATIVES:
            run = frozenset(x + y for x in run for y in exact)
            continue
        best = better(best, run)
        run = exact if exact is not None else frozenset([""])
        if exact is not None:
            continue
        op, av = item
        if op is c.SUBPATTERN:
            best = better(best, _required(av[-1]))
        elif op is c.BRANCH:
            options: set[str] = set()
            for branch in av[1]:
                got = _required(branch)
                if not got or "" in got:
                    options = set()
                    break
                options |= got
            best = better(best, frozenset(options) if options else None)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            best = better(best, _required(av[2]))
    return better(best, run)


def _is_zh(rule: Rule) -> bool:
    return _HAN.search(rule.regex.pattern) is not None


_SELF = re.compile(r"(?:\bi(?:'|’)?m|\bi am|\bi was)\s*(?:such |so |a |an |just |really |total |"
                   r"complete |an absolute )*$|我(?:真|是|就是|真是|好|太)+个?$")
_WORK_TALK = re.compile(r"客户|客戶|sales team|customers|clients|playbook|template|for employees|"
                        r"employees only|只限员工|限员工|邮件模板|销售手册")


def in_context(text: str, original: str, hits: list[Hit]) -> list[Hit]:
    """Drop hits that are talk about a violation rather than one (see the module docstring):
    insults and discrimination quoted, reported or aimed at oneself; unlawful offers named in a
    warning; pitches in sales-training talk about customers; ads beside an unlawful offer."""
    out = []
    reported = None
    warned = None
    for hit in hits:
        c = hit.category
        if c in ("insult", "discrimination"):
            if hit.detector in ("lexicon", "pattern") and not hit.whole_message:
                source = original.casefold() if hit.in_original else text
                if _quoted(source, hit.span):
                    continue
                if c == "insult" and _SELF.search(source[max(0, hit.span[0] - 24):hit.span[0]]):
                    continue
            if reported is None:
                reported = _REPORTED.search(text) is not None
            if reported and hit.detector in ("lexicon", "pattern"):
                continue
        elif c == "illegal" and hit.detector in ("lexicon", "pattern"):
            if warned is None:
                warned = _WARNED.search(text) is not None
            if warned:
                continue
        elif c == "ads" and hit.detector in ("lexicon", "pattern") \
                and _WORK_TALK.search(text) is not None:
            continue
        out.append(hit)
    if any(h.category == "illegal" for h in out):      # an unlawful offer is not a pitch too
        out = [h for h in out if h.category != "ads" or h.detector != "pattern"]
    listed = {h.category for h in out if h.detector == "lexicon"}
    if listed:                                          # a listed term says it already
        out = [h for h in out if h.detector != "pattern" or h.category not in listed]
    return out


def _quoted(text: str, span: tuple[int, int]) -> bool:
    """The span sits between two quotation marks."""
    before = len(_QUOTES.findall(text, 0, span[0]))
    return before % 2 == 1 and _QUOTES.search(text, span[1]) is not None
