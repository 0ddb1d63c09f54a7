"""The bank's fixed reference data: cities, branches, products, names and vocabularies.

Kept as plain tuples so that a reader sees the whole bank at a glance and a change (a new
branch, a new product) is one line. Relationship managers and agents are drawn from these
by `population` and `calls`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class City:
    name: str
    region: str
    area_code: str
    postal_prefix: str
    id_region: str
    """First six digits of a resident identity card issued in the city."""
    districts: tuple[str, ...]
    streets: tuple[str, ...]


CITIES: tuple[City, ...] = (
    City(
        "Shanghai",
        "East China",
        "021",
        "200",
        "310101",
        ("Huangpu District", "Pudong New Area", "Xuhui District", "Minhang District"),
        ("Nanjing Road", "Century Avenue", "Huaihai Road", "Hongqiao Road"),
    ),
    City(
        "Beijing",
        "North China",
        "010",
        "100",
        "110101",
        ("Xicheng District", "Haidian District", "Chaoyang District"),
        ("Financial Street", "Zhongguancun Street", "Jianguo Road"),
    ),
    City(
        "Shenzhen",
        "South China",
        "0755",
        "518",
        "440304",
        ("Futian District", "Nanshan District"),
        ("Shennan Avenue", "Keyuan Road"),
    ),
    City(
        "Guangzhou",
        "South China",
        "020",
        "510",
        "440106",
        ("Tianhe District", "Yuexiu District"),
        ("Tianhe Road", "Zhongshan Road"),
    ),
    City(
        "Hangzhou",
        "East China",
        "0571",
        "310",
        "330106",
        ("Xihu District", "Binjiang District"),
        ("Wensan Road", "Jianghan Road"),
    ),
    City(
        "Nanjing",
        "East China",
        "025",
        "210",
        "320102",
        ("Xuanwu District", "Gulou District"),
        ("Zhongshan Road", "Hunan Road"),
    ),
    City(
        "Chengdu",
        "Southwest China",
        "028",
        "610",
        "510104",
        ("Jinjiang District", "Wuhou District"),
        ("Chunxi Road", "Renmin South Road"),
    ),
    City(
        "Wuhan",
        "Central China",
        "027",
        "430",
        "420103",
        ("Jianghan District", "Wuchang District"),
        ("Jiefang Avenue", "Zhongnan Road"),
    ),
)
CITY_INDEX = {city.name: i for i, city in enumerate(CITIES)}


@dataclass(frozen=True)
class Branch:
    branch_id: str
    name: str
    city: str
    branch_type: str
    opened: date
    weight: float
    """Share of customers homed at the branch."""


BRANCHES: tuple[Branch, ...] = (
    Branch("BR001", "Shanghai Lujiazui Flagship Branch", "Shanghai", "FLAGSHIP", date(2003, 5, 8), 0.16),
    Branch("BR002", "Shanghai Xujiahui Branch", "Shanghai", "STANDARD", date(2006, 9, 1), 0.10),
    Branch("BR003", "Shanghai Minhang Sub-branch", "Shanghai", "SUB", date(2012, 3, 15), 0.05),
    Branch("BR004", "Beijing Financial Street Branch", "Beijing", "FLAGSHIP", date(2005, 4, 20), 0.12),
    Branch("BR005", "Beijing Zhongguancun Branch", "Beijing", "STANDARD", date(2009, 11, 2), 0.07),
    Branch("BR006", "Shenzhen Futian Branch", "Shenzhen", "STANDARD", date(2008, 6, 18), 0.09),
    Branch("BR007", "Guangzhou Tianhe Branch", "Guangzhou", "STANDARD", date(2010, 1, 12), 0.08),
    Branch("BR008", "Hangzhou Xihu Branch", "Hangzhou", "STANDARD", date(2011, 7, 7), 0.07),
    Branch("BR009", "Nanjing Xinjiekou Sub-branch", "Nanjing", "SUB", date(2014, 10, 10), 0.05),
    Branch("BR010", "Chengdu Jinjiang Branch", "Chengdu", "STANDARD", date(2013, 5, 28), 0.06),
    Branch("BR011", "Wuhan Jianghan Sub-branch", "Wuhan", "SUB", date(2016, 8, 16), 0.05),
    Branch("BR012", "Direct Banking Branch", "Shanghai", "VIRTUAL", date(2018, 1, 1), 0.10),
)
RMS_PER_BRANCH = {"FLAGSHIP": 4, "STANDARD": 2, "SUB": 1, "VIRTUAL": 0}


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    family: str
    product_type: str
    balance_side: str
    term_months: int | None
    launched: date
    rate_bps: tuple[int, int]
    """Customer rate range in basis points per year (100 bps = 1%)."""


PRODUCTS: tuple[Product, ...] = (
    Product("CUR-IND", "Personal Current Account", "DEPOSIT", "CURRENT", "LIABILITY", None, date(2003, 5, 8), (10, 20)),
    Product(
        "CUR-CORP", "Corporate Current Account", "DEPOSIT", "CURRENT", "LIABILITY", None, date(2003, 5, 8), (20, 35)
    ),
    Product("SAV-IND", "Personal Savings Account", "DEPOSIT", "SAVINGS", "LIABILITY", None, date(2003, 5, 8), (35, 60)),
    Product("TD-06M", "Time Deposit 6 Months", "DEPOSIT", "TIME_DEPOSIT", "LIABILITY", 6, date(2003, 5, 8), (140, 165)),
    Product(
        "TD-12M", "Time Deposit 12 Months", "DEPOSIT", "TIME_DEPOSIT", "LIABILITY", 12, date(2003, 5, 8), (160, 190)
    ),
    Product(
        "TD-36M", "Time Deposit 36 Months", "DEPOSIT", "TIME_DEPOSIT", "LIABILITY", 36, date(2008, 1, 1), (200, 260)
    ),
    Product("MTG-30Y", "Home Mortgage 30 Years", "LOAN", "MORTGAGE", "ASSET", 360, date(2004, 3, 1), (330, 420)),
    Product("CL-36M", "Personal Consumer Loan", "LOAN", "CONSUMER_LOAN", "ASSET", 36, date(2012, 6, 1), (450, 1200)),
    Product("SME-60M", "SME Working Capital Loan", "LOAN", "SME_LOAN", "ASSET", 60, date(2010, 2, 1), (380, 650)),
    Product("CORP-60M", "Corporate Term Loan", "LOAN", "CORPORATE_LOAN", "ASSET", 60, date(2003, 5, 8), (320, 480)),
    Product("CC-CLASSIC", "Classic Credit Card", "CARD", "CREDIT_CARD", "ASSET", None, date(2007, 9, 1), (1825, 1825)),
    Product(
        "CC-PLATINUM", "Platinum Credit Card", "CARD", "CREDIT_CARD", "ASSET", None, date(2015, 4, 1), (1825, 1825)
    ),
    Product("DC-UNIONPAY", "UnionPay Debit Card", "CARD", "DEBIT_CARD", "OFF_BALANCE", None, date(2003, 5, 8), (0, 0)),
)
PRODUCT_INDEX = {p.code: i for i, p in enumerate(PRODUCTS)}

FAMILY_NAMES = (
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
    "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo",
)  # fmt: skip
GIVEN_NAMES = (
    "Wei", "Fang", "Na", "Min", "Jing", "Lei", "Jun", "Yang", "Yong", "Yan", "Jie", "Tao",
    "Ming", "Chao", "Xiuying", "Xia", "Ping", "Gang", "Hui", "Li", "Qiang", "Lan", "Hao", "Yu",
)  # fmt: skip
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "gmail.com", "outlook.com")
OCCUPATIONS = (
    ("Engineer", True), ("Teacher", True), ("Doctor", True), ("Nurse", True), ("Civil Servant", True),
    ("Accountant", True), ("Sales Manager", True), ("Programmer", True), ("Factory Worker", True),
    ("Driver", True), ("Lawyer", True), ("Self-employed", False), ("Retired", False),
    ("Student", False), ("Homemaker", False),
)  # fmt: skip
"""Occupation and whether it earns a monthly salary."""
OCCUPATION_WEIGHTS = (9, 7, 4, 4, 6, 6, 7, 7, 8, 5, 2, 10, 12, 6, 5)

COMPANY_WORDS = ("Huaxin", "Dingsheng", "Hengtai", "Jinyuan", "Ruifeng", "Tianli", "Xinda", "Yongkang", "Zhongda")
INDUSTRIES = (
    ("C", "Manufacturing"), ("G", "Trading"), ("F", "Construction"), ("I", "Catering"),
    ("J", "Technology"), ("M", "Consulting"), ("H", "Logistics"), ("L", "Leasing"), ("A", "Agriculture"),
)  # fmt: skip
INDUSTRY_WEIGHTS = (25, 25, 10, 8, 10, 8, 8, 4, 2)

BANKS = ("ICBC", "CCB", "ABC", "BOC", "BOCOM", "CMB", "CITIC", "SPDB", "CIB", "PAB")
"""Other banks, for counterparty_bank."""

MERCHANTS = (
    "Meituan", "JD.com", "Taobao", "Starbucks", "Carrefour", "Sinopec", "Didi Chuxing", "Luckin Coffee",
    "Hema Fresh", "Uniqlo", "Haidilao", "Pinduoduo", "China Eastern Airlines", "Wanda Cinemas",
)  # fmt: skip
BILLERS = ("State Grid electricity", "Water bill", "China Mobile", "China Unicom", "Gas bill", "Property fee")

MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "158", "186", "188")
"""Prefixes of customers' mobile numbers; unknown callers and prospects use other ranges."""
