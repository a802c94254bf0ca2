"""The fixed lists the demo province is drawn from: places, stores, names and the product catalogue.

Kept apart from the loader so the loader reads as the steps it takes; nothing here touches the database.
"""

from __future__ import annotations

from hub.campaigns.models import CampaignStatus
from hub.customers.models import Channel
from hub.products.models import ProductCategory as C
from hub.stores.models import StoreKind as K

PROVINCE = ("440000", "广东省")

# City: (code, name, landline area code, counties); county: (code, name, grids); grid: (name, lat, lon).
CITIES = [
    ("440100", "广州市", "020", [
        ("440106", "天河区", [("天河体育中心", 23.1372, 113.3226), ("珠江新城", 23.1195, 113.3245)]),
        ("440104", "越秀区", [("北京路", 23.1253, 113.2694), ("东山口", 23.1243, 113.2951)]),
        ("440113", "番禺区", [("市桥", 22.9400, 113.3604), ("大学城", 23.0553, 113.3935)]),
    ]),
    ("440300", "深圳市", "0755", [
        ("440304", "福田区", [("华强北", 22.5441, 114.0852), ("车公庙", 22.5356, 114.0254)]),
        ("440305", "南山区", [("科技园", 22.5408, 113.9530), ("蛇口", 22.4837, 113.9127)]),
        ("440306", "宝安区", [("西乡", 22.5803, 113.8727), ("福永", 22.6722, 113.8241)]),
    ]),
    ("440600", "佛山市", "0757", [
        ("440604", "禅城区", [("祖庙", 23.0321, 113.1120), ("季华", 23.0006, 113.0993)]),
        ("440605", "南海区", [("桂城", 23.0382, 113.1528), ("大沥", 23.1002, 113.1338)]),
    ]),
]

# Store: (code, name, kind, grid name, street address within the county).
STORES = [
    ("GZ001", "天河体育中心营业厅", K.FLAGSHIP, "天河体育中心", "天河路208号粤海天河城大厦首层"),
    ("GZ002", "珠江新城营业厅", K.HALL, "珠江新城", "花城大道85号高德置地春广场B1"),
    ("GZ003", "北京路营业厅", K.HALL, "北京路", "北京路268号"),
    ("GZ004", "东山口鑫达通讯店", K.OUTLET, "东山口", "署前路12号首层"),
    ("GZ005", "市桥营业厅", K.HALL, "市桥", "清河东路318号"),
    ("GZ006", "大学城华联通讯店", K.OUTLET, "大学城", "外环西路100号广大商业区"),
    ("SZ001", "华强北旗舰店", K.FLAGSHIP, "华强北", "华强北路1002号赛格广场首层"),
    ("SZ002", "车公庙营业厅", K.HALL, "车公庙", "深南大道7006号万科富春东方大厦"),
    ("SZ003", "科技园营业厅", K.HALL, "科技园", "科技南十二路18号长虹科技大厦"),
    ("SZ004", "西乡宏达通讯店", K.OUTLET, "西乡", "西乡大道288号"),
    ("FS001", "祖庙营业厅", K.HALL, "祖庙", "祖庙路33号百花广场首层"),
    ("FS002", "千灯湖旗舰店", K.FLAGSHIP, "桂城", "灯湖东路20号"),
]

# Most frequent surnames first; the loader weights them by rank.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程魏苏吕丁"
    "任沈姚卢钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷黎史龙陶贺顾毛郝龚邵万覃武钱戴严莫孔"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玲建国文辉鹏飞婷雪琳晨宇浩然子轩梓涵欣怡佳琪思远嘉豪"
    "俊杰志强海燕晓东慧颖丹凤泽楠诗雨一鸣家乐"
)

# China Telecom's mobile number segments.
MOBILE_PREFIXES = ("133", "149", "153", "173", "177", "180", "181", "189", "190", "191", "193", "199")

# Product: (sku, name, category, price in fen, description).
PRODUCTS = [
    ("LT001", "5G畅享套餐129元", C.LIGHT, 12900, "每月60GB国内流量、500分钟通话，5G网络优先"),
    ("LT002", "5G畅享套餐199元", C.LIGHT, 19900, "每月100GB国内流量、1000分钟通话，含2张副卡"),
    ("LT003", "10GB流量月包", C.LIGHT, 3000, "当月有效，国内通用流量"),
    ("LT004", "30GB流量月包", C.LIGHT, 5000, "当月有效，国内通用流量"),
    ("LT005", "5G加速包", C.LIGHT, 1000, "4G套餐用户尊享5G网速，按月订购"),
    ("LT006", "200分钟国内通话包", C.LIGHT, 1500, "当月有效，国内主叫"),
    ("LT007", "来电提醒+彩铃组合包", C.LIGHT, 500, "漏接来电短信提醒，个性彩铃任选"),
    ("FN001", "存300元送120元话费", C.FINANCE, 30000, "预存300元，赠送120元分12个月返还"),
    ("FN002", "存1000元送500元话费", C.FINANCE, 100000, "预存1000元，赠送500元分24个月返还"),
    ("FN003", "信用购机月付199元（24期）", C.FINANCE, 19900, "信用额度购机，24期月付，含5G套餐"),
    ("FN004", "合约购机预存600元", C.FINANCE, 60000, "预存600元话费，指定机型直降600元，在网24个月"),
    ("FN005", "话费红包卡100元", C.FINANCE, 9500, "95折购100元话费，可转赠亲友"),
    ("TM001", "华为 Mate 60 Pro 12GB+512GB", C.TERMINAL, 699900, "雅丹黑，卫星通话"),
    ("TM002", "华为 nova 12 256GB", C.TERMINAL, 299900, "前置双摄，100W快充"),
    ("TM003", "小米14 12GB+256GB", C.TERMINAL, 399900, "徕卡光学镜头，骁龙8 Gen3"),
    ("TM004", "小米 Redmi K70 12GB+256GB", C.TERMINAL, 249900, "2K直屏，120W秒充"),
    ("TM005", "荣耀Magic6 12GB+256GB", C.TERMINAL, 439900, "青海湖电池，鹰眼相机"),
    ("TM006", "荣耀X50 8GB+256GB", C.TERMINAL, 159900, "5800mAh大电池，抗摔曲屏"),
    ("TM007", "华为WATCH GT 4 46mm", C.TERMINAL, 148800, "14天长续航，健康管理"),
    ("TM008", "小米随身WiFi 5G", C.TERMINAL, 59900, "5G随身热点，支持16台设备"),
    ("HM001", "千兆宽带包年", C.HOME, 168000, "1000M光纤宽带12个月，含千兆光猫"),
    ("HM002", "500M宽带包年", C.HOME, 120000, "500M光纤宽带12个月"),
    ("HM003", "FTTR全屋光宽带", C.HOME, 59900, "主光猫+2个从光猫，全屋千兆无死角"),
    ("HM004", "家庭云摄像头（看家套餐）", C.HOME, 19900, "2K高清摄像头+30天云回看"),
    ("HM005", "智能门锁（安装到家）", C.HOME, 129900, "3D人脸识别，指纹/密码/NFC开锁"),
    ("HM006", "IPTV高清电视月包", C.HOME, 2000, "200+直播频道，7天回看"),
    ("PF001", "音乐定向流量包", C.PREFERENCE, 900, "QQ音乐、网易云音乐免流量"),
    ("PF002", "短视频定向流量包", C.PREFERENCE, 1800, "抖音、快手、视频号30GB定向流量"),
    ("PF003", "体育赛事直播包", C.PREFERENCE, 3000, "中超、CBA赛事高清直播"),
    ("PF004", "阅读畅享包", C.PREFERENCE, 1000, "10万本电子书畅读+定向流量"),
    ("SC001", "港澳漫游日包", C.SCENARIO, 2800, "港澳地区每日3GB高速流量"),
    ("SC002", "5G校园卡39元", C.SCENARIO, 3900, "在校生专享，每月40GB流量+校园网"),
    ("SC003", "手游加速包", C.SCENARIO, 1500, "王者荣耀、和平精英低时延通道"),
    ("SC004", "高铁出行流量包", C.SCENARIO, 1000, "7天10GB，高铁沿线5G覆盖"),
    ("SC005", "车载物联卡年包", C.SCENARIO, 12000, "车机联网每月10GB，12个月"),
    ("EQ001", "腾讯视频VIP月卡", C.EQUITY, 3000, "腾讯视频VIP会员1个月"),
    ("EQ002", "爱奇艺黄金会员月卡", C.EQUITY, 2500, "爱奇艺黄金VIP会员1个月"),
    ("EQ003", "优酷VIP月卡", C.EQUITY, 2500, "优酷VIP会员1个月"),
    ("EQ004", "QQ音乐豪华绿钻月卡", C.EQUITY, 1800, "无损音质，付费专辑折扣"),
    ("EQ005", "美团外卖红包20元", C.EQUITY, 1500, "满39元可用，30天有效"),
]

# Campaign: (name, description, status, days from today to start, days it lasts, channels, budget, skus).
CAMPAIGNS = [
    ("双11 5G焕新季", "5G换机、升档与视频权益组合优惠，全省营业厅与线上同步", CampaignStatus.RUNNING, -10, 31,
     [Channel.APP, Channel.SMS, Channel.WECOM], 50_000_000,
     ["LT001", "LT002", "TM001", "TM003", "TM005", "FN003", "EQ001"]),
    ("宽带升级月", "存量宽带用户提速至千兆，FTTR全屋光宽带体验", CampaignStatus.DRAFT, 30, 31,
     [Channel.APP, Channel.WECOM, Channel.CALL], 20_000_000, ["HM001", "HM003", "HM006"]),
]
